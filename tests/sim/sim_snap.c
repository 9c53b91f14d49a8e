/* Taking, installing and booting from snapshots of the simulated state machine. */
#include "sim_snap.h"

#include <inttypes.h>
#include <string.h>

#include "sim_cluster.h"
#include "sim_hash.h"
#include "sim_mem.h"
#include "util/byteorder.h"

/* The simulated state machine's image: the applied index and its entry's term, the prefix hash
 * of the log it applied (the checkers compare it with the committed history), then padding, a
 * function of (index, term), so two nodes snapshotting the same point write the same bytes (a
 * stream can then resume from another leader's offset). */
#define IMAGE_HEADER 28u

struct sim_snap_build {
    struct craft_snapshot_meta meta;
    uint64_t prefix;
    uint64_t epoch;
    bool moot; /* a newer restore skipped past it: reported CRAFT_ESTALE, nothing written */
};

static size_t image_size(const struct sim_cluster *c, craft_index index, craft_term term)
{
    uint64_t pad = c->p.snapshot_pad_max == 0
                       ? 0
                       : sim_mix64(index * 31 + term) % ((uint64_t)c->p.snapshot_pad_max + 1);
    return IMAGE_HEADER + (size_t)pad;
}

static unsigned char *image_make(const struct sim_cluster *c, const struct craft_snapshot_meta *m,
                                 uint64_t prefix, size_t *len)
{
    *len = image_size(c, m->index, m->term);
    unsigned char *b = sim_xmalloc(*len);
    put_u64le(b, m->index);
    put_u64le(b + 8, m->term);
    put_u64le(b + 16, prefix);
    put_u32le(b + 24, (uint32_t)(*len - IMAGE_HEADER));
    uint64_t x = sim_mix64(m->index ^ (m->term << 40));
    for (size_t i = IMAGE_HEADER; i < *len; i++) {
        x = sim_mix64(x + i);
        b[i] = (unsigned char)x;
    }
    return b;
}

/* What a snapshot about to be taken claims, against the committed history and the node's log:
 * only committed entries, the term of the entry at its index, the configuration in force there. */
static bool check_meta(struct sim_cluster *c, struct sim_node *n, const struct craft_snapshot_meta *m)
{
    struct sim_checks *ck = &c->checks;
    if (m->index > ck->n_committed || m->index > n->n_log ||
        n->log[m->index - 1].prefix != ck->committed[m->index - 1].prefix) {
        sim_checks_fail(ck, n->id, "snapshot_uncommitted",
                        "n%" PRIu64 " takes a snapshot up to %" PRIu64
                        " beyond the committed history (%zu entries) or off it",
                        n->id, m->index, ck->n_committed);
        return false;
    }
    if (m->term != ck->committed[m->index - 1].term) {
        sim_checks_fail(ck, n->id, "snapshot_term",
                        "n%" PRIu64 " snapshot at %" PRIu64 " claims term %" PRIu64
                        ", the entry has %" PRIu64,
                        n->id, m->index, m->term, ck->committed[m->index - 1].term);
        return false;
    }
    if (m->membership.n_voters == 0) {
        /* Useless to a follower it is sent to and to a restart: neither would know its voters
         * (a node added to a running cluster does not know its bootstrap configuration). */
        sim_checks_fail(ck, n->id, "snapshot_config",
                        "n%" PRIu64 " takes a snapshot at %" PRIu64 " naming no voters", n->id,
                        m->index);
        return false;
    }
    return true;
}

void sim_snap_save(struct sim_cluster *c, struct sim_node *n, const struct craft_snapshot_meta *m)
{
    bool moot = m->index != n->applied && m->index <= n->apply_floor;
    if (m->index != n->applied && !moot) {
        sim_checks_fail(&c->checks, n->id, "snapshot_state_wrong",
                        "n%" PRIu64 " saves a snapshot up to %" PRIu64
                        " with its state machine at %" PRIu64,
                        n->id, m->index, n->applied);
        return;
    }
    if (!moot && !check_meta(c, n, m)) {
        return;
    }
    /* The point-in-time view is taken now; writing it takes a while, off the node's thread. A
     * moot one (a restore of a newer snapshot, its own file replaced, skipped past it) is
     * reported CRAFT_ESTALE as the runtime does, later, never from inside the node's call. */
    if (!moot) {
        sim_snap_now_on_save(c, n); /* a request may come while it is written */
    }
    struct sim_snap_build *b = sim_xmalloc(sizeof *b);
    b->meta = *m;
    b->prefix = moot ? 0 : n->log[m->index - 1].prefix;
    b->epoch = n->epoch;
    b->moot = moot;
    uint64_t delay = prng_range(&c->rng_disk, c->p.disk_us_min, 4 * (uint64_t)c->p.disk_us_max + 1);
    sim_heap_push(&c->heap, c->now_us + delay, SIM_EV_SNAP_BUILT, (uint32_t)n->id, 0, b);
}

