/* Unit tests of the write-ahead log (src/storage/wal*.c) over the simulated file system: appends
 * survive a reopen, truncation records, segment rollover, torn tails cut and reported, damage to
 * durable data reported as corruption with file and offset, prefix drop, reads. */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "storage/wal.h"
#include "storage/wal_record.h"
#include "util/alloc.h"
#include "util/crc32c.h"

struct fixture {
    struct io_fs_sim *sim;
    struct wal *wal;
    struct wal_config cfg;
    struct wal_open_report report;
    char errmsg[256];
    /* Payloads handed to the WAL, kept until the test ends: with external payloads the WAL
     * reads them when it writes the batch. */
    char arena[64 * 1024];
    size_t arena_used;
};

/* The suite runs twice: payloads copied into the batch, then written from the caller's memory. */
static uint32_t inline_bytes_max = UINT32_MAX;

static const char *keep(struct fixture *f, const char *data, size_t len)
{
    assert_true(f->arena_used + len <= sizeof f->arena);
    char *p = f->arena + f->arena_used;
    memcpy(p, data, len);
    f->arena_used += len;
    return p;
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    assert_int_equal(io_fs_sim_create(42, &f.sim), 0);
    wal_config_init(&f.cfg);
    f.cfg.segment_bytes = 8192; /* small, so tests roll over segments */
    f.cfg.inline_bytes_max = inline_bytes_max;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    wal_close(f->wal);
    io_fs_sim_destroy(f->sim);
    return 0;
}

static int reopen(struct fixture *f)
{
    wal_close(f->wal);
    f->wal = NULL;
    return wal_open(io_fs_sim_fs(f->sim), &f->cfg, &f->wal, &f->report, f->errmsg,
                    sizeof f->errmsg);
}

static void crash_and_reopen(struct fixture *f, int want)
{
    wal_close(f->wal);
    f->wal = NULL;
    assert_int_equal(io_fs_sim_crash(f->sim), 0);
    int rv =
        wal_open(io_fs_sim_fs(f->sim), &f->cfg, &f->wal, &f->report, f->errmsg, sizeof f->errmsg);
    if (rv != want) {
        print_error("wal_open: %s\n", f->errmsg);
    }
    assert_int_equal(rv, want);
}

/* Appends entries first..last of term with payload "e<index>" and syncs them. */
static void append_range(struct fixture *f, craft_index first, craft_index last, craft_term term,
                         bool sync)
{
    for (craft_index i = first; i <= last; i++) {
        char data[32];
        int len = snprintf(data, sizeof data, "e%llu-t%llu", (unsigned long long)i,
                           (unsigned long long)term);
        struct craft_entry e = {.term = term,
                                .index = i,
                                .type = CRAFT_ENTRY_NORMAL,
                                .data = {.base = keep(f, data, (size_t)len), .len = (size_t)len}};
        assert_int_equal(wal_append(f->wal, &e, 1), 0);
    }
    if (sync) {
        assert_int_equal(wal_sync(f->wal), 0);
    }
}

static void assert_recovered(struct fixture *f, craft_index first, craft_index last,
                             const craft_term *terms)
{
    size_t n;
    const struct craft_entry *entries = wal_recovered(f->wal, &n);
    assert_int_equal(n, last >= first ? last - first + 1 : 0);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        int len = snprintf(want, sizeof want, "e%llu-t%llu", (unsigned long long)(first + i),
                           (unsigned long long)terms[i]);
        assert_int_equal(entries[i].index, first + i);
        assert_int_equal(entries[i].term, terms[i]);
        assert_int_equal(entries[i].data.len, (size_t)len);
        assert_memory_equal(entries[i].data.base, want, (size_t)len);
    }
}

/* The header's bytes are where docs/DISK_FORMAT.md puts them, each field distinct so a byte in
 * the wrong place shows (kind, flags and entry type are encoded with the reserved bytes as one
 * 8-byte store); both encoders, and the checksum covers bytes 4 on. */
