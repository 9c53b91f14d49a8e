/* Streaming a snapshot file between nodes (snapshot_source.c, snapshot_sink.c): the bytes
 * arrive whole in chunks of any size, damage in transit and a stream pieced together from two
 * different files are caught before anything is published, writes out of order are refused, a
 * new sender resumes at the receiver's offset, and a crash anywhere leaves either snapshot
 * complete, the older one until the newer is durable. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"
#include "io/sim/fs_sim.h"
#include "snapshot_helpers.h"
#include "storage/snapshot_stream.h"

#define INDEX 40
#define TERM 3
#define OLD_INDEX 20
#define OLD_TERM 2
#define IMAGE_BYTES (700u << 10) /* chunks of 256, 256 and 188 KiB */
#define OLD_BYTES (50u << 10)

/* A sender holding the snapshot (INDEX, TERM) of the image drawn with salt. */
static struct io_fs_sim *sender(unsigned salt)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct craft_snapshot_meta m = snap_meta(INDEX, TERM, 3);
    assert_int_equal(snap_write(io_fs_sim_fs(sim), &m, IMAGE_BYTES, salt), 0);
    return sim;
}

/* A receiver that already holds an older snapshot. */
static struct io_fs_sim *receiver(uint64_t seed)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    struct craft_snapshot_meta m = snap_meta(OLD_INDEX, OLD_TERM, 3);
    assert_int_equal(snap_write(io_fs_sim_fs(sim), &m, OLD_BYTES, 9), 0);
    return sim;
}

/* The sender's snapshot (INDEX, TERM), open; its header in *meta and its file size in *size. */
static struct snapshot_source *open_source(struct io_fs_sim *a, struct craft_snapshot_meta *meta,
                                           uint64_t *size)
{
    struct snapshot_source *src;
    assert_int_equal(snapshot_source_open(io_fs_sim_fs(a), INDEX, TERM, &src, meta, size), 0);
    return src;
}

/* A reception of (INDEX, TERM) begun on the receiver's disk. */
static struct snapshot_sink *begin_sink(struct io_fs_sim *b)
{
    struct snapshot_sink *sink;
    assert_int_equal(snapshot_sink_begin(io_fs_sim_fs(b), INDEX, TERM, &sink), 0);
    return sink;
}

static const size_t odd_sizes[] = {1, 7, 4093, 65537, 300001, 13};

/* Sends the file from offset `from` up to `to` (0: the end) in odd sizes; a byte at flip_at
 * (if not UINT64_MAX) is changed on its way. Returns the last write's result. */
static int send(struct snapshot_source *src, uint64_t size, struct snapshot_sink *sink,
                uint64_t from, uint64_t to, uint64_t flip_at)
{
    static unsigned char buf[300001];
    uint64_t end = to != 0 ? to : size;
    uint64_t off = from;
    for (size_t k = 0; off < end; k++) {
        size_t len = odd_sizes[k % (sizeof odd_sizes / sizeof odd_sizes[0])];
        if (len > end - off) {
            len = (size_t)(end - off);
        }
        size_t n = 0;
        assert_int_equal(snapshot_source_read(src, off, buf, len, &n), 0);
        assert_int_equal(n, len);
        if (flip_at >= off && flip_at < off + n) {
            buf[flip_at - off] ^= 0x10;
        }
        int rv = snapshot_sink_write(sink, off, buf, n);
        if (rv != 0) {
            return rv;
        }
        off += n;
        assert_int_equal(snapshot_sink_offset(sink), off);
    }
    return 0;
}

static bool exists(struct io_fs_sim *sim, craft_index index, craft_term term, const char *suffix)
{
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(index, term, name, sizeof name);
    strcat(name, suffix);
    return io_fs_sim_exists(sim, name, IO_FS_SIM_CURRENT);
}

