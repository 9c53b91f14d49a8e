/* Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) with the real writers over
 * the simulated file system: valid files of several shapes, plus a few damaged copies. Run as
 * gen_corpus <corpus dir>; the output is deterministic, and checked in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen_corpus_util.h"
#include "io/sim/fs_sim.h"
#include "net/wire.h"
#include "storage/identity.h"
#include "storage/snapshot_format.h"
#include "storage/snapshot_store.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

/* Reads a file out of the simulated directory; returns its length (buf holds cap bytes). */
static size_t take(struct io_fs_sim *sim, const char *name, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    if (io_fs_sim_read(sim, name, IO_FS_SIM_CURRENT, 0, buf, cap, &n) != 0) {
        return 0;
    }
    return n;
}

/* Trailing zeros of a preallocated segment carry nothing the target cannot rebuild: keep the
 * written part plus one zero record header, so inputs stay small. */
static size_t trim(const unsigned char *buf, size_t n)
{
    size_t end = n;
    while (end > 0 && buf[end - 1] == 0) {
        end--;
    }
    end = (end + 7) & ~(size_t)7;
    return end + WAL_RECORD_HEADER_BYTES <= n ? end + WAL_RECORD_HEADER_BYTES : n;
}

struct wal_shape {
    const char *name;
    unsigned n_batches;
    unsigned per_batch;
    unsigned payload;
    int truncate_at_batch; /* -1: none */
    int drop;
    int damage; /* 0 none, 1 flip in the first record, 2 torn tail (cut mid-record) */
    int tmp;    /* 1: a segment creation cut short follows, as `wal-<seq>.seg.tmp` */
    unsigned groups; /* every batch appends to groups 1..groups (0: the default group only) */
    int hs;          /* 1: every batch carries each group's hard state */
};

static void gen_wal(const struct wal_shape *sh)
{
    struct io_fs_sim *sim;
    CHECK(io_fs_sim_create(1, &sim) == 0);
    struct wal_config cfg;
    wal_config_init(&cfg);
    cfg.segment_bytes = 4096;
    struct wal *w;
    char errmsg[256];
    CHECK(wal_open(io_fs_sim_fs(sim), &cfg, &w, NULL, errmsg, sizeof errmsg) == 0);
    craft_index next = 1;
    craft_term term = 1;
    static unsigned char data[4096];
    for (unsigned b = 0; b < sh->n_batches; b++) {
        if ((int)b == sh->truncate_at_batch && next > 3) {
            next -= 2;
            term++;
            CHECK(wal_truncate(w, next) == 0);
        }
        unsigned n_groups = sh->groups > 0 ? sh->groups : 1;
        for (uint64_t g = 1; g <= n_groups; g++) {
            if (sh->hs) {
                struct craft_hard_state hs = {.term = term, .vote = g, .commit = next - 1};
                CHECK(wal_save_hard_state_group(w, g, &hs) == 0);
            }
            for (unsigned i = 0; i < sh->per_batch; i++) {
                memset(data, (int)(next + i + 16 * g), sh->payload);
                struct craft_entry e = {.term = term,
                                        .index = next + i,
                                        .type = CRAFT_ENTRY_NORMAL,
                                        .data = {data, sh->payload}};
                CHECK(wal_append_group(w, g, &e, 1) == 0);
            }
        }
        next += sh->per_batch;
        CHECK(wal_sync(w) == 0);
    }
    if (sh->drop) {
        CHECK(wal_drop_prefix(w, next / 2) == 0);
    }
    wal_close(w);
    /* The input: settings byte (first seq - 1 in bits 0-1), then length-prefixed files. */
    static unsigned char out[64 << 10];
    size_t len = 0;
    uint64_t first_seq = 0;
    for (uint64_t seq = 1; seq < 8 && first_seq == 0; seq++) {
        char name[64];
        snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)seq);
        if (io_fs_sim_exists(sim, name, IO_FS_SIM_CURRENT)) {
            first_seq = seq;
        }
    }
    CHECK(first_seq >= 1 && first_seq <= 4);
    out[len++] = (unsigned char)(first_seq - 1);
    for (uint64_t seq = first_seq; seq < first_seq + 4; seq++) {
        char name[64];
        snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)seq);
        static unsigned char seg[1 << 16];
        size_t n = take(sim, name, seg, sizeof seg);
        if (n == 0) {
            break;
        }
        n = trim(seg, n);
        if (sh->damage == 1 && seq == first_seq) {
            seg[64 + 20] ^= 0x10;
        }
        CHECK(len + 2 + n <= sizeof out);
        out[len++] = (unsigned char)(n & 0xff);
        out[len++] = (unsigned char)(n >> 8);
        memcpy(out + len, seg, n);
        len += n;
    }
    if (sh->damage == 2) {
        len -= 60; /* the last file is cut short inside its last record */
        out[len - 2] ^= 0xff;
    }
    if (sh->tmp) {
        /* A creation cut short after the header was written, before the rename (settings bit 4:
         * the last file is the `.tmp`). */
        unsigned char header[WAL_SEGMENT_HEADER_BYTES];
        wal_segment_header_encode(99, 1, header); /* its content never matters */
        CHECK(len + 2 + sizeof header <= sizeof out);
        out[0] |= 16;
        out[len++] = (unsigned char)sizeof header;
        out[len++] = 0;
        memcpy(out + len, header, sizeof header);
        len += sizeof header;
    }
    put("fuzz_wal_recovery", sh->name, out, len);
    io_fs_sim_destroy(sim);
}