static void test_wal_record_header_bytes_as_in_disk_format(void **state)
{
    static const unsigned char payload[5] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
    static const unsigned char want[WAL_RECORD_HEADER_BYTES - 4] = {
        5,    0,    0,    0,                            /* 4: len */
        1,    1,    3,                                  /* 8: kind entry, batch end, config */
        0,    0,    0,    0,    0,                      /* 11: reserved */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* 16: batch */
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* 24: group */
        0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* 32: term */
        0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, /* 40: index */
    };
    (void)state;
    for (int external = 0; external < 2; external++) {
        struct wal_record r = {.kind = WAL_RECORD_ENTRY,
                               .flags = WAL_FLAG_BATCH_END,
                               .entry_type = CRAFT_ENTRY_CONFIG,
                               .len = sizeof payload,
                               .batch = 0x0102030405060708u,
                               .group = 0x1112131415161718u,
                               .term = 0x2122232425262728u,
                               .index = 0x3132333435363738u,
                               .data = payload};
        unsigned char rec[WAL_RECORD_HEADER_BYTES + 8];
        memset(rec, 0xee, sizeof rec);
        if (external) {
            wal_record_encode_header(&r, rec);
            memcpy(rec + WAL_RECORD_HEADER_BYTES, payload, sizeof payload);
        } else {
            wal_record_encode(&r, rec);
        }
        assert_memory_equal(rec + 4, want, sizeof want);
        assert_memory_equal(rec + WAL_RECORD_HEADER_BYTES, payload, sizeof payload);
        uint32_t crc = (uint32_t)rec[0] | (uint32_t)rec[1] << 8 | (uint32_t)rec[2] << 16 |
                       (uint32_t)rec[3] << 24;
        assert_int_equal(crc, crc32c(0, rec + 4, WAL_RECORD_HEADER_BYTES - 4 + sizeof payload));
    }
}

/* Setting the batch-end flag updates the record's checksum from its header alone (the payload
 * is not read again): the record decodes with the flag, for payloads in the buffer and written
 * from elsewhere, short and long (the CRC's three-stream path), and a damaged payload still
 * fails. */
static void test_wal_record_set_flags_keeps_checksum_valid(void **state)
{
    static unsigned char payload[20000];
    static unsigned char rec[WAL_RECORD_HEADER_BYTES + sizeof payload + WAL_RECORD_ALIGN];
    static const uint32_t lens[] = {0, 7, 8, 1000, 16384, 20000};
    (void)state;
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (unsigned char)(i * 131 + 7);
    }
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        for (int external = 0; external < 2; external++) {
            struct wal_record r = {.kind = WAL_RECORD_ENTRY,
                                   .entry_type = CRAFT_ENTRY_NORMAL,
                                   .len = lens[l],
                                   .batch = 3,
                                   .group = 1,
                                   .term = 2,
                                   .index = 9,
                                   .data = payload};
            size_t size = wal_record_size(r.len);
            memset(rec, 0, sizeof rec);
            if (external) {
                wal_record_encode_header(&r, rec);
            } else {
                wal_record_encode(&r, rec);
            }
            uint32_t crc_before = (uint32_t)rec[0] | (uint32_t)rec[1] << 8 |
                                  (uint32_t)rec[2] << 16 | (uint32_t)rec[3] << 24;
            wal_record_set_flags(rec, WAL_FLAG_BATCH_END);
            uint32_t crc_after = (uint32_t)rec[0] | (uint32_t)rec[1] << 8 | (uint32_t)rec[2] << 16 |
                                 (uint32_t)rec[3] << 24;
            assert_int_not_equal(crc_before, crc_after);
            if (external) {
                memcpy(rec + WAL_RECORD_HEADER_BYTES, payload, r.len); /* as written on disk */
            }
            struct wal_record out;
            size_t got;
            assert_int_equal(wal_record_decode(rec, size, &out, &got), WAL_DECODE_OK);
            assert_int_equal(out.flags, WAL_FLAG_BATCH_END);
            assert_int_equal(out.len, r.len);
            assert_int_equal(got, size);
            assert_memory_equal(out.data, payload, r.len);
            if (r.len > 0) {
                rec[WAL_RECORD_HEADER_BYTES + r.len - 1] ^= 0x10;
                assert_int_equal(wal_record_decode(rec, size, &out, &got), WAL_DECODE_BAD);
            }
        }
    }
}

/* The payload of entry index of group g in the mixed-batch test: its length varies so that some
 * are copied into the batch and some written in place. */
static size_t mixed_payload(uint64_t g, craft_index index, char *buf)
{
    size_t len = 1 + (size_t)((index * 37 + g * 11) % 300);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (char)('a' + (index + g + i) % 26);
    }
    return len;
}

static void assert_reads_mixed(struct wal *w, craft_index last)
{
    for (uint64_t g = 1; g <= 2; g++) {
        for (craft_index i = 1; i <= last; i++) {
            char want[512];
            char buf[512];
            size_t len = mixed_payload(g, i, want);
            struct craft_entry e;
            assert_int_equal(wal_read_group(w, g, i, &e, buf, sizeof buf), 0);
            assert_int_equal(e.index, i);
            assert_int_equal(e.data.len, len);
            assert_memory_equal(e.data.base, want, len);
        }
    }
}

/* One batch of two groups' entries, payloads of 1..300 bytes, some copied into the batch and
 * some written from the caller's memory, with hard states in front and a truncation, rolling over
 * segments: every entry reads back the same while pending (from the batch and the caller's
 * memory), once written (where the write put it) and after a reopen. */
