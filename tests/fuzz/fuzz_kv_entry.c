/* libFuzzer target: kv_apply over an arbitrary log entry. It is applied (with a reply) or
 * refused with CRAFT_ECORRUPT, no reply and the store exactly as before; never a read out of
 * bounds. */
#include <stdint.h>
#include <string.h>

#include "fuzz_kv.h"
#include "kv/kv.h"
#include "kv/kv_internal.h"
#include "kv/kv_snapshot.h"

/* A store with a few keys, a session and a directory entry, so entries find things to change. */
static struct kv_store *seeded(void)
{
    static const char *const argv[] = {"mset", "a", "1", "b", "xyz"};
    static const size_t lens[] = {4, 1, 1, 1, 3};
    static const char *const adv[] = {"raft.advertise", "1", "h:1"};
    static const size_t adv_lens[] = {14, 1, 3};
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    struct resp_reply r;
    FUZZ_CHECK(s != NULL);
    kv_entry_init(&e);
    resp_reply_init(&r);
    FUZZ_CHECK(kv_entry_begin(&e, 1000, 7, 1, false) == 0);
    FUZZ_CHECK(kv_entry_add(&e, 5, argv, lens) == 0);
    FUZZ_CHECK(kv_entry_add(&e, 3, adv, adv_lens) == 0);
    FUZZ_CHECK(kv_apply(s, e.data, e.len, &r) == 0);
    resp_reply_close(&r);
    kv_entry_close(&e);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kv_store *s = seeded();
    struct fuzz_stream before = {0}, after = {0};
    struct resp_reply r;
    FUZZ_CHECK(kv_snapshot_save(s, fuzz_stream_write, &before) == 0);
    resp_reply_init(&r);
    int rv = kv_apply(s, data, size, &r);
    FUZZ_CHECK(rv == 0 || rv == CRAFT_ECORRUPT);
    FUZZ_CHECK(kv_table_check(&s->t)); /* the key, byte and expiry counts stay exact */
    if (rv == 0) {
        FUZZ_CHECK(r.len > 0);
        FUZZ_CHECK(!resp_reply_failed(&r));
    } else {
        /* Nothing ran, so even the table's layout is as it was. */
        FUZZ_CHECK(r.len == 0);
        FUZZ_CHECK(kv_snapshot_save(s, fuzz_stream_write, &after) == 0);
        FUZZ_CHECK(after.len == before.len && memcmp(after.data, before.data, before.len) == 0);
    }
    free(before.data);
    free(after.data);
    resp_reply_close(&r);
    kv_store_destroy(s);
    return 0;
}
