/* libFuzzer target: kv_snapshot_restore over arbitrary bytes, read in pieces of varying size.
 * It restores, or refuses with CRAFT_ECORRUPT leaving the store exactly as it was; what it
 * restores saves and restores again to the same keys, bytes, sessions and directory. */
#include <stdint.h>
#include <string.h>

#include "fuzz_kv.h"
#include "kv/kv.h"
#include "kv/kv_internal.h"
#include "kv/kv_snapshot.h"

static struct fuzz_stream save(const struct kv_store *s)
{
    struct fuzz_stream b = {0};
    FUZZ_CHECK(kv_snapshot_save(s, fuzz_stream_write, &b) == 0);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kv_store *s = kv_store_create();
    FUZZ_CHECK(s != NULL);
    struct fuzz_stream before = save(s);
    /* The last byte picks the read size, so the chunk boundaries move too. */
    struct fuzz_stream in = {(unsigned char *)data, size, 0,
                             size > 0 ? 1 + data[size - 1] * 97u : 1};
    int rv = kv_snapshot_restore(s, fuzz_stream_read, &in);
    FUZZ_CHECK(rv == 0 || rv == CRAFT_ECORRUPT);
    struct fuzz_stream after = save(s);
    if (rv != 0) {
        FUZZ_CHECK(after.len == before.len && memcmp(after.data, before.data, before.len) == 0);
    } else {
        struct kv_store *t = kv_store_create();
        after.piece = SIZE_MAX;
        FUZZ_CHECK(kv_snapshot_restore(t, fuzz_stream_read, &after) == 0);
        FUZZ_CHECK(kv_store_size(t) == kv_store_size(s));
        FUZZ_CHECK(kv_store_bytes(t) == kv_store_bytes(s));
        FUZZ_CHECK(kv_store_expires(t) == kv_store_expires(s));
        FUZZ_CHECK(kv_table_check(&s->t));
        struct fuzz_stream again = save(t);
        FUZZ_CHECK(again.len == after.len);
        free(again.data);
        kv_store_destroy(t);
    }
    free(before.data);
    free(after.data);
    kv_store_destroy(s);
    return 0;
}
