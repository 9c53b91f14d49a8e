/* Recovery as a whole (storage_open): the hard state's commit index tells committed, durable
 * entries from a torn tail, so damage to them is reported and never cut; and the commit that
 * storage saves never covers an entry that was not durable yet, so a plain crash is never taken
 * for damage. */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "crash_harness.h"
#include "io/sim/fs_sim.h"
#include "scratch_dir.h"
#include "storage/storage.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

#define SEGMENT_BYTES 4096u
#define PAYLOAD 16u /* with the 48-byte header, a 64-byte record */
#define NODE 1
#define CLUSTER 0xC0FFEEull

static_assert(WAL_RECORD_HEADER_BYTES + PAYLOAD == 64, "records of exactly 64 bytes");

static void cfg_init(struct storage_config *cfg)
{
    storage_config_init(cfg);
    cfg->node = NODE;
    cfg->cluster = CLUSTER;
    cfg->wal.segment_bytes = SEGMENT_BYTES;
}

static struct storage *open_ok(struct io_fs_sim *sim, struct storage_recovered *rec)
{
    struct storage_config cfg;
    cfg_init(&cfg);
    struct storage *s = NULL;
    char errmsg[256] = "";
    int rv = storage_open(io_fs_sim_fs(sim), &cfg, &s, rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        fail_msg("storage_open: %s: %s", craft_errname(rv), errmsg);
    }
    return s;
}

static struct craft_entry entry(craft_index i, unsigned char *data)
{
    memset(data, (int)(0x40 + i), PAYLOAD);
    return (struct craft_entry){
        .term = 1, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data, PAYLOAD}};
}

/* Persists entries [from, to] as one batch with the given hard state, then syncs. */
static void persist_batch(struct storage *s, craft_index from, craft_index to,
                          const struct craft_hard_state *hs)
{
    unsigned char data[16][PAYLOAD];
    struct craft_entry e[16];
    assert_true(to - from < 16);
    for (craft_index i = from; i <= to; i++) {
        e[i - from] = entry(i, data[i - from]);
    }
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.hard_state_changed = hs != NULL;
    if (hs != NULL) {
        out.hard_state = *hs;
    }
    out.entries = e;
    out.n_entries = (size_t)(to - from + 1);
    assert_int_equal(storage_persist(s, &out), 0);
    assert_int_equal(storage_sync(s), 0);
}

/* Three synced batches (1-3, 4-6, 7-9) with the hard state's commit at 9. */
static struct io_fs_sim *three_batches_committed(uint64_t seed)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = open_ok(sim, &rec);
    storage_recovered_release(s);
    struct craft_hard_state hs = {.term = 1, .vote = NODE, .commit = 0};
    persist_batch(s, 1, 3, &hs);
    persist_batch(s, 4, 6, NULL);
    persist_batch(s, 7, 9, NULL);
    /* The commit reaches 9 with a term change (a save), after all nine are durable. */
    hs = (struct craft_hard_state){.term = 2, .vote = 0, .commit = 9};
    assert_int_equal(storage_save_hard_state(s, &hs), 0);
    storage_close(s);
    return sim;
}

static void test_storage_recovery_damaged_committed_entry_is_corruption(void **state)
{
    (void)state;
    char seg[64];
    snprintf(seg, sizeof seg, "wal-%016llx.seg", 1ull);
    /* Undamaged, everything comes back with the commit. */
    struct io_fs_sim *sim = three_batches_committed(1);
    struct storage_recovered rec;
    struct storage *s = open_ok(sim, &rec);
    assert_int_equal(rec.n_entries, 9);
    assert_int_equal(rec.hard_state.commit, 9);
    storage_close(s);
    io_fs_sim_destroy(sim);
    /* One bit of entry 9 (the last record of the last batch of entries), header or payload:
     * the first batch begins with the hard-state record, and close wrote the commit in a batch
     * after it. */
    uint64_t at = WAL_SEGMENT_HEADER_BYTES + wal_record_size(WAL_HARD_STATE_PAYLOAD) + 8 * 64;
    for (uint64_t b = at; b < at + 64; b += 5) {
        sim = three_batches_committed(b);
        assert_int_equal(io_fs_sim_flip_bit(sim, seg, b * 8 + b % 8), 0);
        struct storage_config cfg;
        cfg_init(&cfg);
        char errmsg[256] = "";
        s = NULL;
        int rv = storage_open(io_fs_sim_fs(sim), &cfg, &s, &rec, errmsg, sizeof errmsg);
        char where[64];
        snprintf(where, sizeof where, "offset %llu", (unsigned long long)at);
        if (rv != CRAFT_ECORRUPT || strstr(errmsg, seg) == NULL || strstr(errmsg, where) == NULL) {
            fail_msg("flip at byte %llu: %s with %zu entries, commit %llu, '%s' (want "
                     "CRAFT_ECORRUPT naming %s %s)",
                     (unsigned long long)b, craft_errname(rv), rv == 0 ? rec.n_entries : 0,
                     rv == 0 ? (unsigned long long)rec.hard_state.commit : 0ull, errmsg, seg,
                     where);
        }
        /* Nothing was cut: the damaged record is still there for a human to look at. */
        size_t n_read;
        unsigned char rec_bytes[64];
        assert_int_equal(io_fs_sim_read(sim, seg, IO_FS_SIM_DURABLE, at, rec_bytes, 64, &n_read),
                         0);
        bool zero = true;
        for (size_t i = 0; i < n_read; i++) {
            zero = zero && rec_bytes[i] == 0;
        }
        assert_false(zero);
        io_fs_sim_destroy(sim);
    }
}

