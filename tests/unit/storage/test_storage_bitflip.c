/* Media damage to durable, closed files is detected, never silently used: a bit flipped in every
 * byte of each region (WAL segment header, record header, record payload,
 * identity, snapshot header, chunks, trailer), a misdirected WAL write, and directories that
 * belong to someone else or have lost their identity file. */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "storage/identity.h"
#include "storage/snapshot_store.h"
#include "storage/storage.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

#define SEGMENT_BYTES 4096u
#define PAYLOAD 16u /* with the 48-byte header, a 64-byte record: no padding to skip */
#define ENTRIES 100u
#define BATCH 10u
#define NODE 2
#define CLUSTER 0xBEEFull

static_assert(WAL_RECORD_HEADER_BYTES + PAYLOAD == 64, "records of exactly 64 bytes");

static void flip(struct io_fs_sim *sim, const char *name, uint64_t byte, unsigned bit)
{
    assert_int_equal(io_fs_sim_flip_bit(sim, name, byte * 8 + bit), 0);
}

static void seg_name(uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "wal-%016llx.seg", (unsigned long long)seq);
}

/* A closed WAL of ENTRIES 64-byte records in batches of BATCH over two segments. */
static struct io_fs_sim *make_wal(uint64_t seed)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    struct wal_config cfg;
    wal_config_init(&cfg);
    cfg.segment_bytes = SEGMENT_BYTES;
    struct wal *w;
    char errmsg[256];
    assert_int_equal(wal_open(io_fs_sim_fs(sim), &cfg, &w, NULL, errmsg, sizeof errmsg), 0);
    for (craft_index i = 1; i <= ENTRIES; i++) {
        unsigned char data[PAYLOAD];
        memset(data, (int)i, sizeof data);
        struct craft_entry e = {
            .term = 1 + i / 50, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data, PAYLOAD}};
        assert_int_equal(wal_append(w, &e, 1), 0);
        if (i % BATCH == 0) {
            assert_int_equal(wal_sync(w), 0);
        }
    }
    wal_close(w);
    char name[64];
    seg_name(2, name, sizeof name);
    assert_true(io_fs_sim_exists(sim, name, IO_FS_SIM_DURABLE)); /* two segments */
    return sim;
}

static int open_wal(struct io_fs_sim *sim, char *errmsg, size_t len)
{
    struct wal_config cfg;
    wal_config_init(&cfg);
    cfg.segment_bytes = SEGMENT_BYTES;
    struct wal *w = NULL;
    int rv = wal_open(io_fs_sim_fs(sim), &cfg, &w, NULL, errmsg, len);
    wal_close(w);
    return rv;
}

/* Flips one bit in each of bytes [from, to) of the named segment, one fresh WAL per byte, and
 * expects CRAFT_ECORRUPT naming the file and the offset `at`. */
static void expect_wal_corrupt(uint64_t seq, uint64_t from, uint64_t to, uint64_t at)
{
    char name[64];
    seg_name(seq, name, sizeof name);
    char where[64];
    snprintf(where, sizeof where, "offset %llu", (unsigned long long)at);
    for (uint64_t b = from; b < to; b++) {
        struct io_fs_sim *sim = make_wal(b);
        flip(sim, name, b, (unsigned)(b * 5 % 8));
        char errmsg[256] = "";
        int rv = open_wal(sim, errmsg, sizeof errmsg);
        if (rv != CRAFT_ECORRUPT || strstr(errmsg, name) == NULL || strstr(errmsg, where) == NULL) {
            fail_msg("flip in %s byte %llu: %s, '%s' (want CRAFT_ECORRUPT naming %s)", name,
                     (unsigned long long)b, craft_errname(rv), errmsg, where);
        }
        io_fs_sim_destroy(sim);
    }
}

static void test_storage_bitflip_wal_segment_header_is_corruption(void **state)
{
    (void)state;
    expect_wal_corrupt(1, 0, WAL_SEGMENT_HEADER_BYTES, 0); /* a closed segment */
    expect_wal_corrupt(2, 0, WAL_SEGMENT_HEADER_BYTES, 0); /* the last, with records after it */
}

