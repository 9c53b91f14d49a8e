/* The snapshot install figure: a leader's snapshot file streamed to a follower the way a node
 * streams it (raw file bytes, 256 KiB a message, each with a CRC-32C the receiver checks; the
 * receiver's offset is its acknowledgement), then checked and published by the follower's sink
 * and installed in the follower's core. Timed end to end, in process, on the real disk, beside
 * the disk's limit for the same bytes (bench_snapshot_limit.c) measured in the same run. */
#include "bench_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_clock.h"
#include "bench_cluster.h"
#include "bench_report.h"
#include "bench_snapshot_limit.h"
#include "bench_tmpdir.h"
#include "io/fs.h"
#include "storage/snapshot_store.h"
#include "storage/snapshot_stream.h"
#include "util/assert.h"
#include "util/crc32c.h"
#include "util/prng.h"

#define IMAGE_MIB 64u
#define IMAGE_MIB_QUICK 4u
#define MSG_BYTES (256u << 10) /* file bytes per message of the stream */
#define REPEATS 5u             /* odd, so the median is one of the runs */
#define REPEATS_QUICK 1u
#define NODES 3
#define LEADER 1
#define FOLLOWER 3
#define BACKLOG 1000u /* commands the cluster commits before its leader's snapshot */
#define SEED 0x5eed5eedull
#define ROOT_BYTES 64 /* "/tmp/craft-bench-snapshot.XXXXXX" */
#define PATH_BYTES (ROOT_BYTES + 32)

struct snap_setup {
    char root[ROOT_BYTES]; /* the scratch directory; removed at the end */
    char leader_dir[PATH_BYTES];
    struct io_fs *leader_fs; /* owned */
    struct craft_snapshot_meta meta;
    craft_term leader_term;
    uint64_t image_bytes;
    unsigned char *msg;     /* MSG_BYTES, owned: the stream's message buffer */
    unsigned char *pattern; /* MSG_BYTES of pseudo-random bytes, owned: what the limit writes */
};

/* One message of the stream: the file bytes at offset and their CRC-32C, as the leader's node
 * frames them. data is borrowed from the sender's buffer: in process, nothing is copied. */
struct snap_msg {
    uint64_t offset;
    const unsigned char *data;
    size_t len;
    uint32_t crc;
};

static void fill_random(struct prng *p, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
        uint64_t w = prng_next(p);
        memcpy(buf + i, &w, sizeof w);
    }
}

static bool same_membership(const struct craft_membership *a, const struct craft_membership *b)
{
    bool same = a->n_voters == b->n_voters && a->n_voters_old == b->n_voters_old &&
                a->n_learners == b->n_learners;
    for (unsigned i = 0; same && i < a->n_voters; i++) {
        same = a->voters[i] == b->voters[i];
    }
    for (unsigned i = 0; same && i < a->n_voters_old; i++) {
        same = a->voters_old[i] == b->voters_old[i];
    }
    for (unsigned i = 0; same && i < a->n_learners; i++) {
        same = a->learners[i] == b->learners[i];
    }
    return same;
}

static int settle(struct bench_cluster *bc)
{
    int rv;
    while ((rv = bench_cluster_deliver_round(bc)) > 0) {
    }
    return rv;
}

/* A snapshot meta as a leader makes it: three voters elect node 1 and commit BACKLOG commands,
 * and the leader describes its state machine at the index it applied. */