static void test_snapshot_stream_round_trip_in_odd_chunks(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct io_fs_sim *b = receiver(1);
    struct craft_snapshot_meta meta;
    uint64_t size;
    struct snapshot_source *src = open_source(a, &meta, &size);
    assert_int_equal(meta.index, INDEX);
    assert_int_equal(meta.membership.n_voters, 3);
    struct snapshot_sink *sink = begin_sink(b);
    assert_int_equal(snapshot_sink_offset(sink), 0);
    assert_int_equal(send(src, size, sink, 0, 0, UINT64_MAX), 0);
    /* The source ends where the file does: a read there is empty, one past it refused. */
    unsigned char byte;
    size_t n = 1;
    assert_int_equal(snapshot_source_read(src, size, &byte, 1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(snapshot_source_read(src, size + 1, &byte, 1, &n), CRAFT_EINVAL);
    snapshot_source_close(src);
    assert_true(exists(b, INDEX, TERM, ".recv.tmp"));
    assert_false(exists(b, INDEX, TERM, ""));
    struct craft_snapshot_meta got;
    char errmsg[256] = "";
    int rv = snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg);
    if (rv != 0) {
        fail_msg("finish: %s: %s", craft_errname(rv), errmsg);
    }
    assert_int_equal(got.index, INDEX);
    assert_int_equal(got.term, TERM);
    assert_int_equal(got.membership.voters[2], 3);
    /* Published durably in place of the older one, and it reads back whole. */
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(INDEX, TERM, name, sizeof name);
    assert_true(io_fs_sim_exists(b, name, IO_FS_SIM_DURABLE));
    assert_false(exists(b, INDEX, TERM, ".recv.tmp"));
    assert_false(exists(b, OLD_INDEX, OLD_TERM, ""));
    struct craft_snapshot_meta latest;
    bool found = false;
    assert_int_equal(snapshot_latest(io_fs_sim_fs(b), &latest, &found), 0);
    assert_true(found);
    assert_int_equal(latest.index, INDEX);
    if (snap_read_check(io_fs_sim_fs(b), INDEX, TERM, IMAGE_BYTES, 0, errmsg, sizeof errmsg) != 0) {
        fail_msg("reading the received snapshot: %s", errmsg);
    }
    io_fs_sim_destroy(a);
    io_fs_sim_destroy(b);
}

/* One byte changed in transit, anywhere in the file: the sink refuses it at finish, names the
 * offset, removes what it received and leaves the older snapshot alone. */
static void test_snapshot_stream_flipped_byte_is_caught_at_finish(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct craft_snapshot_meta meta;
    uint64_t size;
    struct snapshot_source *src = open_source(a, &meta, &size);
    uint64_t header = 52 + 8 * 3;
    uint64_t chunk2 = header + 8 + SNAPSHOT_CHUNK_BYTES;
    uint64_t at[] = {0,          20,         header - 1, header,          header + 5,
                     header + 9, chunk2 - 1, chunk2 + 4, chunk2 + 100000, size - 40,
                     size - 20,  size - 8,   size - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        struct io_fs_sim *b = receiver(i);
        struct snapshot_sink *sink = begin_sink(b);
        assert_int_equal(send(src, size, sink, 0, 0, at[i]), 0);
        struct craft_snapshot_meta got;
        char errmsg[256] = "";
        int rv = snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg);
        if (rv != CRAFT_ECORRUPT || strstr(errmsg, "offset") == NULL) {
            fail_msg("byte %llu flipped: %s, '%s' (want CRAFT_ECORRUPT with the offset)",
                     (unsigned long long)at[i], craft_errname(rv), errmsg);
        }
        assert_false(exists(b, INDEX, TERM, ""));
        assert_false(exists(b, INDEX, TERM, ".recv.tmp"));
        assert_true(exists(b, OLD_INDEX, OLD_TERM, ""));
        io_fs_sim_destroy(b);
    }
    snapshot_source_close(src);
    io_fs_sim_destroy(a);
}