static void test_wal_mixed_batch_reads_back_pending_written_and_reopened(void **state)
{
    struct fixture *f = *state;
    f->cfg.inline_bytes_max = 100;
    assert_int_equal(reopen(f), 0);
    static char payloads[2][80][320];
    for (int round = 0; round < 2; round++) {
        craft_index first = round == 0 ? 1 : 41;
        craft_index last = round == 0 ? 40 : 79;
        for (uint64_t g = 1; g <= 2; g++) {
            struct craft_hard_state hs = {.term = 2, .vote = g, .commit = first - 1};
            assert_int_equal(wal_save_hard_state_group(f->wal, g, &hs), 0);
        }
        for (craft_index i = first; i <= last; i++) {
            for (uint64_t g = 1; g <= 2; g++) {
                size_t len = mixed_payload(g, i, payloads[g - 1][i]);
                struct craft_entry e = {.term = 2,
                                        .index = i,
                                        .type = CRAFT_ENTRY_NORMAL,
                                        .data = {.base = payloads[g - 1][i], .len = len}};
                assert_int_equal(wal_append_group(f->wal, g, &e, 1), 0);
            }
        }
        if (round == 1) {
            /* The last entry of group 2 goes again: a truncation record mid-batch, then it is
             * appended once more. */
            assert_int_equal(wal_truncate_group(f->wal, 2, 79), 0);
            struct craft_entry e = {
                .term = 2,
                .index = 79,
                .type = CRAFT_ENTRY_NORMAL,
                .data = {.base = payloads[1][79], .len = mixed_payload(2, 79, payloads[1][79])}};
            assert_int_equal(wal_append_group(f->wal, 2, &e, 1), 0);
        }
        assert_reads_mixed(f->wal, last);
        assert_int_equal(wal_sync(f->wal), 0);
        assert_reads_mixed(f->wal, last);
    }
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_last_index_group(f->wal, 1), 79);
    assert_int_equal(wal_last_index_group(f->wal, 2), 79);
    assert_reads_mixed(f->wal, 79);
}

static void test_wal_synced_entries_survive_a_crash(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 300, 1, true);    /* rolls over several 8 KiB segments */
    append_range(f, 301, 310, 1, false); /* never synced: may go */
    crash_and_reopen(f, 0);
    craft_term terms[300];
    for (int i = 0; i < 300; i++) {
        terms[i] = 1;
    }
    assert_recovered(f, 1, 300, terms);
    assert_true(f->report.n_segments >= 2);
}

/* A core step may append an entry and take it back before anything reached storage: the
 * truncation it hands out then lies at the end of the log, and is nothing to do. */
static void test_wal_truncate_at_the_end_is_a_no_op(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_truncate(f->wal, 1), 0); /* empty log */
    append_range(f, 1, 3, 1, true);
    assert_int_equal(wal_truncate(f->wal, 4), 0);
    assert_int_equal(wal_last_index(f->wal), 3);
    assert_int_equal(wal_truncate(f->wal, 5), CRAFT_EINVAL); /* a gap is a caller's bug */
}

static void test_wal_truncate_record_replaces_suffix(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 10, 1, true);
    assert_int_equal(wal_truncate(f->wal, 6), 0);
    append_range(f, 6, 8, 2, true);
    assert_int_equal(wal_last_index(f->wal), 8);
    assert_int_equal(wal_term_at(f->wal, 7), 2);
    assert_int_equal(reopen(f), 0);
    craft_term terms[] = {1, 1, 1, 1, 1, 2, 2, 2};
    assert_recovered(f, 1, 8, terms);
    assert_int_equal(wal_truncate(f->wal, 12), CRAFT_EINVAL);
}

/* A core step may append an entry and take it back (a newer leader's AppendEntries in the same
 * batch): its output truncates from just past the durable log, which on an empty WAL is index 1.
 * That is a no-op, not an error that fails the storage. */
static void test_wal_truncate_past_the_end_of_an_empty_log_is_a_no_op(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_truncate(f->wal, 1), 0);
    append_range(f, 1, 3, 2, true);
    assert_int_equal(reopen(f), 0);
    craft_term terms[] = {2, 2, 2};
    assert_recovered(f, 1, 3, terms);
}

/* A whole-log truncation (what installing a snapshot does) leaves an empty log, which takes an
 * append at any index, whether the truncation is still queued, synced, or recovered; the log
 * then restarts there across reopens and prefix drops. */