static int leader_meta(struct craft_snapshot_meta *meta, craft_term *term)
{
    struct craft_core_config cfg;
    craft_core_config_init(&cfg);
    cfg.seed = SEED;
    struct bench_cluster bc;
    int rv = bench_cluster_init(&bc, NODES, &cfg);
    if (rv != 0) {
        return rv;
    }
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    rv = bench_cluster_step(&bc, LEADER, &in);
    if (rv == 0) {
        rv = settle(&bc);
    }
    unsigned char cmd[64];
    memset(cmd, 0x5a, sizeof cmd);
    struct craft_buf buf = {cmd, sizeof cmd};
    for (unsigned i = 0; rv == 0 && i < BACKLOG; i++) {
        in = (struct craft_input){.type = CRAFT_IN_PROPOSE, .propose = {.cmds = &buf, .n = 1}};
        rv = bench_cluster_step(&bc, LEADER, &in);
        if (rv == 0 && i % 64 == 63) {
            rv = settle(&bc);
        }
    }
    rv = rv == 0 ? settle(&bc) : rv;
    const struct bench_node *leader = &bc.nodes[LEADER - 1];
    if (rv == 0 && (craft_core_leader(leader->core) != LEADER || leader->applied < BACKLOG)) {
        rv = CRAFT_EBUSY; /* the cluster did not elect or commit: nothing to snapshot */
    }
    if (rv == 0) {
        rv = craft_core_snapshot_meta(leader->core, leader->applied, meta);
    }
    struct craft_core_status st;
    craft_core_status(leader->core, &st);
    *term = st.term;
    bench_cluster_close(&bc);
    return rv;
}

/* The leader's snapshot: bytes of pseudo-random image through the snapshot writer. */
static int write_leader_snapshot(struct snap_setup *s)
{
    struct snapshot_writer *w; /* owned until finish or abort */
    int rv = snapshot_writer_begin(s->leader_fs, &s->meta, &w);
    if (rv != 0) {
        return rv;
    }
    struct prng p;
    prng_seed(&p, SEED);
    for (uint64_t done = 0; done < s->image_bytes && rv == 0; done += MSG_BYTES) {
        size_t n = s->image_bytes - done < MSG_BYTES ? (size_t)(s->image_bytes - done) : MSG_BYTES;
        fill_random(&p, s->msg, n);
        rv = snapshot_writer_write(w, s->msg, n);
    }
    if (rv != 0) {
        snapshot_writer_abort(w);
        return rv;
    }
    return snapshot_writer_finish(w);
}

/* Reads the file bytes at offset into buf (MSG_BYTES) and frames them: the leader's side. */
static int send_msg(struct snapshot_source *src, uint64_t offset, unsigned char *buf,
                    struct snap_msg *m)
{
    size_t n;
    int rv = snapshot_source_read(src, offset, buf, MSG_BYTES, &n);
    if (rv != 0) {
        return rv;
    }
    *m = (struct snap_msg){.offset = offset, .data = buf, .len = n, .crc = crc32c(0, buf, n)};
    return 0;
}

/* Checks a message and writes its bytes in order: the follower's side. */
static int receive_msg(struct snapshot_sink *sink, const struct snap_msg *m)
{
    if (crc32c(0, m->data, m->len) != m->crc) {
        return CRAFT_ECORRUPT; /* a node drops the message; nothing corrupts it here */
    }
    return snapshot_sink_write(sink, m->offset, m->data, m->len);
}

/* Streams the leader's snapshot into the follower's directory and publishes it there, as the two
 * nodes do; *got is the header the follower checked. */
static int stream(struct snap_setup *s, struct io_fs *follower_fs, struct craft_snapshot_meta *got)
{
    struct snapshot_source *src; /* owned until closed below */
    struct craft_snapshot_meta sent;
    uint64_t size;
    int rv = snapshot_source_open(s->leader_fs, s->meta.index, s->meta.term, &src, &sent, &size);
    if (rv != 0) {
        goto fail;
    }
    struct snapshot_sink *sink; /* owned until finish or abort */
    rv = snapshot_sink_begin(follower_fs, sent.index, sent.term, &sink);
    if (rv != 0) {
        goto fail_source;
    }
    /* The receiver's offset is what it acknowledges; the sender goes on from there. */
    for (uint64_t acked = 0; acked < size; acked = snapshot_sink_offset(sink)) {
        struct snap_msg m;
        rv = send_msg(src, acked, s->msg, &m);
        if (rv == 0) {
            CRAFT_ASSERT(m.len > 0);
            rv = receive_msg(sink, &m);
        }
        if (rv != 0) {
            snapshot_sink_abort(sink);
            goto fail_source;
        }
    }
    char errmsg[160];
    rv = snapshot_sink_finish(sink, got, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: snapshot install: %s\n", errmsg);
    }
fail_source:
    snapshot_source_close(src);
fail:
    return rv;
}