/* A follower's core commits entries the leader committed as soon as they are in its volatile
 * log: a hard state saved in the same step as those entries carries a commit above the durable
 * log. A crash before the entries' sync must still recover (a torn tail, not damage); the batch's
 * hard state is durable only with it, and no entry of the batch comes back without it. */
static void test_storage_recovery_saved_commit_never_passes_the_durable_log(void **state)
{
    (void)state;
    for (uint64_t seed = 0; seed < 20; seed++) {
        struct io_fs_sim *sim;
        assert_int_equal(io_fs_sim_create(seed, &sim), 0);
        struct storage_recovered rec;
        struct storage *s = open_ok(sim, &rec);
        storage_recovered_release(s);
        struct craft_hard_state hs = {.term = 1, .vote = 2, .commit = 0};
        persist_batch(s, 1, 3, &hs);
        /* Term 2, entries 4-6 and commit 6 in one output; the crash comes before the sync. */
        unsigned char data[3][PAYLOAD];
        struct craft_entry e[3] = {entry(4, data[0]), entry(5, data[1]), entry(6, data[2])};
        struct craft_persist out;
        memset(&out, 0, sizeof out);
        out.hard_state_changed = true;
        out.hard_state = (struct craft_hard_state){.term = 2, .vote = 0, .commit = 6};
        out.entries = e;
        out.n_entries = 3;
        assert_int_equal(storage_persist(s, &out), 0);
        if (seed % 2 == 1) {
            assert_int_equal(storage_write(s), 0); /* written, not synced: may tear */
        }
        assert_int_equal(io_fs_sim_crash(sim), 0);
        storage_close(s);
        s = open_ok(sim, &rec);
        assert_true(rec.hard_state.term == 1 || rec.hard_state.term == 2);
        assert_true(rec.n_entries >= 3);
        if (rec.n_entries > 3) {
            assert_int_equal(rec.hard_state.term, 2); /* written ahead of the batch's entries */
        }
        assert_true(rec.hard_state.commit <= rec.n_entries);
        storage_close(s);
        io_fs_sim_destroy(sim);
    }
}