static void gen_wals(void)
{
    static const struct wal_shape shapes[] = {
        {"empty", 0, 0, 0, -1, 0, 0, 0, 0, 0},
        {"one_batch", 1, 5, 16, -1, 0, 0, 0, 0, 0},
        {"batches", 6, 4, 40, -1, 0, 0, 0, 0, 0},
        {"rollover", 8, 10, 60, -1, 0, 0, 0, 0, 0},
        {"truncate", 5, 6, 24, 3, 0, 0, 0, 0, 0},
        {"truncate_rollover", 8, 10, 60, 5, 0, 0, 0, 0, 0},
        {"dropped_prefix", 10, 10, 60, -1, 1, 0, 0, 0, 0},
        {"big_entry", 2, 1, 3000, -1, 0, 0, 0, 0, 0},
        {"flipped_bit", 4, 4, 24, -1, 0, 1, 0, 0, 0},
        {"torn_tail", 4, 4, 24, -1, 0, 2, 0, 0, 0},
        {"leftover_tmp", 3, 4, 24, -1, 0, 0, 1, 0, 0},
        {"hard_states", 4, 3, 16, -1, 0, 0, 0, 0, 1},
        {"groups", 5, 3, 16, -1, 0, 0, 0, 3, 1},
        {"groups_rollover", 8, 4, 40, -1, 0, 0, 0, 4, 1},
        {"groups_torn_tail", 4, 3, 16, -1, 0, 2, 0, 2, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gen_wal(&shapes[i]);
    }
}

/* A membership for the corpus: n voters (ids 1..), n_old old voters (ids 101..), n_learners
 * learners (ids 201..), so each shape of the header's lists is present. */
static struct craft_membership corpus_membership(unsigned n, unsigned n_old, unsigned n_learners)
{
    struct craft_membership m;
    memset(&m, 0, sizeof m);
    m.n_voters = n;
    m.n_voters_old = n_old;
    m.n_learners = n_learners;
    for (unsigned v = 0; v < n; v++) {
        m.voters[v] = v + 1;
    }
    for (unsigned v = 0; v < n_old; v++) {
        m.voters_old[v] = 101 + v;
    }
    for (unsigned v = 0; v < n_learners; v++) {
        m.learners[v] = 201 + v;
    }
    return m;
}

static void gen_snapshots(void)
{
    static const size_t sizes[] = {0, 1, 100, 5000};
    static const unsigned voters[] = {1, 3, 5, CRAFT_VOTERS_MAX};
    static const unsigned voters_old[] = {0, 0, 3, CRAFT_VOTERS_MAX};
    static const unsigned learners[] = {0, 2, 1, CRAFT_LEARNERS_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct io_fs_sim *sim;
        CHECK(io_fs_sim_create(1, &sim) == 0);
        struct craft_snapshot_meta meta = {.index = 10 + i, .term = 2 + i};
        meta.membership = corpus_membership(voters[i], voters_old[i], learners[i]);
        struct snapshot_writer *sw;
        CHECK(snapshot_writer_begin(io_fs_sim_fs(sim), &meta, &sw) == 0);
        static unsigned char image[5000];
        for (size_t b = 0; b < sizes[i]; b++) {
            image[b] = (unsigned char)(b * 13);
        }
        /* Written in two calls, so the writer's buffering is part of what produced the file. */
        CHECK(snapshot_writer_write(sw, image, sizes[i] / 2) == 0);
        CHECK(snapshot_writer_write(sw, image + sizes[i] / 2, sizes[i] - sizes[i] / 2) == 0);
        CHECK(snapshot_writer_finish(sw) == 0);
        char name[IO_FS_NAME_MAX];
        snapshot_file_name(meta.index, meta.term, name, sizeof name);
        static unsigned char file[8192];
        size_t n = take(sim, name, file, sizeof file);
        CHECK(n > 0);
        char out[64];
        snprintf(out, sizeof out, "valid_%zu_bytes", sizes[i]);
        put("fuzz_snapshot_reader", out, file, n);
        if (i == 2) {
            file[n - 10] ^= 1; /* trailer */
            put("fuzz_snapshot_reader", "bad_trailer", file, n);
            file[n - 10] ^= 1;
            /* A payload byte changed with its chunk's checksum made to match: only the
             * trailer's checksum of the whole file tells (as for two senders' files mixed). */
            size_t chunk = snapshot_header_size(&meta.membership);
            file[chunk + SNAPSHOT_CHUNK_HEADER + 50] ^= 4;
            snapshot_chunk_seal(file + chunk, sizes[i]);
            put("fuzz_snapshot_reader", "bad_file_crc", file, n);
            file[chunk + SNAPSHOT_CHUNK_HEADER + 50] ^= 4;
            snapshot_chunk_seal(file + chunk, sizes[i]);
            file[chunk + SNAPSHOT_CHUNK_HEADER + 70] ^= 4; /* chunk payload */
            put("fuzz_snapshot_reader", "bad_chunk", file, n);
            put("fuzz_snapshot_reader", "truncated", file, n / 2);
        }
        io_fs_sim_destroy(sim);
    }
}

static void gen_identities(void)
{
    unsigned char buf[IDENTITY_BYTES];
    identity_encode(1, 0xC1, buf);
    put("fuzz_identity", "node1", buf, sizeof buf);
    identity_encode(0xFFFFFFFFFFFFFFFFull, 0x123456789ABCDEFull, buf);
    put("fuzz_identity", "big_ids", buf, sizeof buf);
    buf[20] ^= 1;
    put("fuzz_identity", "flipped", buf, sizeof buf);
    put("fuzz_identity", "short", buf, 20);
}

/* One frame of each kind the wire carries, edge values included, and a damaged copy. */
static void gen_wire_frames(void)
{
    static const unsigned char bytes[] = "a command, a config, a chunk";
    const struct craft_entry entries[] = {
        {.term = 2, .index = 8, .type = CRAFT_ENTRY_NOOP},
        {.term = 3, .index = 9, .type = CRAFT_ENTRY_NORMAL, .data = {bytes, 10}},
        {.term = 3, .index = 10, .type = CRAFT_ENTRY_CONFIG, .data = {bytes + 12, 6}},
    };
    const struct craft_msg msgs[] = {
        {.type = CRAFT_MSG_PREVOTE, .from = 1, .to = 2, .term = 4,
         .vote = {.last_index = 10, .last_term = 3}},
        {.type = CRAFT_MSG_VOTE, .from = 1, .to = 2, .term = 4,
         .vote = {.last_index = 10, .last_term = 3, .transfer = true}},
        {.type = CRAFT_MSG_PREVOTE_RESP, .from = 2, .to = 1, .term = 4, .vote_resp = {true}},
        {.type = CRAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 4},
        {.type = CRAFT_MSG_APPEND, .from = 1, .to = 3, .term = 3,
         .append = {.prev_index = 7, .prev_term = 2, .commit = 7, .entries = entries,
                    .n_entries = 3, .round = 12}},
        {.type = CRAFT_MSG_APPEND, .from = 1, .to = 3, .term = UINT64_MAX,
         .append = {.prev_index = UINT64_MAX, .prev_term = UINT64_MAX, .commit = 5}},
        {.type = CRAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 3,
         .append_resp = {.round = 12, .index = 7, .hint_term = 2, .hint_index = 4}},
        {.type = CRAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 9},
        {.type = CRAFT_MSG_READ_INDEX, .from = 2, .to = 1, .term = 9, .read = {.id = 77}},
        {.type = CRAFT_MSG_READ_INDEX_RESP, .from = 1, .to = 2, .term = 9,
         .read = {.id = 77, .index = 40, .ok = true}},
    };
    static unsigned char buf[1024];
    char name[32];
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        CHECK(wire_msg_size(&msgs[i]) <= sizeof buf);
        size_t n = wire_encode_msg(i == 5 ? UINT64_MAX : 1, &msgs[i], buf, sizeof buf);
        snprintf(name, sizeof name, "msg_%zu", i);
        put("fuzz_wire", name, buf, n);
        if (i == 4) {
            buf[n - 3] ^= 4;
            put("fuzz_wire", "append_flipped", buf, n);
        }
    }
    struct wire_hello hello = {.cluster = 0xC1, .node = 1, .version_min = 1, .version_max = 1};
    put("fuzz_wire", "hello", buf, wire_encode_hello(&hello, 2, buf, sizeof buf));
    struct wire_snap_chunk chunk = {.term = 3, .snap_index = 10, .snap_term = 3, .total = 4096,
                                    .offset = 256, .data = bytes, .len = sizeof bytes};
    put("fuzz_wire", "snap_chunk", buf, wire_encode_chunk(1, 1, 3, &chunk, buf, sizeof buf));
    struct wire_snap_ack ack = {.term = 3, .snap_index = 10, .snap_term = 3, .offset = 4096,
                                .done = true};
    put("fuzz_wire", "snap_ack", buf, wire_encode_ack(1, 3, 1, &ack, buf, sizeof buf));
    put("fuzz_wire", "header_only", buf, WIRE_HEADER_BYTES);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus <corpus dir>\n");
        return 2;
    }
    root = argv[1];
    CHECK(mkdir(root, 0755) == 0 || errno == EEXIST);
    gen_wals();
    gen_snapshots();
    gen_identities();
    gen_wire_frames();
    return 0;
}