static void test_wal_emptied_log_takes_any_next_index(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 300, 1, true); /* several segments */
    assert_int_equal(wal_truncate(f->wal, wal_first_index(f->wal)), 0);
    assert_int_equal(wal_last_index(f->wal), 0);
    append_range(f, 501, 510, 2, true); /* in the truncation's batch */
    assert_int_equal(wal_first_index(f->wal), 501);
    assert_int_equal(wal_last_index(f->wal), 510);
    crash_and_reopen(f, 0);
    craft_term terms[10] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    assert_recovered(f, 501, 510, terms);
    /* Emptied in a batch of its own, then reopened empty: the next append is anywhere too. */
    assert_int_equal(wal_truncate(f->wal, 501), 0);
    assert_int_equal(wal_sync(f->wal), 0);
    crash_and_reopen(f, 0);
    assert_recovered(f, 1, 0, NULL);
    assert_int_equal(wal_last_index(f->wal), 0);
    append_range(f, 1000, 1000, 3, true);
    crash_and_reopen(f, 0);
    assert_recovered(f, 1000, 1000, (craft_term[]){3});
    /* With every older segment dropped, the log is the new entries alone. */
    assert_int_equal(wal_drop_prefix(f->wal, 999), 0);
    append_range(f, 1001, 1001, 3, true);
    crash_and_reopen(f, 0);
    assert_recovered(f, 1000, 1001, (craft_term[]){3, 3});
}

static void test_wal_torn_tail_is_cut_and_reported(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    append_range(f, 6, 9, 1, false);
    /* The unsynced batch lands in part: write it, then tear it with a misdirected garbage write
     * over its middle, as a crash mid-writeback would. */
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_KEEP_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    assert_int_equal(wal_sync(f->wal), 0);
    /* Flip a bit inside entry 7's record (the last batch): a tear the crash left behind. */
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", 1ULL);
    uint64_t off = WAL_SEGMENT_HEADER_BYTES + 6 * wal_record_size(7) + 44;
    assert_int_equal(io_fs_sim_flip_bit(f->sim, name, off * 8), 0);
    crash_and_reopen(f, 0);
    craft_term terms[] = {1, 1, 1, 1, 1, 1};
    assert_recovered(f, 1, 6, terms);
    assert_true(f->report.tail_truncated);
    /* The log goes on from the cut. */
    append_range(f, 7, 7, 2, true);
    assert_int_equal(reopen(f), 0);
    craft_term terms2[] = {1, 1, 1, 1, 1, 1, 2};
    assert_recovered(f, 1, 7, terms2);
}

static void test_wal_damage_before_later_batches_is_corruption(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    append_range(f, 6, 10, 1, true);
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", 1ULL);
    uint64_t off = WAL_SEGMENT_HEADER_BYTES + 2 * wal_record_size(7) + 41;
    assert_int_equal(io_fs_sim_flip_bit(f->sim, name, off * 8), 0);
    crash_and_reopen(f, CRAFT_ECORRUPT);
    assert_non_null(strstr(f->errmsg, name));
    char where[64];
    snprintf(where, sizeof where, "offset %llu",
             (unsigned long long)(WAL_SEGMENT_HEADER_BYTES + 2 * wal_record_size(7)));
    assert_non_null(strstr(f->errmsg, where));
}

/* The last batch truncates at 4 and rewrites 4..5 (term 2), and the hard state's commit says 5
 * was durable. A bit rots in the truncate record: the valid entries after it at or below the
 * commit prove the batch was durable, so the damage is reported; cutting there as a torn tail
 * would hand back the old entries 4..5 as committed. Without the commit the cut is right. */
static void test_wal_damage_before_a_committed_entry_is_corruption(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    assert_int_equal(wal_truncate(f->wal, 4), 0);
    append_range(f, 4, 5, 2, true);
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", 1ULL);
    uint64_t off = WAL_SEGMENT_HEADER_BYTES + 5 * wal_record_size(7) + 9;
    assert_int_equal(io_fs_sim_flip_bit(f->sim, name, off * 8), 0);
    wal_close(f->wal);
    f->wal = NULL;
    int rv = wal_open_committed(io_fs_sim_fs(f->sim), &f->cfg, 5, &f->wal, &f->report, f->errmsg,
                                sizeof f->errmsg);
    assert_int_equal(rv, CRAFT_ECORRUPT);
    assert_non_null(strstr(f->errmsg, name));
    assert_int_equal(reopen(f), 0);
    assert_recovered(f, 1, 5, (craft_term[]){1, 1, 1, 1, 1});
    assert_true(f->report.tail_truncated);
}

static void test_wal_drop_prefix_removes_whole_segments(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 400, 3, true);
    uint64_t before = f->report.n_segments;
    (void)before;
    assert_int_equal(wal_drop_prefix(f->wal, 200), 0);
    assert_true(wal_first_index(f->wal) > 1);
    assert_true(wal_first_index(f->wal) <= 201);
    craft_index first = wal_first_index(f->wal);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_first_index(f->wal), first);
    assert_int_equal(wal_last_index(f->wal), 400);
    char buf[128];
    struct craft_entry e;
    assert_int_equal(wal_read(f->wal, 1, &e, buf, sizeof buf), CRAFT_ECOMPACTED);
    assert_int_equal(wal_read(f->wal, 399, &e, buf, sizeof buf), 0);
    assert_int_equal(e.term, 3);
    assert_int_equal(e.data.len, strlen("e399-t3"));
    assert_memory_equal(e.data.base, "e399-t3", e.data.len);
}

