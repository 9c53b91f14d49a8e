/* kv_fsm_ops: the store as a craft state machine. Each applied entry's reply becomes a
 * kv_result; snapshots go through the node's streams (kv_snapshot.h for the format). */
#include <string.h>

#include "kv/kv_snapshot.h"
#include "kv_internal.h"
#include "util/alloc.h"

void kv_result_free(struct kv_result *r)
{
    craft_free(r);
}

/* A result holding the reply's bytes, or NULL when out of memory. */
static struct kv_result *result_of(const struct resp_reply *reply)
{
    struct kv_result *res = craft_malloc(sizeof *res + reply->len);
    if (res != NULL) {
        res->len = reply->len;
        memcpy(res->data, reply->data, reply->len);
    }
    return res;
}

/* A committed entry that cannot be applied (corrupt, or no memory even to answer it) stops the
 * node (fsm.h): the store is unchanged by that entry, so a restart resumes from it. */
static int fsm_apply(void *fsm, const struct craft_entry *entries, size_t n, void **results)
{
    struct kv_store *s = fsm;
    struct resp_reply reply;
    int rv = 0;
    resp_reply_init(&reply);
    for (size_t i = 0; i < n && rv == 0; i++) {
        if (entries[i].type != CRAFT_ENTRY_NORMAL) {
            continue;
        }
        resp_reply_clear(&reply);
        rv = kv_apply(s, entries[i].data.base, entries[i].data.len, &reply);
        if (rv == 0) {
            results[i] = result_of(&reply);
            rv = results[i] == NULL ? CRAFT_ENOMEM : 0;
        }
    }
    resp_reply_close(&reply);
    return rv;
}

static void fsm_release_result(void *fsm, void *result)
{
    (void)fsm;
    kv_result_free(result);
}

static int write_stream(void *ctx, const void *buf, size_t len)
{
    return craft_snapshot_write(ctx, buf, len);
}

static int read_stream(void *ctx, void *buf, size_t len, size_t *got)
{
    return craft_snapshot_read(ctx, buf, len, got);
}

static int fsm_snapshot_save(void *fsm, struct craft_snapshot_writer *w)
{
    return kv_snapshot_save(fsm, write_stream, w);
}

static int fsm_snapshot_restore(void *fsm, struct craft_snapshot_reader *r)
{
    return kv_snapshot_restore(fsm, read_stream, r);
}

const struct craft_fsm_ops kv_fsm_ops = {
    .apply = fsm_apply,
    .release_result = fsm_release_result,
    .snapshot_save = fsm_snapshot_save,
    .snapshot_restore = fsm_snapshot_restore,
};