/* The install's effect in the follower's step: the log restarts after the snapshot, the commit
 * index is its index, the configuration is its own, and the leader gets an acknowledgement of
 * its index once the step is durable. */
static int check_installed(const struct snap_setup *s, struct craft_core *core,
                           const struct craft_output *out)
{
    const struct craft_snapshot_meta *m = &s->meta;
    bool acked = false;
    for (size_t i = 0; i < out->n_msgs_after_persist; i++) {
        const struct craft_msg *msg = &out->msgs_after_persist[i];
        acked |= msg->type == CRAFT_MSG_APPEND_RESP && msg->to == LEADER &&
                 msg->append_resp.success && msg->append_resp.index == m->index;
    }
    struct craft_core_status st;
    craft_core_status(core, &st);
    struct craft_membership now;
    craft_core_membership(core, &now);
    bool ok = out->snapshot.index == m->index && out->snapshot.term == m->term &&
              out->snapshot.drop_log && acked && st.commit == m->index && st.leader == LEADER &&
              st.term == s->leader_term && same_membership(&now, &m->membership);
    if (!ok) {
        fprintf(stderr, "craft-bench: snapshot install: the follower's step lacks its effect\n");
        return CRAFT_ECORRUPT;
    }
    return 0;
}

/* One install into a fresh follower directory and a fresh core (an empty node: it learns the
 * configuration from the snapshot), from the stream's start to the core's step. */
static int install_once(struct snap_setup *s, unsigned r, uint64_t *ns)
{
    char dir[PATH_BYTES];
    snprintf(dir, sizeof dir, "%s/follower-%u", s->root, r);
    struct io_fs *fs; /* owned until destroyed below */
    int rv = io_fs_posix_create(dir, &fs);
    if (rv != 0) {
        goto fail;
    }
    struct craft_core_config cfg;
    craft_core_config_init(&cfg);
    cfg.id = FOLLOWER;
    cfg.seed = SEED + r;
    struct craft_core *core; /* owned until destroyed below */
    rv = craft_core_create(&cfg, NULL, &core);
    if (rv != 0) {
        goto fail_fs;
    }
    uint64_t start = bench_now_ns();
    struct craft_snapshot_meta got;
    rv = stream(s, fs, &got);
    struct craft_output out;
    if (rv == 0) {
        struct craft_input in = {
            .type = CRAFT_IN_SNAPSHOT_INSTALLED,
            .snapshot_installed = {.from = LEADER, .term = s->leader_term, .meta = &got}};
        rv = craft_core_step(core, &in, &out);
    }
    *ns = bench_now_ns() - start;
    if (rv == 0 && (got.index != s->meta.index || got.term != s->meta.term ||
                    !same_membership(&got.membership, &s->meta.membership))) {
        fprintf(stderr, "craft-bench: snapshot install: received another snapshot's header\n");
        rv = CRAFT_ECORRUPT;
    }
    if (rv == 0) {
        rv = check_installed(s, core, &out);
    }
    craft_core_destroy(core);
fail_fs:
    io_fs_posix_destroy(fs);
fail:
    bench_remove_dir(dir);
    return rv;
}

/* The disk's limit for `bytes` in a fresh directory beside the follower's. */
static int limit_once(struct snap_setup *s, unsigned r, uint64_t bytes, uint64_t *ns)
{
    char dir[PATH_BYTES];
    snprintf(dir, sizeof dir, "%s/limit-%u", s->root, r);
    if (mkdir(dir, 0755) != 0) {
        perror("craft-bench: snapshot limit: mkdir");
        return CRAFT_EIO;
    }
    int rv = bench_snapshot_limit(dir, bytes, s->pattern, MSG_BYTES, ns) == 0 ? 0 : CRAFT_EIO;
    bench_remove_dir(dir);
    return rv;
}