/* A stream that stops short (the sender gave up, or the last message is missing). */
static void test_snapshot_stream_short_file_is_refused(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct craft_snapshot_meta meta;
    uint64_t size;
    struct snapshot_source *src = open_source(a, &meta, &size);
    uint64_t cut[] = {0, 10, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        struct io_fs_sim *b = receiver(i);
        struct snapshot_sink *sink = begin_sink(b);
        if (cut[i] > 0) {
            assert_int_equal(send(src, size, sink, 0, cut[i], UINT64_MAX), 0);
        }
        struct craft_snapshot_meta got;
        char errmsg[256] = "";
        assert_int_equal(snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
        assert_false(exists(b, INDEX, TERM, ""));
        assert_false(exists(b, INDEX, TERM, ".recv.tmp"));
        io_fs_sim_destroy(b);
    }
    snapshot_source_close(src);
    io_fs_sim_destroy(a);
}

/* A write must start where the received bytes end: a duplicate, an old message or one after a
 * lost one is refused and changes nothing; the stream then goes on from the right offset. */
static void test_snapshot_stream_wrong_offset_is_refused(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct io_fs_sim *b = receiver(1);
    struct craft_snapshot_meta meta;
    uint64_t size;
    struct snapshot_source *src = open_source(a, &meta, &size);
    struct snapshot_sink *sink = begin_sink(b);
    assert_int_equal(send(src, size, sink, 0, 1000, UINT64_MAX), 0);
    static const unsigned char junk[64] = {1, 2, 3};
    assert_int_equal(snapshot_sink_write(sink, 1001, junk, sizeof junk), CRAFT_EINVAL); /* gap */
    assert_int_equal(snapshot_sink_write(sink, 999, junk, sizeof junk), CRAFT_EINVAL);  /* dup */
    assert_int_equal(snapshot_sink_write(sink, 0, junk, sizeof junk), CRAFT_EINVAL);
    assert_int_equal(snapshot_sink_offset(sink), 1000);
    assert_int_equal(send(src, size, sink, 1000, 0, UINT64_MAX), 0);
    struct craft_snapshot_meta got;
    char errmsg[256] = "";
    int rv = snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg);
    if (rv != 0) {
        fail_msg("finish after refused writes: %s: %s", craft_errname(rv), errmsg);
    }
    snapshot_source_close(src);
    io_fs_sim_destroy(a);
    io_fs_sim_destroy(b);
}

/* The connection drops and a new sender (a new leader with the same file) asks where the
 * receiver stands and goes on from there; the sink is never aborted. A new sender whose file of
 * the same snapshot holds a different image is caught at finish. */
static void test_snapshot_stream_resumes_at_the_receivers_offset(void **state)
{
    (void)state;
    for (unsigned second_salt = 0; second_salt < 2; second_salt++) {
        struct io_fs_sim *first = sender(0);
        struct io_fs_sim *second = sender(second_salt);
        struct io_fs_sim *b = receiver(1);
        struct snapshot_source *src;
        struct craft_snapshot_meta meta;
        uint64_t size;
        assert_int_equal(snapshot_source_open(io_fs_sim_fs(first), INDEX, TERM, &src, &meta, &size),
                         0);
        struct snapshot_sink *sink = begin_sink(b);
        uint64_t part = SNAPSHOT_CHUNK_BYTES + 12345; /* mid-chunk */
        assert_int_equal(send(src, size, sink, 0, part, UINT64_MAX), 0);
        snapshot_source_close(src);
        /* The first sender is gone; the second learns the offset from the acknowledgement. */
        uint64_t size2;
        assert_int_equal(
            snapshot_source_open(io_fs_sim_fs(second), INDEX, TERM, &src, &meta, &size2), 0);
        assert_int_equal(size2, size);
        uint64_t resume = snapshot_sink_offset(sink);
        assert_int_equal(resume, part);
        assert_int_equal(send(src, size2, sink, resume, 0, UINT64_MAX), 0);
        snapshot_source_close(src);
        struct craft_snapshot_meta got;
        char errmsg[256] = "";
        int rv = snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg);
        if (second_salt == 0) {
            if (rv != 0) {
                fail_msg("resumed transfer: %s: %s", craft_errname(rv), errmsg);
            }
            assert_int_equal(
                snap_read_check(io_fs_sim_fs(b), INDEX, TERM, IMAGE_BYTES, 0, errmsg, 256), 0);
        } else if (rv != CRAFT_ECORRUPT || strstr(errmsg, "checksum") == NULL) {
            fail_msg("two images pieced together: %s, '%s' (want CRAFT_ECORRUPT)",
                     craft_errname(rv), errmsg);
        }
        io_fs_sim_destroy(first);
        io_fs_sim_destroy(second);
        io_fs_sim_destroy(b);
    }
}