/* Every live entry reads back as written: the index ring's slots line up with the log. */
static void assert_live_log_reads(struct fixture *f, craft_index last, craft_term (*term_of)(craft_index))
{
    assert_int_equal(wal_last_index(f->wal), last);
    char buf[64];
    for (craft_index i = wal_first_index(f->wal); i <= last; i++) {
        struct craft_entry e;
        assert_int_equal(wal_read(f->wal, i, &e, buf, sizeof buf), 0);
        char want[32];
        int len = snprintf(want, sizeof want, "e%llu-t%llu", (unsigned long long)i,
                           (unsigned long long)term_of(i));
        assert_int_equal(e.term, term_of(i));
        assert_int_equal(wal_term_at(f->wal, i), term_of(i));
        assert_int_equal(e.data.len, (size_t)len);
        assert_memory_equal(e.data.base, want, (size_t)len);
    }
}

static craft_term ring_term(craft_index i)
{
    return 1 + (i - 1) / 100; /* a new term every round of 100 */
}

/* A node appends and drops its log's prefix for ever: the index of live entries is a ring whose
 * start goes round, and grows (unwrapping) while wrapped. Reads through it, after many rounds and
 * after growth in the middle of a wrap, and recovery, see every entry where it is. */
static void test_wal_index_ring_wraps_and_grows(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    craft_index last = 0;
    for (int round = 0; round < 40; round++) {
        f->arena_used = 0; /* synced payloads are no longer borrowed */
        append_range(f, last + 1, last + 100, ring_term(last + 1), true);
        last += 100;
        assert_int_equal(wal_drop_prefix(f->wal, last - 50), 0);
        assert_live_log_reads(f, last, ring_term);
    }
    assert_true(wal_first_index(f->wal) > 3000); /* dropped far past any small ring's size */
    /* Grow while wrapped: 1,000 more entries with no drop (rounds of 100 keep the terms). */
    for (int round = 0; round < 10; round++) {
        f->arena_used = 0;
        append_range(f, last + 1, last + 100, ring_term(last + 1), true);
        last += 100;
    }
    assert_live_log_reads(f, last, ring_term);
    craft_index first = wal_first_index(f->wal);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_first_index(f->wal), first);
    assert_live_log_reads(f, last, ring_term);
}

static craft_term term_one(craft_index i)
{
    (void)i;
    return 1;
}

/* An allocation failing in an append (the index's growth, the list of external payloads) stops
 * it before the entry it failed on, with nothing of that entry left behind: wal_last_index says
 * how far it got, the rest appends on a retry, and the log read back has every entry once. */
static void test_wal_append_out_of_memory_stops_cleanly(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 1, 1, true); /* the group exists: its creation failing fails the WAL */
    craft_index last = 1;
    int failures = 0;
    for (int round = 0; round < 64; round++) {
        f->arena_used = 0;
        struct craft_entry entries[20];
        for (size_t i = 0; i < 20; i++) {
            char data[32];
            craft_index index = last + 1 + i;
            int len = snprintf(data, sizeof data, "e%llu-t1", (unsigned long long)index);
            entries[i] = (struct craft_entry){
                .term = 1,
                .index = index,
                .type = CRAFT_ENTRY_NORMAL,
                .data = {.base = keep(f, data, (size_t)len), .len = (size_t)len}};
        }
        alloc_fail_after(0); /* the append's first allocation, if it makes one, fails */
        int rv = wal_append(f->wal, entries, 20);
        alloc_fail_reset();
        size_t done = (size_t)(wal_last_index(f->wal) - last);
        if (rv != 0) {
            assert_int_equal(rv, CRAFT_ENOMEM);
            assert_true(done < 20);
            failures++;
        } else {
            assert_int_equal(done, 20);
        }
        assert_int_equal(wal_append(f->wal, entries + done, 20 - done), 0);
        assert_int_equal(wal_sync(f->wal), 0);
        last += 20;
        assert_live_log_reads(f, last, term_one);
    }
    assert_true(failures >= 3); /* the index grew at least three times */
    assert_int_equal(reopen(f), 0);
    assert_live_log_reads(f, last, term_one);
}

static void test_wal_failed_sync_fails_for_good(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 3, 1, true);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.fsync_eio_ppm = 1000000;
    io_fs_sim_set_faults(f->sim, &faults);
    append_range(f, 4, 4, 1, false);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
    io_fs_sim_faults_init(&faults);
    io_fs_sim_set_faults(f->sim, &faults);
    /* Not retried: the WAL stays failed, whatever the disk does now. */
    struct craft_entry e = {.term = 1, .index = 5, .type = CRAFT_ENTRY_NORMAL};
    assert_int_equal(wal_append(f->wal, &e, 1), CRAFT_EIO);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
}