static void test_storage_bitflip_wal_record_header_is_corruption(void **state)
{
    (void)state;
    /* Entry 2 (batch 1), entry 15 (mid batch 2) and the batch-end record of batch 3. */
    uint64_t recs[] = {1, 14, 29};
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        uint64_t at = WAL_SEGMENT_HEADER_BYTES + recs[i] * 64;
        expect_wal_corrupt(1, at, at + WAL_RECORD_HEADER_BYTES, at);
    }
}

static void test_storage_bitflip_wal_record_payload_is_corruption(void **state)
{
    (void)state;
    uint64_t at = WAL_SEGMENT_HEADER_BYTES + 14 * 64;
    expect_wal_corrupt(1, at + WAL_RECORD_HEADER_BYTES, at + 64, at);
}

/* Writes batch 1 (1..3), a misdirected batch 2 (4..6), and batch 3 (7..9); the reopen must see
 * that batch 2 is not where it belongs. */
static void misdirected(int64_t delta)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(7, &sim), 0);
    struct wal_config cfg;
    wal_config_init(&cfg);
    cfg.segment_bytes = SEGMENT_BYTES;
    struct wal *w;
    char errmsg[256] = "";
    assert_int_equal(wal_open(io_fs_sim_fs(sim), &cfg, &w, NULL, errmsg, sizeof errmsg), 0);
    for (craft_index i = 1; i <= 9; i++) {
        unsigned char data[PAYLOAD];
        memset(data, (int)i, sizeof data);
        struct craft_entry e = {
            .term = 1, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data, PAYLOAD}};
        assert_int_equal(wal_append(w, &e, 1), 0);
        if (i % 3 == 0) {
            if (i == 6) {
                io_fs_sim_misdirect_next_write(sim, delta);
            }
            assert_int_equal(wal_sync(w), 0); /* a misdirected write reports success */
        }
    }
    wal_close(w);
    int rv = open_wal(sim, errmsg, sizeof errmsg);
    char name[64];
    seg_name(1, name, sizeof name);
    if (rv != CRAFT_ECORRUPT || strstr(errmsg, name) == NULL || strstr(errmsg, "offset") == NULL) {
        fail_msg("misdirected by %lld: %s, '%s'", (long long)delta, craft_errname(rv), errmsg);
    }
    io_fs_sim_destroy(sim);
}

static void test_storage_bitflip_misdirected_wal_write_is_corruption(void **state)
{
    (void)state;
    misdirected(-64); /* over entry 3: a whole, well-formed record of the wrong index and batch */
    misdirected(-8);
    misdirected(8);
    misdirected(64); /* past its place: a hole of zeros where batch 2 belongs */
    misdirected(4096);
}

static void storage_cfg(struct storage_config *cfg, craft_id node, uint64_t cluster)
{
    storage_config_init(cfg);
    cfg->node = node;
    cfg->cluster = cluster;
    cfg->wal.segment_bytes = SEGMENT_BYTES;
}

static int open_storage(struct io_fs_sim *sim, craft_id node, uint64_t cluster, char *errmsg,
                        size_t len)
{
    struct storage_config cfg;
    storage_cfg(&cfg, node, cluster);
    struct storage *s = NULL;
    struct storage_recovered rec;
    int rv = storage_open(io_fs_sim_fs(sim), &cfg, &s, &rec, errmsg, len);
    if (rv == 0) {
        storage_close(s);
    }
    return rv;
}