/* A sender whose snapshot a newer one replaced finds it gone (and reports the transfer failed);
 * a sender already reading keeps its open file. */
static void test_snapshot_stream_source_of_a_replaced_snapshot_is_not_found(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct io_fs *fs = io_fs_sim_fs(a);
    struct snapshot_source *src;
    struct craft_snapshot_meta meta;
    uint64_t size;
    assert_int_equal(snapshot_source_open(fs, INDEX, TERM, &src, &meta, &size), 0);
    struct craft_snapshot_meta newer = snap_meta(INDEX + 10, TERM, 3);
    assert_int_equal(snap_write(fs, &newer, 100, 0), 0);
    struct snapshot_source *again;
    uint64_t size2;
    assert_int_equal(snapshot_source_open(fs, INDEX, TERM, &again, &meta, &size2), CRAFT_ENOTFOUND);
    unsigned char buf[100];
    size_t n;
    assert_int_equal(snapshot_source_read(src, size - 100, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 100);
    snapshot_source_close(src);
    io_fs_sim_destroy(a);
}

/* A reception cut short by a restart leaves a `.recv.tmp`; the next look for snapshots removes
 * it, and it never counts as one. */
static void test_snapshot_stream_leftover_reception_is_removed(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct io_fs_sim *b = receiver(1);
    struct craft_snapshot_meta meta;
    uint64_t size;
    struct snapshot_source *src = open_source(a, &meta, &size);
    struct snapshot_sink *sink = begin_sink(b);
    /* Everything but the finish: even a whole file under the temporary name is no snapshot. */
    assert_int_equal(send(src, size, sink, 0, 0, UINT64_MAX), 0);
    snapshot_source_close(src);
    io_fs_sim_kill(b); /* the process dies; the machine keeps the page cache */
    struct craft_snapshot_meta latest;
    bool found = false;
    assert_int_equal(snapshot_latest(io_fs_sim_fs(b), &latest, &found), 0);
    assert_true(found);
    assert_int_equal(latest.index, OLD_INDEX);
    assert_false(exists(b, INDEX, TERM, ".recv.tmp"));
    snapshot_sink_abort(sink); /* frees it; its file is gone already */
    io_fs_sim_destroy(a);
    io_fs_sim_destroy(b);
}

/* What a crash left, checked: every snapshot under its final name reads back whole; the
 * received one is there if finish said so; the older one is there while the received one is
 * not durable. */
struct crash_outcome {
    bool finished; /* snapshot_sink_finish returned 0 */
};

static void check_after_crash(struct io_fs_sim *b, const struct crash_outcome *o, const char *what,
                              struct failures *fl)
{
    struct io_fs *fs = io_fs_sim_fs(b);
    struct craft_snapshot_meta latest;
    bool found = false;
    int rv = snapshot_latest(fs, &latest, &found);
    if (rv != 0) {
        failed(fl, "%s: snapshot_latest: %s", what, craft_errname(rv));
        return;
    }
    bool have_new = exists(b, INDEX, TERM, "");
    bool have_old = exists(b, OLD_INDEX, OLD_TERM, "");
    char errmsg[256] = "";
    if (have_new && snap_read_check(fs, INDEX, TERM, IMAGE_BYTES, 0, errmsg, sizeof errmsg) != 0) {
        failed(fl, "%s: the received snapshot is under its final name but: %s", what, errmsg);
    }
    if (have_old &&
        snap_read_check(fs, OLD_INDEX, OLD_TERM, OLD_BYTES, 9, errmsg, sizeof errmsg) != 0) {
        failed(fl, "%s: the older snapshot is damaged: %s", what, errmsg);
    }
    if (o->finished && !have_new) {
        failed(fl, "%s: finish returned 0 but the snapshot is gone", what);
    }
    if (!have_new && !have_old) {
        failed(fl, "%s: the older snapshot went before the new one was durable", what);
    }
    if (!found || latest.index != (have_new ? INDEX : OLD_INDEX)) {
        failed(fl, "%s: snapshot_latest found %s %llu", what, found ? "index" : "nothing",
               found ? (unsigned long long)latest.index : 0ull);
    }
    if (exists(b, INDEX, TERM, ".recv.tmp")) {
        failed(fl, "%s: the temporary file survived snapshot_latest", what);
    }
}

/* The whole reception: begin, every write, finish (the receiver's older snapshot is written
 * before the count starts). */
static void receive(struct io_fs_sim *b, struct snapshot_source *src, uint64_t size,
                    struct crash_outcome *o)
{
    o->finished = false;
    struct snapshot_sink *sink;
    if (snapshot_sink_begin(io_fs_sim_fs(b), INDEX, TERM, &sink) != 0) {
        return;
    }
    static unsigned char buf[100000];
    for (uint64_t off = 0; off < size;) {
        size_t n;
        assert_int_equal(snapshot_source_read(src, off, buf, sizeof buf, &n), 0);
        if (snapshot_sink_write(sink, off, buf, n) != 0) {
            break; /* finish reports the error and cleans up */
        }
        off += n;
    }
    struct craft_snapshot_meta got;
    char errmsg[256];
    o->finished = snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg) == 0;
}