/* A commit-only change is written on close: also only as far as the log is durable. */
static void test_storage_recovery_commit_on_close_is_cut_to_the_durable_log(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(3, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = open_ok(sim, &rec);
    storage_recovered_release(s);
    struct craft_hard_state hs = {.term = 1, .vote = 2, .commit = 0};
    persist_batch(s, 1, 3, &hs);
    hs.commit = 4; /* a follower's: entry 4 is not even queued here */
    assert_int_equal(storage_save_hard_state(s, &hs), 0); /* commit only: remembered */
    storage_close(s);
    s = open_ok(sim, &rec);
    assert_int_equal(rec.n_entries, 3);
    assert_int_equal(rec.hard_state.commit, 3);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* Close does not write a batch the caller queued and never synced (it is dropped), and so not
 * the remembered commit either. */
static void test_storage_recovery_close_drops_what_was_never_synced(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(3, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = open_ok(sim, &rec);
    storage_recovered_release(s);
    struct craft_hard_state hs = {.term = 1, .vote = 2, .commit = 0};
    persist_batch(s, 1, 3, &hs);
    unsigned char data[PAYLOAD];
    struct craft_entry e = entry(4, data);
    hs.commit = 4;
    assert_int_equal(storage_save_hard_state(s, &hs), 0); /* commit only: remembered */
    struct craft_persist out = {.entries = &e, .n_entries = 1};
    assert_int_equal(storage_queue_log(s, &out), 0); /* queued, never synced */
    storage_close(s);
    s = open_ok(sim, &rec);
    assert_int_equal(rec.n_entries, 3);
    assert_int_equal(rec.hard_state.commit, 0);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* A follower replaces entries 4-6 of term 1 with entries 4-6 of term 2 and commits them in the
 * same step (or a later one, saved with a term change before the sync). Until the sync the
 * durable log still holds the old 4-6: a commit covering them, saved meanwhile, would make a
 * crash recover entries that were never committed as committed. */
static void test_storage_recovery_saved_commit_never_covers_a_queued_truncation(void **state)
{
    (void)state;
    for (int later = 0; later < 2; later++) {
        struct io_fs_sim *sim;
        assert_int_equal(io_fs_sim_create(7, &sim), 0);
        struct storage_recovered rec;
        struct storage *s = open_ok(sim, &rec);
        storage_recovered_release(s);
        struct craft_hard_state hs = {.term = 1, .vote = 2, .commit = 0};
        persist_batch(s, 1, 6, &hs);
        unsigned char data[3][PAYLOAD];
        struct craft_entry e[3] = {entry(4, data[0]), entry(5, data[1]), entry(6, data[2])};
        for (size_t i = 0; i < 3; i++) {
            e[i].term = 2;
        }
        struct craft_persist out;
        memset(&out, 0, sizeof out);
        out.truncate_from = 4;
        out.entries = e;
        out.n_entries = 3;
        hs = (struct craft_hard_state){.term = 2, .vote = 0, .commit = 6};
        if (later) {
            /* Term 2 is saved with the truncation; the commit comes alone (remembered), and a
             * vote in term 3 saves it before the sync. */
            out.hard_state_changed = true;
            out.hard_state = (struct craft_hard_state){.term = 2, .vote = 0, .commit = 0};
            assert_int_equal(storage_persist(s, &out), 0);
            assert_int_equal(storage_save_hard_state(s, &hs), 0);
            hs = (struct craft_hard_state){.term = 3, .vote = 2, .commit = 6};
            assert_int_equal(storage_save_hard_state(s, &hs), 0);
        } else {
            out.hard_state_changed = true;
            out.hard_state = hs;
            assert_int_equal(storage_persist(s, &out), 0);
        }
        /* Written, not synced, and then all of it lands: the batch's hard state with it. */
        assert_int_equal(storage_write(s), 0);
        set_policy(sim, IO_FS_SIM_CRASH_KEEP_ALL);
        assert_int_equal(io_fs_sim_crash(sim), 0);
        storage_close(s);
        s = open_ok(sim, &rec);
        assert_int_equal(rec.hard_state.term, later ? 3 : 2);
        assert_int_equal(rec.n_entries, 6);
        if (rec.hard_state.commit > 3) {
            fail_msg("%s: the saved commit %llu covers entries a queued truncation took back",
                     later ? "saved later" : "same output",
                     (unsigned long long)rec.hard_state.commit);
        }
        storage_close(s);
        io_fs_sim_destroy(sim);
    }
}

/* A POSIX file system whose reads of WAL segments fail as a latent sector error does: pread
 * returns an error. Mapping still works (the kernel maps the pages fine; touching the bad one
 * would raise SIGBUS), so a recovery that maps segments never sees the error. */
struct bad_sector_fs {
    struct io_fs fs;
    struct io_fs *posix; /* owned */
    struct io_fs_ops ops;
    unsigned n_seg_reads;
};

static struct bad_sector_fs *bad_sector_fs_of(void *ctx)
{
    return ctx;
}

/* Segments here are preallocated to BIG_SEGMENT bytes, far larger than any other file
 * (identity 40 bytes, hard state 4144): the others read fine. */
#define BIG_SEGMENT (64u << 10)

static int bad_pread(void *ctx, struct io_file *f, void *buf, size_t len, uint64_t offset,
                     size_t *n_read)
{
    struct bad_sector_fs *b = bad_sector_fs_of(ctx);
    uint64_t size = 0;
    int rv = io_fs_size(b->posix, f, &size);
    if (rv == 0 && size >= BIG_SEGMENT) {
        b->n_seg_reads++;
        return CRAFT_EIO;
    }
    return io_fs_pread(b->posix, f, buf, len, offset, n_read);
}

#define FORWARD(name, sig, args)                                                                   \
    static int fwd_##name sig                                                                      \
    {                                                                                              \
        struct bad_sector_fs *b = bad_sector_fs_of(ctx);                                           \
        return b->posix->ops->name args;                                                           \
    }

FORWARD(open, (void *ctx, const char *n, unsigned fl, struct io_file **out),
        (b->posix->ctx, n, fl, out))
FORWARD(pwritev, (void *ctx, struct io_file *f, const struct iovec *iov, int k, uint64_t off),
        (b->posix->ctx, f, iov, k, off))
FORWARD(fdatasync, (void *ctx, struct io_file *f), (b->posix->ctx, f))
FORWARD(size, (void *ctx, struct io_file *f, uint64_t *out), (b->posix->ctx, f, out))
FORWARD(truncate, (void *ctx, struct io_file *f, uint64_t size), (b->posix->ctx, f, size))
FORWARD(fallocate, (void *ctx, struct io_file *f, uint64_t size), (b->posix->ctx, f, size))
FORWARD(sync_dir, (void *ctx), (b->posix->ctx))
FORWARD(rename, (void *ctx, const char *from, const char *to), (b->posix->ctx, from, to))
FORWARD(unlink, (void *ctx, const char *n), (b->posix->ctx, n))
FORWARD(list, (void *ctx, io_fs_list_cb cb, void *arg), (b->posix->ctx, cb, arg))
FORWARD(map, (void *ctx, struct io_file *f, uint64_t size, const void **out),
        (b->posix->ctx, f, size, out))

static void fwd_close(void *ctx, struct io_file *f)
{
    struct bad_sector_fs *b = bad_sector_fs_of(ctx);
    b->posix->ops->close(b->posix->ctx, f);
}

static void fwd_unmap(void *ctx, const void *addr, uint64_t size)
{
    struct bad_sector_fs *b = bad_sector_fs_of(ctx);
    b->posix->ops->unmap(b->posix->ctx, addr, size);
}

static void test_storage_recovery_read_error_is_eio_not_sigbus(void **state)
{
    (void)state;
    char root[] = "/tmp/craft-test-recovery.XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[128];
    snprintf(dir, sizeof dir, "%s/data", root);
    struct io_fs *posix;
    assert_int_equal(io_fs_posix_create(dir, &posix), 0);
    /* A WAL with entries in it, written on the plain file system. */
    struct storage_config cfg;
    cfg_init(&cfg);
    cfg.wal.segment_bytes = BIG_SEGMENT;
    struct storage *s = NULL;
    struct storage_recovered rec;
    char errmsg[256] = "";
    assert_int_equal(storage_open(posix, &cfg, &s, &rec, errmsg, sizeof errmsg), 0);
    storage_recovered_release(s);
    struct craft_hard_state hs = {.term = 1, .vote = NODE, .commit = 0};
    persist_batch(s, 1, 3, &hs);
    storage_close(s);
    /* Reopen it where segment reads fail. */
    struct bad_sector_fs b = {.posix = posix};
    b.ops = (struct io_fs_ops){.open = fwd_open,
                               .close = fwd_close,
                               .pwritev = fwd_pwritev,
                               .pread = bad_pread,
                               .fdatasync = fwd_fdatasync,
                               .size = fwd_size,
                               .truncate = fwd_truncate,
                               .fallocate = fwd_fallocate,
                               .sync_dir = fwd_sync_dir,
                               .rename = fwd_rename,
                               .unlink = fwd_unlink,
                               .list = fwd_list,
                               .map = fwd_map,
                               .unmap = fwd_unmap};
    b.fs = (struct io_fs){.ctx = &b, .ops = &b.ops};
    s = NULL;
    int rv = storage_open(&b.fs, &cfg, &s, &rec, errmsg, sizeof errmsg);
    if (rv == 0) {
        storage_close(s);
    }
    io_fs_posix_destroy(posix);
    scratch_dir_remove(dir);
    rmdir(root);
    if (rv != CRAFT_EIO || b.n_seg_reads == 0) {
        fail_msg("recovery over unreadable segments: %s after %u segment reads, '%s' (want "
                 "CRAFT_EIO from a read)",
                 craft_errname(rv), b.n_seg_reads, errmsg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_recovery_damaged_committed_entry_is_corruption),
        cmocka_unit_test(test_storage_recovery_saved_commit_never_passes_the_durable_log),
        cmocka_unit_test(test_storage_recovery_commit_on_close_is_cut_to_the_durable_log),
        cmocka_unit_test(test_storage_recovery_close_drops_what_was_never_synced),
        cmocka_unit_test(test_storage_recovery_saved_commit_never_covers_a_queued_truncation),
        cmocka_unit_test(test_storage_recovery_read_error_is_eio_not_sigbus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