static void test_storage_bitflip_identity_is_corruption(void **state)
{
    (void)state;
    for (uint64_t b = 0; b < IDENTITY_BYTES; b++) {
        struct io_fs_sim *sim;
        assert_int_equal(io_fs_sim_create(b, &sim), 0);
        char errmsg[256] = "";
        assert_int_equal(open_storage(sim, NODE, CLUSTER, errmsg, sizeof errmsg), 0);
        flip(sim, IDENTITY_FILE, b, (unsigned)(b % 8));
        assert_int_equal(open_storage(sim, NODE, CLUSTER, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
        assert_non_null(strstr(errmsg, "identity"));
        assert_int_equal(identity_claim(io_fs_sim_fs(sim), NODE, CLUSTER, errmsg, sizeof errmsg),
                         CRAFT_ECORRUPT);
        io_fs_sim_destroy(sim);
    }
}

static void test_storage_bitflip_identity_of_another_node_is_mismatch(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    char errmsg[256] = "";
    assert_int_equal(open_storage(sim, NODE, CLUSTER, errmsg, sizeof errmsg), 0);
    assert_int_equal(open_storage(sim, NODE + 1, CLUSTER, errmsg, sizeof errmsg), CRAFT_EMISMATCH);
    assert_int_equal(open_storage(sim, NODE, CLUSTER + 1, errmsg, sizeof errmsg), CRAFT_EMISMATCH);
    assert_non_null(strstr(errmsg, "cluster"));
    /* Still ours afterwards: a refusal writes nothing. */
    assert_int_equal(open_storage(sim, NODE, CLUSTER, errmsg, sizeof errmsg), 0);
    io_fs_sim_destroy(sim);
}

static void test_storage_bitflip_wal_without_identity_is_corruption(void **state)
{
    (void)state;
    struct io_fs_sim *sim = make_wal(3); /* WAL segments, no identity file */
    char errmsg[256] = "";
    assert_int_equal(open_storage(sim, NODE, CLUSTER, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
    assert_non_null(strstr(errmsg, "identity"));
    assert_false(io_fs_sim_exists(sim, IDENTITY_FILE, IO_FS_SIM_CURRENT)); /* not claimed */
    io_fs_sim_destroy(sim);
}

#define SNAP_INDEX 50
#define SNAP_TERM 4
#define SNAP_BYTES (300u << 10) /* a full chunk and a partial one */
#define SNAP_HEADER (52u + 8u * 3u)
#define SNAP_TRAILER 40u

static unsigned char snap_byte(size_t i)
{
    return (unsigned char)(i * 7 + (i >> 9));
}

static struct io_fs_sim *make_snapshot(uint64_t seed)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    struct craft_snapshot_meta meta = {.index = SNAP_INDEX, .term = SNAP_TERM};
    meta.membership.n_voters = 3;
    meta.membership.voters[0] = 1;
    meta.membership.voters[1] = NODE;
    meta.membership.voters[2] = 3;
    struct snapshot_writer *sw;
    assert_int_equal(snapshot_writer_begin(io_fs_sim_fs(sim), &meta, &sw), 0);
    static unsigned char image[SNAP_BYTES];
    for (size_t i = 0; i < SNAP_BYTES; i++) {
        image[i] = snap_byte(i);
    }
    assert_int_equal(snapshot_writer_write(sw, image, SNAP_BYTES), 0);
    assert_int_equal(snapshot_writer_finish(sw), 0);
    return sim;
}

/* Reads the whole image: 0 if it is all there and right, else the reader's error. */
static int read_snapshot(struct io_fs_sim *sim, char *errmsg, size_t len)
{
    struct snapshot_reader *r;
    struct craft_snapshot_meta meta;
    int rv = snapshot_reader_open(io_fs_sim_fs(sim), SNAP_INDEX, SNAP_TERM, &r, &meta);
    if (rv != 0) {
        return rv;
    }
    static unsigned char buf[70000];
    size_t total = 0;
    for (;;) {
        size_t n;
        rv = snapshot_reader_read(r, buf, sizeof buf, &n);
        if (rv != 0) {
            snprintf(errmsg, len, "%s", snapshot_reader_errmsg(r));
            break;
        }
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(buf[i], snap_byte(total + i)); /* never wrong bytes handed out */
        }
        total += n;
    }
    snapshot_reader_close(r);
    if (rv == 0) {
        assert_int_equal(total, SNAP_BYTES);
    }
    return rv;
}

static void test_storage_bitflip_snapshot_header_is_skipped_or_corruption(void **state)
{
    (void)state;
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(SNAP_INDEX, SNAP_TERM, name, sizeof name);
    struct io_fs_sim *sim = make_snapshot(1);
    char errmsg[256] = "";
    assert_int_equal(read_snapshot(sim, errmsg, sizeof errmsg), 0);
    io_fs_sim_destroy(sim);
    for (uint64_t b = 0; b < SNAP_HEADER; b++) {
        sim = make_snapshot(b);
        flip(sim, name, b, (unsigned)(b % 8));
        struct craft_snapshot_meta meta;
        bool found = true;
        assert_int_equal(snapshot_latest(io_fs_sim_fs(sim), &meta, &found), 0);
        assert_false(found);
        assert_int_equal(read_snapshot(sim, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
        io_fs_sim_destroy(sim);
    }
}

static void expect_snapshot_corrupt(uint64_t byte)
{
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(SNAP_INDEX, SNAP_TERM, name, sizeof name);
    struct io_fs_sim *sim = make_snapshot(byte);
    flip(sim, name, byte, (unsigned)(byte * 3 % 8));
    struct craft_snapshot_meta meta;
    bool found = false;
    assert_int_equal(snapshot_latest(io_fs_sim_fs(sim), &meta, &found), 0);
    assert_true(found); /* the header is fine */
    char errmsg[256] = "";
    int rv = read_snapshot(sim, errmsg, sizeof errmsg);
    if (rv != CRAFT_ECORRUPT || strstr(errmsg, "offset") == NULL) {
        fail_msg("flip in snapshot byte %llu: %s, '%s'", (unsigned long long)byte,
                 craft_errname(rv), errmsg);
    }
    io_fs_sim_destroy(sim);
}

static void test_storage_bitflip_snapshot_chunk_is_corruption(void **state)
{
    (void)state;
    uint64_t chunk1 = SNAP_HEADER;
    uint64_t chunk2 = chunk1 + 8 + SNAPSHOT_CHUNK_BYTES;
    uint64_t len2 = SNAP_BYTES - SNAPSHOT_CHUNK_BYTES;
    for (uint64_t b = 0; b < 8; b++) { /* both chunk headers, every byte */
        expect_snapshot_corrupt(chunk1 + b);
        expect_snapshot_corrupt(chunk2 + b);
    }
    uint64_t payload[] = {chunk1 + 8, chunk1 + 8 + 1000,     chunk1 + 8 + SNAPSHOT_CHUNK_BYTES - 1,
                          chunk2 + 8, chunk2 + 8 + len2 / 2, chunk2 + 8 + len2 - 1};
    for (size_t i = 0; i < sizeof payload / sizeof payload[0]; i++) {
        expect_snapshot_corrupt(payload[i]);
    }
}

static void test_storage_bitflip_snapshot_trailer_is_corruption(void **state)
{
    (void)state;
    uint64_t trailer = SNAP_HEADER + 2 * 8 + SNAP_BYTES;
    for (uint64_t b = 0; b < SNAP_TRAILER; b++) {
        expect_snapshot_corrupt(trailer + b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_bitflip_wal_segment_header_is_corruption),
        cmocka_unit_test(test_storage_bitflip_wal_record_header_is_corruption),
        cmocka_unit_test(test_storage_bitflip_wal_record_payload_is_corruption),
        cmocka_unit_test(test_storage_bitflip_misdirected_wal_write_is_corruption),
        cmocka_unit_test(test_storage_bitflip_identity_is_corruption),
        cmocka_unit_test(test_storage_bitflip_identity_of_another_node_is_mismatch),
        cmocka_unit_test(test_storage_bitflip_wal_without_identity_is_corruption),
        cmocka_unit_test(test_storage_bitflip_snapshot_header_is_skipped_or_corruption),
        cmocka_unit_test(test_storage_bitflip_snapshot_chunk_is_corruption),
        cmocka_unit_test(test_storage_bitflip_snapshot_trailer_is_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