static void teardown(struct snap_setup *s)
{
    if (s->leader_fs != NULL) {
        io_fs_posix_destroy(s->leader_fs);
    }
    if (s->leader_dir[0] != '\0') {
        bench_remove_dir(s->leader_dir);
    }
    if (s->root[0] != '\0') {
        bench_remove_dir(s->root);
    }
    free(s->pattern);
    free(s->msg);
}

/* Everything before the timed part: buffers, the scratch directory, the leader's snapshot. */
static int setup(struct snap_setup *s, bool quick)
{
    s->image_bytes = (uint64_t)(quick ? IMAGE_MIB_QUICK : IMAGE_MIB) << 20;
    s->msg = malloc(MSG_BYTES);
    s->pattern = malloc(MSG_BYTES);
    if (s->msg == NULL || s->pattern == NULL) {
        return CRAFT_ENOMEM;
    }
    struct prng p;
    prng_seed(&p, SEED + 1);
    fill_random(&p, s->pattern, MSG_BYTES);
    if (bench_make_dir("snapshot", s->root, sizeof s->root) != 0) {
        s->root[0] = '\0';
        return CRAFT_EIO;
    }
    snprintf(s->leader_dir, sizeof s->leader_dir, "%s/leader", s->root);
    int rv = io_fs_posix_create(s->leader_dir, &s->leader_fs);
    if (rv != 0) {
        s->leader_fs = NULL;
        return rv;
    }
    rv = leader_meta(&s->meta, &s->leader_term);
    if (rv == 0) {
        rv = write_leader_snapshot(s);
    }
    return rv;
}

static int compare_u64(const void *a, const void *b)
{
    const uint64_t *x = a;
    const uint64_t *y = b;
    return *x < *y ? -1 : *x > *y;
}

/* The snapshot's file size: what is streamed, and what the limit writes. */
static int file_bytes(const struct snap_setup *s, uint64_t *size)
{
    struct snapshot_source *src; /* owned until closed below */
    struct craft_snapshot_meta m;
    int rv = snapshot_source_open(s->leader_fs, s->meta.index, s->meta.term, &src, &m, size);
    if (rv == 0) {
        snapshot_source_close(src);
    }
    return rv;
}

int bench_snapshot_run(bool quick)
{
    struct snap_setup s;
    memset(&s, 0, sizeof s);
    unsigned repeats = quick ? REPEATS_QUICK : REPEATS;
    uint64_t install_ns[REPEATS];
    uint64_t limit_ns[REPEATS];
    uint64_t size = 0;
    int rv = setup(&s, quick);
    if (rv == 0) {
        rv = file_bytes(&s, &size);
    }
    /* Alternated, so a slow moment of the disk does not land on one side only. */
    for (unsigned r = 0; r < repeats && rv == 0; r++) {
        rv = install_once(&s, r, &install_ns[r]);
        if (rv == 0) {
            rv = limit_once(&s, r, size, &limit_ns[r]);
        }
    }
    teardown(&s);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: snapshot install: %s\n", craft_strerror(rv));
        return 1;
    }
    qsort(install_ns, repeats, sizeof install_ns[0], compare_u64);
    qsort(limit_ns, repeats, sizeof limit_ns[0], compare_u64);
    double install = (double)size * 1e3 / (double)install_ns[repeats / 2]; /* 10^6 B/s */
    double limit = (double)size * 1e3 / (double)limit_ns[repeats / 2];
    bench_report_value("core.snapshot_install.mb_per_s", install, "MB/s");
    bench_report_value("core.snapshot_install.limit_mb_per_s", limit, "MB/s");
    bench_report_ratio("core.snapshot_install.ratio", install / limit);
    bench_report_value("core.snapshot_install.file_mb", (double)size / 1e6, "MB");
    return 0;
}