void sim_snap_build_free(void *build)
{
    craft_free(build);
}

static int write_file(struct sim_cluster *c, struct sim_node *n, const struct sim_snap_build *b)
{
    size_t len;
    unsigned char *img = image_make(c, &b->meta, b->prefix, &len);
    struct snapshot_writer *w;
    int rv = snapshot_writer_begin(io_fs_sim_fs(n->fs), &b->meta, &w);
    if (rv == 0) {
        /* In uneven pieces, as a state machine serialising itself would. */
        size_t off = 0;
        while (rv == 0 && off < len) {
            size_t k = 1 + (size_t)prng_below(&c->rng_disk, 6000);
            k = k < len - off ? k : len - off;
            rv = snapshot_writer_write(w, img + off, k);
            off += k;
        }
        if (rv != 0) {
            snapshot_writer_abort(w);
        } else {
            rv = snapshot_writer_finish(w);
        }
    }
    craft_free(img);
    return rv;
}

/* Lets storage drop the WAL prefix the snapshot covers. Not in seeds with the bit-flip fault: it
 * targets a closed segment, which the drop could remove before a restart finds the damage. */
int sim_snap_drop_prefix(struct sim_cluster *c, struct sim_node *n,
                         const struct craft_snapshot_meta *m)
{
    if (c->p.bitflip) {
        return 0;
    }
    return storage_snapshot_taken(n->st, m);
}

void sim_snap_on_built(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_snap_build *b = ev->ptr;
    struct sim_node *n = &c->nodes[ev->node];
    if (!n->up || n->epoch != b->epoch) {
        craft_free(b);
        return;
    }
    if (b->moot) {
        sim_cluster_snapshot_saved(c, n, &b->meta, CRAFT_ESTALE);
        craft_free(b);
        return;
    }
    int rv = write_file(c, n, b);
    if (rv != 0) {
        /* A disk fault: the temporary file is gone or left for the next open; no harm done, the
         * node tries again at the next multiple. */
        sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_SNAPSHOT,
                      b->meta.index, (uint64_t)(int64_t)rv);
    } else {
        struct sim_disk_observer obs = sim_checks_observer(&c->checks);
        sim_disk_cover(&n->disk, b->meta.index, b->meta.term, &obs);
        sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_SNAPSHOT,
                      b->meta.index, 0);
        c->work.snapshots_taken++;
    }
    /* The node tells the core once its applied index reaches the snapshot, then asks storage
     * to drop the log it covers (sim_snap_drop_prefix) and compacts. */
    sim_cluster_snapshot_saved(c, n, &b->meta, rv);
    craft_free(b);
}

/* Reads the image of the snapshot (index, term) back from n's disk and checks that it holds the
 * committed prefix it claims. Returns 0, or the store's error (reported as a violation unless a
 * disk fault may explain it). */
static int check_image(struct sim_cluster *c, struct sim_node *n, const struct craft_snapshot_meta *m)
{
    struct snapshot_reader *r;
    struct craft_snapshot_meta got;
    int rv = snapshot_reader_open(io_fs_sim_fs(n->fs), m->index, m->term, &r, &got);
    if (rv != 0) {
        return rv;
    }
    unsigned char head[IMAGE_HEADER];
    size_t have = 0;
    uint64_t total = 0;
    for (;;) {
        unsigned char buf[4096];
        size_t k;
        rv = snapshot_reader_read(r, buf, sizeof buf, &k);
        if (rv != 0 || k == 0) {
            break;
        }
        for (size_t i = 0; i < k && have < IMAGE_HEADER; i++) {
            head[have++] = buf[i];
        }
        total += k;
    }
    snapshot_reader_close(r);
    if (rv != 0) {
        return rv;
    }
    struct sim_checks *ck = &c->checks;
    bool ok = have == IMAGE_HEADER && get_u64le(head) == m->index &&
              get_u64le(head + 8) == m->term && m->index <= ck->n_committed &&
              get_u64le(head + 16) == ck->committed[m->index - 1].prefix &&
              total == image_size(c, m->index, m->term);
    if (!ok) {
        sim_checks_fail(ck, n->id, "snapshot_state_wrong",
                        "n%" PRIu64 " holds a snapshot of (%" PRIu64 ", term %" PRIu64
                        ") whose state is not the committed prefix it claims (%" PRIu64 " bytes)",
                        n->id, m->index, m->term, total);
    }
    return 0;
}