static const struct policy_case policies[] = {
    {IO_FS_SIM_CRASH_LOSE_ALL, 1, "lose_all"}, {IO_FS_SIM_CRASH_KEEP_ALL, 1, "keep_all"},
    {IO_FS_SIM_CRASH_RANDOM, 5, "random/5"},   {IO_FS_SIM_CRASH_RANDOM, 6, "random/6"},
    {IO_FS_SIM_CRASH_RANDOM, 7, "random/7"},
};

static void test_snapshot_stream_crash_anywhere_keeps_a_whole_snapshot(void **state)
{
    (void)state;
    struct io_fs_sim *a = sender(0);
    struct craft_snapshot_meta meta;
    uint64_t size;
    struct snapshot_source *src = open_source(a, &meta, &size);
    struct io_fs_sim *b = receiver(1);
    uint64_t start = io_fs_sim_ops(b);
    struct crash_outcome o;
    receive(b, src, size, &o);
    assert_true(o.finished);
    uint64_t n = io_fs_sim_ops(b) - start;
    io_fs_sim_destroy(b);
    struct failures fl = {0};
    unsigned checked = 0;
    for (uint64_t k = 0; k <= n; k++) {
        for (size_t c = 0; c < sizeof policies / sizeof policies[0]; c++) {
            b = receiver(policies[c].seed);
            io_fs_sim_die_after(b, io_fs_sim_ops(b) + k);
            receive(b, src, size, &o);
            set_policy(b, policies[c].policy);
            assert_int_equal(io_fs_sim_crash(b), 0);
            char what[96];
            snprintf(what, sizeof what, "crash after op %llu of %llu, %s", (unsigned long long)k,
                     (unsigned long long)n, policies[c].name);
            check_after_crash(b, &o, what, &fl);
            io_fs_sim_destroy(b);
            checked++;
        }
    }
    snapshot_source_close(src);
    io_fs_sim_destroy(a);
    print_message("snapshot stream crash points: %llu, %u cases checked, %u failed\n",
                  (unsigned long long)n + 1, checked, fl.n);
    assert_int_equal(fl.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_stream_round_trip_in_odd_chunks),
        cmocka_unit_test(test_snapshot_stream_flipped_byte_is_caught_at_finish),
        cmocka_unit_test(test_snapshot_stream_short_file_is_refused),
        cmocka_unit_test(test_snapshot_stream_wrong_offset_is_refused),
        cmocka_unit_test(test_snapshot_stream_resumes_at_the_receivers_offset),
        cmocka_unit_test(test_snapshot_stream_source_of_a_replaced_snapshot_is_not_found),
        cmocka_unit_test(test_snapshot_stream_leftover_reception_is_removed),
        cmocka_unit_test(test_snapshot_stream_crash_anywhere_keeps_a_whole_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