static void test_wal_big_entry_gets_its_own_segment(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    static char big[20000];
    memset(big, 'x', sizeof big);
    struct craft_entry e = {.term = 1,
                            .index = 1,
                            .type = CRAFT_ENTRY_NORMAL,
                            .data = {.base = big, .len = sizeof big}};
    assert_int_equal(wal_append(f->wal, &e, 1), 0);
    assert_int_equal(wal_sync(f->wal), 0);
    append_range(f, 2, 3, 1, true);
    assert_int_equal(reopen(f), 0);
    size_t n;
    const struct craft_entry *got = wal_recovered(f->wal, &n);
    assert_int_equal(n, 3);
    assert_int_equal(got[0].data.len, sizeof big);
    assert_memory_equal(got[0].data.base, big, sizeof big);
}

/* A truncate record reaching back into a segment that a later prefix drop removes must still
 * replay: the recovered log is the one written (10..18 of term 3), never the superseded term-2
 * entries, and the open does not call it corruption. */
static void test_wal_drop_prefix_keeps_truncate_into_dropped_segment(void **state)
{
    struct fixture *f = *state;
    f->cfg.segment_bytes = 4096; /* about 75 entries of "eN-tM" per segment */
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 150, 1, true);   /* segments 1 and 2 */
    append_range(f, 151, 300, 2, true); /* segments 2 to 4 */
    assert_int_equal(wal_truncate(f->wal, 100), 0);
    append_range(f, 100, 120, 3, true); /* the truncate and the new suffix go into segment 4 */
    assert_int_equal(wal_drop_prefix(f->wal, 110), 0);
    assert_int_equal(wal_last_index(f->wal), 120);
    craft_index first = wal_first_index(f->wal);
    assert_true(first > 1); /* segment 1 was dropped */
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_last_index(f->wal), 120);
    assert_int_equal(wal_term_at(f->wal, 120), 3);
    assert_int_equal(wal_term_at(f->wal, 111), 3);
}

/* A crash while a new segment is created (before its rename) leaves a `.tmp`, which recovery
 * removes; the batch left open in the segment before must be closed, or the next batch is taken
 * for "lost records" on the following open. */
static void test_wal_removed_empty_segment_leaves_no_open_batch(void **state)
{
    struct fixture *f = *state;
    f->cfg.segment_bytes = 4096;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    /* A batch too big for the rest of segment 1: part of it goes in, segment 1 is synced, then
     * segment 2 is created (write, fdatasync, create the `.tmp`: three calls) and the process
     * dies at the fallocate, before the new header is written. */
    append_range(f, 6, 400, 1, false);
    io_fs_sim_die_after(f->sim, io_fs_sim_ops(f->sim) + 3);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_KEEP_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    assert_true(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg.tmp", IO_FS_SIM_CURRENT));
    crash_and_reopen(f, 0);
    assert_int_equal(f->report.n_tmp_removed, 1);
    assert_false(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg.tmp", IO_FS_SIM_CURRENT));
    craft_index last = wal_last_index(f->wal);
    assert_true(last > 5); /* part of the unacknowledged batch made it into segment 1 */
    append_range(f, last + 1, last + 300, 2, true); /* the next batch rolls into a new segment */
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_last_index(f->wal), last + 300);
}

/* A segment renamed but never named durably (its creation failed before the directory sync, and
 * the process restarted without a crash): once the WAL reopens and writes into it, a crash must
 * not take it away with the entries reported durable. */
static void test_wal_open_makes_every_segment_name_durable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 3, 1, true);
    wal_close(f->wal);
    f->wal = NULL;
    struct io_fs *fs = io_fs_sim_fs(f->sim);
    struct io_file *file;
    unsigned char header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(2, 2, header); /* entries 1..3 went in batch 1 */
    assert_int_equal(io_fs_open(fs, "wal-0000000000000002.seg", IO_FS_CREATE, &file), 0);
    assert_int_equal(io_fs_fallocate(fs, file, f->cfg.segment_bytes), 0);
    assert_int_equal(io_fs_pwrite(fs, file, header, sizeof header, 0), 0);
    assert_int_equal(io_fs_fdatasync(fs, file), 0);
    io_fs_close(fs, file);
    assert_false(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg", IO_FS_SIM_DURABLE));
    assert_int_equal(reopen(f), 0); /* no crash in between: the name is still in the cache */
    append_range(f, 4, 6, 1, true);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_LOSE_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    crash_and_reopen(f, 0);
    craft_term terms[] = {1, 1, 1, 1, 1, 1};
    assert_recovered(f, 1, 6, terms);
}