/* Whether the snapshot file of meta can be opened (0) or is gone (CRAFT_ENOTFOUND). */
static int snapshot_reader_open_exists(struct sim_cluster *c, struct sim_node *n,
                                       const struct craft_snapshot_meta *meta)
{
    (void)c;
    struct snapshot_reader *r;
    struct craft_snapshot_meta got;
    int rv = snapshot_reader_open(io_fs_sim_fs(n->fs), meta->index, meta->term, &r, &got);
    if (rv == 0) {
        snapshot_reader_close(r);
    }
    return rv;
}

void sim_snap_restore(struct sim_cluster *c, struct sim_node *n,
                      const struct craft_snapshot_meta *meta)
{
    if (meta->index <= n->applied) {
        return; /* a newer one was restored already */
    }
    struct craft_snapshot_meta newest;
    bool found = false;
    if (snapshot_reader_open_exists(c, n, meta) == CRAFT_ENOTFOUND &&
        snapshot_latest(io_fs_sim_fs(n->fs), &newest, &found) == 0 && found &&
        newest.index > meta->index) {
        /* A newer snapshot arrived and replaced its file before this restore ran (its install
         * may even have been refused, its entries being committed here already): the newest
         * is restored instead, and the entries it covers, queued behind, are skipped. */
        meta = &newest;
        n->apply_floor = newest.index;
    }
    int rv = check_image(c, n, meta);
    if (rv != 0) {
        sim_checks_fail(&c->checks, n->id, "snapshot_unreadable",
                        "n%" PRIu64 " cannot read back the snapshot it received: %s", n->id,
                        craft_errname(rv));
        return;
    }
    if (meta->index > n->applied) {
        n->applied = meta->index; /* the state machine is now the snapshot's */
    }
    sim_kv_restore(c, n, meta->index);
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_INSTALL,
                  meta->index, 0);
    c->work.snapshots_installed++;
}

bool sim_snap_boot(struct sim_cluster *c, struct sim_node *n, const struct storage_recovered *rec,
                   struct craft_core_boot *boot)
{
    boot->applied = n->sm_durable_applied;
    if (!rec->have_snapshot) {
        if (n->disk.snap_index != 0) {
            sim_checks_fail(&c->checks, n->id, "snapshot_lost",
                            "n%" PRIu64 " restarts without the snapshot up to %" PRIu64
                            " that was durable",
                            n->id, n->disk.snap_index);
            return false;
        }
        return true;
    }
    const struct craft_snapshot_meta *m = &rec->snapshot;
    /* A newer one than the model knows is a write whose end failed (a directory sync) after its
     * rename: it may or may not have survived. Its state is checked below like any other. */
    bool newer = m->index > n->disk.snap_index;
    if (!newer && (m->index != n->disk.snap_index || m->term != n->disk.snap_term)) {
        sim_checks_fail(&c->checks, n->id, "snapshot_lost",
                        "n%" PRIu64 " restarts from the snapshot (%" PRIu64 ", term %" PRIu64
                        ") but the newest durable one is (%" PRIu64 ", term %" PRIu64 ")",
                        n->id, m->index, m->term, n->disk.snap_index, n->disk.snap_term);
        return false;
    }
    int rv = check_image(c, n, m);
    if (rv != 0 && sim_disk_faults_refusal_ok(c, n, rv)) {
        n->dead = true; /* a misdirected write damaged it; the checksums found it */
        sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_REFUSED,
                      (uint64_t)(int64_t)rv, 0);
        return false;
    }
    if (rv != 0) {
        sim_checks_fail(&c->checks, n->id, "snapshot_unreadable",
                        "n%" PRIu64 " cannot restore its state machine from snapshot %" PRIu64
                        ": %s",
                        n->id, m->index, craft_errname(rv));
        return false;
    }
    if (newer) {
        struct sim_disk_observer obs = sim_checks_observer(&c->checks);
        sim_disk_cover(&n->disk, m->index, m->term, &obs);
    }
    boot->snapshot = *m;
    if (boot->applied < m->index) {
        boot->applied = m->index; /* the state machine is restored from it */
    }
    return true;
}