/* Starts the fixture over on an empty simulated disk. */
static void restart_empty(struct fixture *f)
{
    wal_close(f->wal);
    f->wal = NULL;
    io_fs_sim_destroy(f->sim);
    assert_int_equal(io_fs_sim_create(42, &f->sim), 0);
}

/* Every way a segment creation can be cut short leaves at most a `.tmp` (empty, without a
 * header, or whole): recovery removes it without calling it damage, the log is intact, and the
 * next segment is created under the same name. */
static void test_wal_leftover_tmp_segment_is_removed(void **state)
{
    struct fixture *f = *state;
    f->cfg.segment_bytes = 4096;
    struct io_fs *fs = io_fs_sim_fs(f->sim);
    unsigned char header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(2, 2, header);
    static const size_t lens[] = {0, 20, sizeof header}; /* nothing, torn header, whole header */
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        restart_empty(f);
        fs = io_fs_sim_fs(f->sim);
        assert_int_equal(reopen(f), 0);
        append_range(f, 1, 3, 1, true);
        wal_close(f->wal);
        f->wal = NULL;
        struct io_file *file;
        assert_int_equal(io_fs_open(fs, "wal-0000000000000002.seg.tmp", IO_FS_CREATE, &file), 0);
        if (lens[i] > 0) {
            assert_int_equal(io_fs_pwrite(fs, file, header, lens[i], 0), 0);
        }
        assert_int_equal(io_fs_fdatasync(fs, file), 0);
        io_fs_close(fs, file);
        assert_int_equal(io_fs_sync_dir(fs), 0);
        crash_and_reopen(f, 0);
        assert_int_equal(f->report.n_tmp_removed, 1);
        assert_false(f->report.tail_truncated);
        assert_false(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg.tmp", IO_FS_SIM_CURRENT));
        craft_term terms[] = {1, 1, 1};
        assert_recovered(f, 1, 3, terms);
        wal_recovered_release(f->wal);
        append_range(f, 4, 200, 1, true); /* rolls over into segment 2 and beyond */
        assert_true(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg", IO_FS_SIM_DURABLE));
        assert_int_equal(reopen(f), 0);
        assert_int_equal(f->report.n_tmp_removed, 0);
        assert_int_equal(wal_last_index(f->wal), 200);
    }
}

/* The first record of a fresh segment, misdirected far enough back, lands on the segment header
 * (clamped at offset 0) and leaves its own place zero: a bad header with only zeros after it.
 * The header had been durable, and entry 1 was reported durable, so this is damage: never a
 * torn creation to remove (craft-sim seeds 9342 and 4894 lost entry 1 this way). */
static void test_wal_destroyed_header_of_last_segment_is_corruption(void **state)
{
    struct fixture *f = *state;
    static const size_t payloads[] = {0, 24}; /* records of 40 and 64 bytes */
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        restart_empty(f);
        assert_int_equal(reopen(f), 0);
        static const char data[24] = "twenty-four bytes, exact";
        struct craft_entry e = {.term = 4,
                                .index = 1,
                                .type = CRAFT_ENTRY_NOOP,
                                .data = {.base = data, .len = payloads[i]}};
        assert_int_equal(wal_append(f->wal, &e, 1), 0);
        io_fs_sim_misdirect_next_write(f->sim, -128);
        assert_int_equal(wal_sync(f->wal), 0); /* entry 1 is reported durable */
        crash_and_reopen(f, CRAFT_ECORRUPT);
        assert_non_null(strstr(f->errmsg, "wal-0000000000000001.seg offset 0"));
    }
}

/* Appends one entry with a 24-byte payload (a 64-byte record) per index, in one batch. */
static void append_64b(struct fixture *f, craft_index first, craft_index last)
{
    static const char data[16] = "sixteen bytes ok"; /* with the 48-byte header: 64 bytes */
    static_assert(WAL_RECORD_HEADER_BYTES + sizeof data == 64, "64-byte records");
    for (craft_index i = first; i <= last; i++) {
        struct craft_entry e = {
            .term = 1, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {.base = data, .len = 16}};
        assert_int_equal(wal_append(f->wal, &e, 1), 0);
    }
}

/* A batch misdirected exactly onto the place of the first record of the log's first segment has
 * no record before it to continue, so it looks like the start of the log and the records it
 * displaced like a torn tail behind it: the segment header names the batch that goes first, and
 * anything else there is damage (craft-sim seed 29025 lost entries 1..25 this way). Both when
 * some displaced records remain after it and when it covers them all. */
static void test_wal_misdirected_batch_on_first_record_is_corruption(void **state)
{
    struct fixture *f = *state;
    static const struct {
        unsigned n_before; /* one-entry batches written first */
        unsigned n_batch;  /* entries in the misdirected batch */
    } cases[] = {{3, 1}, {1, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        restart_empty(f);
        assert_int_equal(reopen(f), 0);
        for (unsigned i = 1; i <= cases[c].n_before; i++) {
            append_64b(f, i, i);
            assert_int_equal(wal_sync(f->wal), 0);
        }
        craft_index next = cases[c].n_before + 1;
        append_64b(f, next, next + cases[c].n_batch - 1);
        /* It belongs at 64 + 64 * n_before: land it at 64. */
        io_fs_sim_misdirect_next_write(f->sim, -64 * (int64_t)cases[c].n_before);
        assert_int_equal(wal_sync(f->wal), 0);
        crash_and_reopen(f, CRAFT_ECORRUPT);
        assert_non_null(strstr(f->errmsg, "wal-0000000000000001.seg offset 64"));
    }
}

/* After a prefix drop the log may start in a segment with no record yet (created just before a
 * crash): the batch numbering goes on from its header, so the next batch written there is the
 * one its header names and the log reopens. */
static void test_wal_drop_to_empty_segment_keeps_batch_numbering(void **state)
{
    struct fixture *f = *state;
    f->cfg.segment_bytes = 4096;
    assert_int_equal(reopen(f), 0);
    append_64b(f, 1, 31);
    assert_int_equal(wal_sync(f->wal), 0); /* batch 1 */
    append_64b(f, 32, 63);
    assert_int_equal(wal_sync(f->wal), 0); /* batch 2: segment 1 is full (64 + 63 * 64) */
    append_64b(f, 64, 64);
    /* Batch 3 syncs segment 1, creates segment 2 (tmp, fallocate, header, fdatasync, rename,
     * sync_dir: seven calls) and dies writing its record there. */
    io_fs_sim_die_after(f->sim, io_fs_sim_ops(f->sim) + 7);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
    crash_and_reopen(f, 0);
    assert_true(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg", IO_FS_SIM_DURABLE));
    assert_int_equal(wal_last_index(f->wal), 63);
    assert_int_equal(wal_drop_prefix(f->wal, 63), 0); /* a snapshot covers everything */
    assert_false(io_fs_sim_exists(f->sim, "wal-0000000000000001.seg", IO_FS_SIM_CURRENT));
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_last_index(f->wal), 0);
    append_64b(f, 64, 65);
    assert_int_equal(wal_sync(f->wal), 0);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_first_index(f->wal), 64);
    assert_int_equal(wal_last_index(f->wal), 65);
}

/* A header that rots in a segment holding no record yet is damage too: with atomic creation a
 * segment under its final name always had a durable header. */
static void test_wal_rotten_header_of_empty_last_segment_is_corruption(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0); /* creates segment 1, header only */
    for (uint64_t byte = 0; byte < WAL_SEGMENT_HEADER_BYTES; byte += 13) {
        assert_int_equal(io_fs_sim_flip_bit(f->sim, "wal-0000000000000001.seg", byte * 8 + 3), 0);
        crash_and_reopen(f, CRAFT_ECORRUPT);
        assert_non_null(strstr(f->errmsg, "wal-0000000000000001.seg offset 0"));
        assert_true(io_fs_sim_exists(f->sim, "wal-0000000000000001.seg", IO_FS_SIM_DURABLE));
        assert_int_equal(io_fs_sim_flip_bit(f->sim, "wal-0000000000000001.seg", byte * 8 + 3), 0);
    }
    assert_int_equal(reopen(f), 0); /* the bit flipped back: whole again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_open_makes_every_segment_name_durable, setup,
                                        teardown),
        cmocka_unit_test(test_wal_record_header_bytes_as_in_disk_format),
        cmocka_unit_test(test_wal_record_set_flags_keeps_checksum_valid),
        cmocka_unit_test_setup_teardown(
            test_wal_mixed_batch_reads_back_pending_written_and_reopened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_synced_entries_survive_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_truncate_at_the_end_is_a_no_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_truncate_record_replaces_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_truncate_past_the_end_of_an_empty_log_is_a_no_op,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_emptied_log_takes_any_next_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_torn_tail_is_cut_and_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_before_a_committed_entry_is_corruption,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_before_later_batches_is_corruption, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_drop_prefix_removes_whole_segments, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_index_ring_wraps_and_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_append_out_of_memory_stops_cleanly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_failed_sync_fails_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_big_entry_gets_its_own_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_drop_prefix_keeps_truncate_into_dropped_segment,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_removed_empty_segment_leaves_no_open_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_destroyed_header_of_last_segment_is_corruption,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_rotten_header_of_empty_last_segment_is_corruption,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_leftover_tmp_segment_is_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_misdirected_batch_on_first_record_is_corruption,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_drop_to_empty_segment_keeps_batch_numbering, setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests_name("wal, payloads copied", tests, NULL, NULL);
    inline_bytes_max = 0;
    failed += cmocka_run_group_tests_name("wal, payloads written in place", tests, NULL, NULL);
    return failed;
}
