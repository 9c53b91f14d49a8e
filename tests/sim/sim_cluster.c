/* The cluster's life cycle and event loop: ticks on skewed clocks, deliveries, disk completions,
 * crashes and restarts, client proposals, fault changes. */
#include "sim_cluster.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node/node.h"
#include "sim_compact.h"
#include "sim_hash.h"
#include "sim_mem.h"
#include "sim_propose.h"

static uint64_t sub_seed(uint64_t seed, uint64_t what)
{
    return sim_hash_combine(sim_mix64(seed), what);
}

static void set_disk_faults(struct sim_cluster *c, struct sim_node *n, uint32_t fsync_eio_ppm)
{
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = c->p.torn_writes ? IO_FS_SIM_CRASH_RANDOM : IO_FS_SIM_CRASH_LOSE_ALL;
    faults.fsync_eio_ppm = fsync_eio_ppm;
    sim_disk_faults_knobs(&c->p, &faults, !c->healed);
    io_fs_sim_set_faults(n->fs, &faults);
}

static void restart_later(struct sim_cluster *c, struct sim_node *n)
{
    uint64_t delay = prng_range(&c->rng_fault, c->p.downtime_us_min + 1, c->p.downtime_us_max + 2);
    sim_heap_push(&c->heap, c->now_us + delay, SIM_EV_RESTART, (uint32_t)n->id, 0, NULL);
}

/* Everything reported durable must come back, except what a write that was pending at the
 * crash removed (it may have reached the disk): below the crash floor the model and the
 * recovered log must agree entry for entry. Entries the storage gave back equal at an earlier
 * restart (disk.n_verified) are compared by term only, so a restart costs the new entries'
 * bytes, not the whole log's (closed WAL segments are never rewritten; damage there is the
 * bit-flip fault's business, caught by its checksums). */
static bool check_survival(struct sim_cluster *c, struct sim_node *n,
                           const struct storage_recovered *rec)
{
    size_t must = n->disk.n_log;
    if (n->crash_floor != 0 && n->crash_floor - 1 < must) {
        must = (size_t)(n->crash_floor - 1);
    }
    /* What the snapshot covers is its business (sim_snap_boot); the log resumes after it. */
    size_t base = rec->have_snapshot ? (size_t)rec->snapshot.index : 0;
    for (size_t i = base; i < must; i++) {
        const struct sim_disk_ent *want = &n->disk.log[i];
        size_t k = i - base;
        if (k >= rec->n_entries || rec->entries[k].term != want->term ||
            (i >= n->disk.n_verified &&
             sim_hash_bytes(rec->entries[k].data.base, rec->entries[k].data.len) !=
                 want->data_hash)) {
            sim_checks_fail(&c->checks, n->id, "storage_lost_durable",
                            "n%" PRIu64 " recovered %zu entries after index %zu, but entry %zu "
                            "(term %" PRIu64 ") was reported durable and is %s",
                            n->id, rec->n_entries, base, i + 1, want->term,
                            k >= rec->n_entries ? "missing" : "different");
            return false;
        }
    }
    return true;
}

/* Opens the node's real storage and makes the model hold what it recovered. Returns false if the
 * node cannot start (a violation, or a damaged node that now stays down). */
static bool open_storage(struct sim_cluster *c, struct sim_node *n, struct craft_core_boot *boot)
{
    struct storage_config scfg;
    storage_config_init(&scfg);
    scfg.node = n->id;
    scfg.cluster = SIM_CLUSTER_ID;
    scfg.wal.segment_bytes =
        c->p.wal_segment_bytes != 0 ? c->p.wal_segment_bytes : SIM_WAL_SEGMENT_BYTES;
    scfg.wal.inline_bytes_max = c->p.wal_inline_bytes_max;
    struct storage_recovered rec;
    char err[256] = "";
    int rv = storage_open(io_fs_sim_fs(n->fs), &scfg, &n->st, &rec, err, sizeof err);
    if (rv != 0) {
        n->st = NULL;
        if ((rv == CRAFT_ECORRUPT && n->damaged) || sim_disk_faults_refusal_ok(c, n, rv)) {
            n->dead = true; /* the damage was found: the node never votes or acks again */
            sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id,
                          SIM_STORAGE_REFUSED, (uint64_t)(int64_t)rv, 0);
            return false;
        }
        if ((rv == CRAFT_EIO || rv == CRAFT_ENOSPC) &&
            (c->p.fsync_eio_ppm > 0 || sim_disk_faults_io_errors(&c->p)) && !c->healed) {
            /* A sync failed during recovery. As after any failed sync, the page cache cannot be
             * trusted: the node stops and comes back only after the machine has lost it (our
             * operating rule, docs/ARCHITECTURE.md), then tries again. */
            sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id,
                          SIM_STORAGE_FAIL_STOP, (uint64_t)(int64_t)rv, 0);
            if (io_fs_sim_crash(n->fs) != 0) {
                CRAFT_ASSERT(0); /* out of memory in a test tool */
            }
            restart_later(c, n);
            return false;
        }
        sim_checks_fail(&c->checks, n->id, "storage_open",
                        "n%" PRIu64 " storage_open failed after a plain crash: %s: %s", n->id,
                        craft_errname(rv), err);
        return false;
    }
    if (n->damaged) {
        sim_checks_fail(&c->checks, n->id, "storage_damage_undetected",
                        "n%" PRIu64 " opened its storage although a bit was flipped in a closed "
                        "WAL segment",
                        n->id);
        storage_close(n->st);
        n->st = NULL;
        return false;
    }
    memset(boot, 0, sizeof *boot);
    if (!sim_snap_boot(c, n, &rec, boot) || !check_survival(c, n, &rec)) {
        storage_recovered_release(n->st);
        storage_close(n->st);
        n->st = NULL;
        return false;
    }
    sim_disk_faults_opened(c, n);
    struct sim_disk_observer obs = sim_checks_observer(&c->checks);
    sim_disk_adopt(&n->disk, &rec.hard_state, boot->snapshot.index, rec.entries, rec.n_entries,
                   &obs);
    n->crash_floor = 0;
    boot->hard_state = rec.hard_state;
    boot->entries = rec.entries;
    boot->n_entries = rec.n_entries;
    return true;
}

static bool start_node(struct sim_cluster *c, struct sim_node *n)
{
    craft_id voters[SIM_NODES_MAX];
    unsigned n_voters = c->p.n_voters_start != 0 ? c->p.n_voters_start : c->p.n_nodes;
    for (unsigned i = 0; i < n_voters; i++) {
        voters[i] = i + 1;
    }
    struct craft_core_config cfg;
    craft_core_config_init(&cfg);
    cfg.id = n->id;
    /* Nodes past n_voters_start wait to be added (sim_member.c). */
    cfg.voters = n->id <= n_voters ? voters : NULL;
    cfg.n_voters = n->id <= n_voters ? n_voters : 0;
    cfg.seed = sub_seed(c->p.seed, 1000 + n->id * 1000 + n->n_lives);
    cfg.election_timeout_ms_min = SIM_ELECTION_TIMEOUT_MS_MIN;
    cfg.election_timeout_ms_max = SIM_ELECTION_TIMEOUT_MS_MAX;
    cfg.heartbeat_interval_ms = SIM_HEARTBEAT_MS;
    cfg.pre_vote = c->p.pre_vote;
    cfg.check_quorum = c->p.check_quorum;
    cfg.debug_poison_payloads = true; /* a payload read past its ticket is garbage */
    cfg.log_slab_bytes = c->p.log_slab_bytes;
    if (c->p.read_lease) {
        /* Two clocks may drift apart by twice the skew bound; the lease leaves room for that. */
        cfg.lease_reads = true;
        cfg.clock_drift_ppm = 2 * c->p.clock_skew_ppm + 1000;
    }
    if (c->p.append_entries_max != 0) {
        cfg.append_entries_max = c->p.append_entries_max;
    }
    if (c->p.inflight_msgs_max != 0) {
        cfg.inflight_msgs_max = c->p.inflight_msgs_max;
    }
    if (c->p.uncommitted_bytes_max != 0) {
        cfg.uncommitted_bytes_max = c->p.uncommitted_bytes_max;
    }
    if (c->p.append_bytes_max != 0) {
        cfg.append_bytes_max = c->p.append_bytes_max;
    }
    struct craft_core_boot boot;
    if (!open_storage(c, n, &boot)) {
        return false;
    }
    struct node_config ncfg;
    node_config_init(&ncfg);
    ncfg.core = cfg;
    ncfg.snapshot_every = c->p.snapshot_every;
    ncfg.snapshots = true; /* the environment saves and streams them (sim_snap, sim_snap_stream) */
    ncfg.log_trailing = c->p.node_compacts ? c->p.node_log_trailing : NODE_NEVER_COMPACT;
    ncfg.fs = io_fs_sim_fs(n->fs);
    ncfg.apply_window = c->p.apply_window;
    ncfg.chunk_bytes = c->p.snap_chunk_bytes != 0 ? c->p.snap_chunk_bytes : 4096;
    ncfg.window_chunks = c->p.snap_window != 0 ? c->p.snap_window : 4;
    ncfg.resend_ms = c->p.snap_resend_us != 0 ? (c->p.snap_resend_us + 999) / 1000 : 30;
    ncfg.stall_ms = c->p.snap_stall_us != 0 ? c->p.snap_stall_us / 1000 : 1000;
    struct node_env env = sim_node_env(n);
    n->cluster = c;
    n->log_seq = 0;
    int rv = node_create(&ncfg, &boot, &env, &n->node);
    storage_recovered_release(n->st);
    if (rv != 0) {
        n->node = NULL;
        n->core = NULL;
        sim_checks_fail(&c->checks, n->id, "restart_failed",
                        "craft_core_create for n%" PRIu64 " failed: %s (durable last index %zu, "
                        "hard state term %" PRIu64 " vote %" PRIu64 " commit %" PRIu64 ")",
                        n->id, craft_errname(rv), n->disk.n_log, n->disk.hs.term, n->disk.hs.vote,
                        n->disk.hs.commit);
        return false;
    }
    n->core = node_core(n->node);
    n->core_emitted = boot.applied > boot.snapshot.index ? boot.applied : boot.snapshot.index;
    n->up = true;
    n->epoch++;
    n->n_lives++;
    sim_checks_restart(&c->checks, n);
    n->applied = boot.applied; /* the next apply must follow it */
    n->applied_told = n->applied;
    sim_kv_boot(c, n);
    /* The first tick lands anywhere within one tick period. */
    uint64_t first = 1 + prng_below(&c->rng_fault, n->tick_global_us);
    sim_heap_push(&c->heap, c->now_us + first, SIM_EV_TICK, (uint32_t)n->id, n->epoch,
                  (void *)(uintptr_t)n->timer_gen);
    sim_snap_now_after_restart(c, n);
    return true;
}

struct sim_cluster *sim_cluster_create(const struct sim_params *p, bool show, FILE *show_out)
{
    CRAFT_ASSERT(p->n_nodes >= 1 && p->n_nodes <= SIM_NODES_MAX);
    struct sim_cluster *c = sim_xcalloc(1, sizeof(*c));
    c->p = *p;
    sim_heap_init(&c->heap);
    sim_network_init(&c->net, p->n_nodes, sub_seed(p->seed, 1), &p->net);
    sim_trace_init(&c->trace, show, show_out);
    prng_seed(&c->rng_disk, sub_seed(p->seed, 2));
    prng_seed(&c->rng_fault, sub_seed(p->seed, 3));
    prng_seed(&c->rng_sm, sub_seed(p->seed, 9));
    sim_disk_faults_init(&c->dfaults, sub_seed(p->seed, 6));
    prng_seed(&c->rng_feed, sub_seed(p->seed, 8));
    prng_seed(&c->rng_transfer, sub_seed(p->seed, 11));
    prng_seed(&c->rng_reads, sub_seed(p->seed, 12));
    sim_snap_now_init(c);
    prng_seed(&c->snap_now.rng, sub_seed(p->seed, 13));
    struct prng rng_clock;
    prng_seed(&rng_clock, sub_seed(p->seed, 4));
    for (unsigned i = 1; i <= p->n_nodes; i++) {
        uint64_t offset = prng_below(&rng_clock, 1000000000ULL);
        uint64_t skew = prng_below(&rng_clock, 2 * (uint64_t)p->clock_skew_ppm + 1);
        uint64_t rate = 1000000 - p->clock_skew_ppm + skew;
        sim_node_init(&c->nodes[i], i, offset, rate);
        if (io_fs_sim_create(sub_seed(p->seed, 100 + i), &c->nodes[i].fs) != 0) {
            CRAFT_ASSERT(0); /* out of memory in a test tool */
        }
    }
    sim_checks_init(&c->checks, c->nodes, p->n_nodes);
    sim_kv_init(c);
    c->checks.rule_checks = !p->no_rule_checks;
    sim_clients_init(&c->clients, p->n_clients, p->n_nodes, sub_seed(p->seed, 5), p->client_us_min,
                     p->client_us_max, p->cmd_pad_max);
    c->clients_on = p->n_clients > 0;
    sim_oldmsg_init(&c->oldmsg, sub_seed(p->seed, 10));
    sim_pause_init(&c->pause, sub_seed(p->seed, 7));
    sim_elect_init(&c->elect);
    prng_seed(&c->member.rng, sub_seed(p->seed, 11));
    for (unsigned i = 1; i <= p->n_nodes; i++) {
        if (!start_node(c, &c->nodes[i])) {
            fprintf(stderr, "craft-sim: %s\n", c->checks.detail);
            sim_cluster_destroy(c);
            return NULL;
        }
    }
    /* Disk faults begin once every node has started on a clean disk. */
    for (unsigned i = 1; i <= p->n_nodes; i++) {
        set_disk_faults(c, &c->nodes[i], p->fsync_eio_ppm);
    }
    for (unsigned i = 0; i < p->n_clients; i++) {
        uint64_t at = prng_range(&c->clients.rng, p->client_us_min, p->client_us_max);
        sim_heap_push(&c->heap, at, SIM_EV_CLIENT, 0, i, NULL);
    }
    return c;
}

void sim_cluster_destroy(struct sim_cluster *c)
{
    if (c == NULL) {
        return;
    }
    struct sim_event ev;
    while (sim_heap_pop(&c->heap, &ev)) {
        if (ev.kind == SIM_EV_DELIVER) {
            sim_net_msg_free(ev.ptr);
        } else if (ev.kind == SIM_EV_FETCH) {
            sim_fetch_free(ev.ptr);
        } else if (ev.kind == SIM_EV_SNAP_BUILT) {
            sim_snap_build_free(ev.ptr);
        } else if (ev.kind == SIM_EV_SNAP_MSG) {
            craft_free(ev.ptr);
        }
    }
    sim_heap_close(&c->heap);
    sim_oldmsg_close(&c->oldmsg);
    sim_elect_close(&c->elect);
    sim_kv_close(c); /* the nodes' stores too: before sim_node_close forgets them */
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        sim_inbox_close(&c->inbox[i]);
        sim_apply_crash(&c->nodes[i]);
        sim_node_close(&c->nodes[i]);
    }
    sim_checks_close(&c->checks);
    craft_free(c);
}

bool sim_cluster_failed(const struct sim_cluster *c)
{
    return sim_checks_failed(&c->checks);
}

craft_id sim_cluster_leader(const struct sim_cluster *c)
{
    craft_id best = CRAFT_ID_NONE;
    craft_term term = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (n->up && n->role == CRAFT_LEADER && n->term >= term) {
            best = i;
            term = n->term;
        }
    }
    return best;
}

void sim_cluster_schedule(struct sim_cluster *c, uint64_t delay_us, uint32_t kind, craft_id node,
                          uint64_t arg)
{
    sim_heap_push(&c->heap, c->now_us + delay_us, kind, (uint32_t)node, arg, NULL);
}

static int storage_queue(struct sim_node *n, const struct sim_disk_write *w)
{
    struct craft_persist o;
    memset(&o, 0, sizeof o);
    o.hard_state_changed = w->hs_changed;
    o.hard_state = w->hs;
    o.snapshot = w->snapshot;
    o.truncate_from = w->truncate_from;
    o.entries = w->entries;
    o.n_entries = w->n_entries;
    return storage_persist(n->st, &o);
}

/* The log writer reads payloads from the node's memory when it writes them (zero-copy); the node
 * must keep them unchanged until the write is reported (craft_core_payload_ticket). */
static void sim_cluster_check_payloads(struct sim_cluster *c, struct sim_node *n)
{
    if (n->disk.n_payloads_changed > 0) {
        sim_checks_fail(&c->checks, n->id, "payload_reused",
                        "n%" PRIu64 ": %" PRIu64 " pending write(s) found their payloads changed "
                        "before they were written",
                        n->id, n->disk.n_payloads_changed);
        n->disk.n_payloads_changed = 0;
    }
}

int sim_cluster_storage_take(struct sim_node *n, const struct sim_disk_write *w, bool sync)
{
    int rv = storage_queue(n, w);
    if (rv == 0) {
        rv = sync ? storage_sync(n->st) : storage_write(n->st);
    }
    return rv;
}

/* w may have reached the disk without being reported: what it removes need not survive. */
static void lower_crash_floor(struct sim_node *n, const struct sim_disk_write *w)
{
    craft_index from = w->truncate_from;
    if (w->snapshot.index != 0 && w->snapshot.drop_log &&
        (from == 0 || w->snapshot.index + 1 < from)) {
        from = w->snapshot.index + 1;
    }
    if (from != 0 && (n->crash_floor == 0 || from < n->crash_floor)) {
        n->crash_floor = from;
    }
}

/* A crash may come while writes are on their way: a random prefix of them reaches the disk, the
 * next one is written but not synced (the simulated page cache then tears it). None of them was
 * reported, so the model keeps none; the crash floor remembers what they may have truncated. */
static void crash_pending(struct sim_cluster *c, struct sim_node *n)
{
    uint64_t whole = prng_below(&c->rng_disk, n->disk.n_pending + 1);
    bool torn = prng_chance(&c->rng_disk, 500000);
    uint64_t reached = 0;
    int rv = 0;
    for (struct sim_disk_write *w = n->disk.head; w != NULL && rv == 0; w = w->next) {
        if (reached == whole && !torn) {
            break;
        }
        lower_crash_floor(n, w);
        rv = sim_cluster_storage_take(n, w, reached < whole);
        if (reached == whole) {
            break;
        }
        reached++;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_TORN, reached,
                  torn);
}

struct segment_pick {
    uint64_t seqs[64];
    unsigned n;
};

static int note_segment(void *arg, const char *name)
{
    struct segment_pick *sp = arg;
    unsigned long long seq;
    char want[64];
    if (sp->n < 64 && sscanf(name, "wal-%16llx", &seq) == 1) {
        /* The exact name only: a segment still being created (`wal-<seq>.seg.tmp`) is none. */
        snprintf(want, sizeof want, "wal-%016llx.seg", seq);
        if (strcmp(name, want) == 0) {
            sp->seqs[sp->n++] = seq;
        }
    }
    return 0;
}

/* Flips one bit of a closed WAL segment (any but the newest) on the node's disk. */
static void flip_closed_segment(struct sim_cluster *c, struct sim_node *n)
{
    struct segment_pick sp = {.n = 0};
    if (io_fs_list(io_fs_sim_fs(n->fs), note_segment, &sp) != 0 || sp.n < 2) {
        return;
    }
    uint64_t newest = 0;
    for (unsigned i = 0; i < sp.n; i++) {
        newest = sp.seqs[i] > newest ? sp.seqs[i] : newest;
    }
    uint64_t victim;
    do {
        victim = sp.seqs[prng_below(&c->rng_fault, sp.n)];
    } while (victim == newest);
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)victim);
    uint64_t size = 0;
    if (io_fs_sim_file_size(n->fs, name, IO_FS_SIM_DURABLE, &size) != 0 || size == 0) {
        return;
    }
    uint64_t bit = prng_below(&c->rng_fault, size * 8);
    if (io_fs_sim_flip_bit(n->fs, name, bit) != 0) {
        return;
    }
    n->damaged = true;
    c->bitflip_done = true;
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_BITFLIP, victim,
                  bit);
}

void sim_cluster_fail_stop(struct sim_cluster *c, struct sim_node *n, int rv)
{
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_FAIL_STOP,
                  (uint64_t)(int64_t)rv, 0);
    if (rv != CRAFT_EIO && rv != CRAFT_ENOSPC) {
        sim_checks_fail(&c->checks, n->id, "storage_write",
                        "n%" PRIu64 " storage refused a write: %s: %s", n->id, craft_errname(rv),
                        storage_errmsg(n->st));
        return;
    }
    sim_disk_faults_fail_stop(c, n);
    sim_cluster_crash(c, n->id);
    restart_later(c, n);
}

void sim_cluster_crash(struct sim_cluster *c, craft_id id)
{
    struct sim_node *n = &c->nodes[id];
    if (!n->up) {
        return;
    }
    uint64_t lost = n->disk.n_pending;
    /* What the writes in flight reach the disk with is what the node's memory held (they write
     * from it, zero-copy): taken now, before that memory goes with the node. */
    sim_disk_own_pending(&n->disk);
    sim_cluster_check_payloads(c, n);
    sim_kv_crash(c, n);
    /* The node goes first (its stream in owns a sink on the file system about to crash). */
    sim_snap_now_destroying(c, n);
    node_destroy(n->node);
    sim_snap_now_destroyed(c, n);
    sim_apply_crash(n);
    n->node = NULL;
    n->core = NULL;
    sim_outcomes_crash(n);
    enum sim_crash_kind kind = sim_disk_faults_crash_kind(c, n);
    if (kind == SIM_CRASH_MIDCALL) {
        sim_disk_faults_midcall(c, n);
    } else if (c->p.torn_writes && n->disk.n_pending > 0) {
        crash_pending(c, n);
    }
    if (kind == SIM_CRASH_KILL && storage_failed(n->st)) {
        /* A write or sync just failed: after a failed fdatasync the page cache shows data that
         * will never land, so the node may restart only after the machine lost it. */
        kind = SIM_CRASH_POWER;
    }
    if (kind == SIM_CRASH_KILL) {
        /* kill -9: the handles die, the page cache stays (and may land later). */
        io_fs_sim_kill(n->fs);
        sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)id, SIM_STORAGE_KILL, lost,
                      0);
    } else if (io_fs_sim_crash(n->fs) != 0) {
        /* Power goes: the page cache is lost first, then the process's handles go with it. */
        CRAFT_ASSERT(0); /* out of memory in a test tool */
    }
    storage_close(n->st);
    n->st = NULL;
    if (c->p.bitflip && !c->bitflip_done && c->faults_on) {
        flip_closed_segment(c, n);
    }
    sim_disk_faults_rot(c, n);
    struct sim_disk_observer obs = sim_checks_observer(&c->checks);
    struct sim_disk_crash_report rep;
    sim_disk_crash(&n->disk, &c->rng_disk, false, &obs, &rep);
    n->up = false;
    n->epoch++;
    sim_node_forget(n);
    sim_trace_add(&c->trace, c->now_us, SIM_TR_CRASH, (uint32_t)id, lost, 0, 0);
}

void sim_cluster_restart(struct sim_cluster *c, craft_id id)
{
    struct sim_node *n = &c->nodes[id];
    if (n->up || n->dead) {
        return;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_RESTART, (uint32_t)id, n->disk.n_log,
                  n->disk.hs.term, n->disk.hs.commit);
    start_node(c, n);
}

void sim_cluster_heal(struct sim_cluster *c)
{
    c->faults_on = false;
    c->healed = true;
    c->heal_us = c->now_us;
    c->net.p.loss_ppm = 0;
    c->net.p.dup_ppm = 0;
    c->net.p.tail_ppm = 0;
    sim_network_all_up(&c->net);
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        set_disk_faults(c, &c->nodes[i], 0);
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_HEAL, 0, 0, 0, 0);
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        sim_cluster_restart(c, i);
    }
}

void sim_cluster_check_liveness(struct sim_cluster *c)
{
    if (!c->healed || c->live_ok) {
        return;
    }
    unsigned k = 0;
    uint32_t applied = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        bool done = c->nodes[i].up && c->nodes[i].applied_new;
        k += done;
        applied |= (uint32_t)done << i;
    }
    /* A majority of each half of the configuration that matters (the leader's). */
    struct sim_cfg_mask cfg;
    (void)sim_member_config(c, &cfg);
    if (sim_member_quorum(&cfg, applied)) {
        c->live_ok = true;
        c->live_us = c->now_us;
        return;
    }
    if (c->now_us - c->heal_us > (uint64_t)SIM_LIVENESS_BOUND_MS * 1000) {
        sim_checks_fail(&c->checks, 0, "liveness",
                        "no command proposed after the heal was committed on a majority within "
                        "%d ms of simulated time (%u of %u nodes applied one)",
                        SIM_LIVENESS_BOUND_MS, k, c->p.n_nodes);
    }
}

void sim_cluster_rules_view(const struct sim_node *n, struct sim_rules_view *v)
{
    craft_core_status(n->core, &v->st);
    v->n_prog = craft_core_progress(n->core, v->prog, SIM_NODES_MAX);
    (void)craft_core_membership(n->core, &v->cfg);
}

/* Requests the simulator's own modules make (reads, changes, transfers) carry cookies of their
 * own kind, so the outcome hook tells them from proposals' (sim_outcomes.c). */
static int hand_to_node(struct sim_node *n, const struct craft_input *in)
{
    switch (in->type) {
    case CRAFT_IN_TICK:
        node_on_timer(n->node); /* its clock reads the same local time */
        return 0;
    case CRAFT_IN_MSGS:
        node_on_msgs(n->node, in->msgs.msgs, in->msgs.n);
        return 0;
    case CRAFT_IN_PROPOSE:
        return node_propose(n->node, in->propose.cookies, in->propose.cmds, in->propose.n);
    case CRAFT_IN_READ:
        return node_read(n->node, in->read.cookie, (int)in->read.mode, in->read.more);
    case CRAFT_IN_CHANGE:
        return node_change(n->node, SIM_COOKIE_CHANGE, in->change.target);
    case CRAFT_IN_TRANSFER:
        return node_transfer(n->node, SIM_COOKIE_TRANSFER, in->transfer.target);
    default:
        return node_input(n->node, in);
    }
}

int sim_cluster_feed(struct sim_cluster *c, struct sim_node *n, const struct craft_input *in,
                     struct sim_feed_result *res)
{
    CRAFT_ASSERT(n->up);
    craft_index applied_before = n->applied;
    c->step_res.proposed_term = 0;
    c->step_res.proposed_index = 0;
    n->applied_in_call = false;
    int rv = hand_to_node(n, in);
    if (res != NULL) {
        *res = c->step_res;
    }
    if (in->type == CRAFT_IN_READ && !in->read.more && rv == 0 && n->up) {
        /* The last read of a batch: the round that confirms the batch starts now, not at
         * whatever input comes next (rule read_round_held). */
        struct craft_core_status st;
        craft_core_status(node_core(n->node), &st);
        if (st.read_round_due) {
            sim_checks_fail(&c->checks, n->id, "read_round_held",
                            "reads wait for a heartbeat round the leader could start, after a "
                            "read that promised no more (term %llu)",
                            (unsigned long long)st.term);
        }
    }
    sim_cluster_after_call(c, n, applied_before, in->type);
    return rv;
}

void sim_cluster_snapshot_saved(struct sim_cluster *c, struct sim_node *n,
                                const struct craft_snapshot_meta *m, int rv)
{
    craft_index applied_before = n->applied;
    n->applied_in_call = false;
    node_on_snapshot_saved(n->node, m, rv);
    sim_cluster_after_call(c, n, applied_before, CRAFT_IN_SNAPSHOT_TAKEN);
}

void sim_cluster_after_call(struct sim_cluster *c, struct sim_node *n, craft_index applied_before,
                            uint32_t in_type)
{
    if (n->up && n->fail_pending != 0) {
        int rv = n->fail_pending;
        n->fail_pending = 0;
        sim_cluster_fail_stop(c, n, rv);
        return;
    }
    /* Now and then a compaction request comes before the state machine has reported what it
     * applied (a snapshot racing the apply loop): the core must cap it at the applied index it
     * was told (compact_bounds). A function of the state, so no generator moves. */
    if (n->applied_in_call && n->up && c->p.compact_every != 0 && (n->applied & 3) == 0 &&
        in_type != CRAFT_IN_COMPACT) {
        sim_compact_after_apply(c, n);
    }
    /* Tell the node what the state machine applied; repeat while that yields more to apply. */
    for (int guard = 0; n->up && n->applied > n->applied_told && guard < 16; guard++) {
        n->applied_told = n->applied;
        node_on_applied(n->node, n->applied);
    }
    if (n->up && n->applied > applied_before && in_type != CRAFT_IN_COMPACT) {
        sim_compact_after_apply(c, n);
    }
}

int sim_cluster_propose(struct sim_cluster *c, craft_id id, const void *data, size_t len,
                        struct sim_feed_result *res)
{
    struct sim_node *n = &c->nodes[id];
    if (res != NULL) {
        res->proposed_index = 0;
        res->proposed_term = 0;
    }
    if (!n->up) {
        return CRAFT_ENOTLEADER;
    }
    struct craft_buf buf = {data, len};
    uint64_t cookie;
    sim_outcomes_propose(c, n, &buf, 1, &cookie);
    struct craft_input in = {.type = CRAFT_IN_PROPOSE};
    in.propose.cmds = &buf;
    in.propose.n = 1;
    in.propose.cookies = &cookie;
    return sim_cluster_feed(c, n, &in, res);
}

/* The node's timer fired (the arming still in force): node_on_timer, which arms it again. */
static void on_tick(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_node *n = &c->nodes[ev->node];
    if (!n->up || ev->arg != n->epoch || (uint64_t)(uintptr_t)ev->ptr != n->timer_gen) {
        return;
    }
    struct craft_input in = {.type = CRAFT_IN_TICK};
    in.tick.now_ms = sim_node_local_us(n, c->now_us) / 1000;
    /* A timer the node keeps arming for now spins its thread: a cost bound on the timer. */
    n->ticks_same_ms = in.tick.now_ms == n->tick_last_ms ? n->ticks_same_ms + 1 : 0;
    n->tick_last_ms = in.tick.now_ms;
    if (n->ticks_same_ms > SIM_TICKS_SAME_MS_MAX) {
        sim_checks_fail(&c->checks, n->id, "timer_spin",
                        "n%" PRIu64 " ticked %u times at local ms %" PRIu64
                        ": its timer keeps firing at once",
                        n->id, n->ticks_same_ms, in.tick.now_ms);
        return;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_TICK, ev->node, in.tick.now_ms, 0, 0);
    sim_cluster_feed(c, n, &in, NULL);
}

static void on_deliver(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_net_msg *nm = ev->ptr;
    struct sim_node *n = &c->nodes[ev->node];
    const struct craft_msg *m = &nm->m;
    if (!n->up || !sim_network_link_up(&c->net, m->from, m->to)) {
        sim_trace_add_msg(&c->trace, c->now_us, SIM_TR_DROP, ev->node, m->from, m, m->term);
        sim_net_msg_free(nm);
        return;
    }
    sim_trace_add_msg(&c->trace, c->now_us, SIM_TR_DELIVER, ev->node, m->from, m, m->term);
    if (c->p.batch_window_us > 0) {
        sim_feed_deliver(c, n, nm); /* fed with whatever else arrives within the window */
        return;
    }
    struct craft_input in = {.type = CRAFT_IN_MSGS};
    in.msgs.msgs = m;
    in.msgs.n = 1;
    sim_cluster_feed(c, n, &in, NULL);
    sim_net_msg_free(nm);
}

/* One group-commit batch is written: every write of it handed to the real storage, one sync,
 * then the model updated and the node told once, up to the batch's last submission. */
static void on_disk(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_node *n = &c->nodes[ev->node];
    if (!n->up || ev->arg != n->epoch) {
        return;
    }
    struct sim_disk_write *batch = NULL;
    struct sim_disk_write **tail = &batch;
    int rv = 0;
    for (struct sim_disk_write *w; (w = sim_disk_pop_batch(&n->disk)) != NULL;) {
        *tail = w;
        tail = &w->next;
        sim_disk_faults_before_write(c, n);
        if (rv == 0) {
            rv = storage_queue(n, w);
        }
    }
    CRAFT_ASSERT(batch != NULL);
    sim_cluster_check_payloads(c, n);
    if (rv == 0) {
        rv = storage_sync(n->st);
    }
    if (rv != 0) {
        /* A failed write or fdatasync stops the node (fail-stop); nothing of the batch was
         * reported, but it may have reached the disk all the same, truncations included. */
        while (batch != NULL) {
            struct sim_disk_write *next = batch->next;
            lower_crash_floor(n, batch);
            sim_disk_write_free(batch);
            batch = next;
        }
        sim_cluster_fail_stop(c, n, rv);
        return;
    }
    struct sim_disk_observer obs = sim_checks_observer(&c->checks);
    uint64_t seq = 0;
    while (batch != NULL) {
        struct sim_disk_write *w = batch;
        batch = w->next;
        sim_disk_apply(&n->disk, w, &obs);
        craft_index last = w->n_entries > 0 ? w->entries[w->n_entries - 1].index : 0;
        sim_trace_add(&c->trace, c->now_us, SIM_TR_DISK, ev->node, last,
                      w->hs_changed ? w->hs.term : 0, w->truncate_from);
        seq = w->seq;
        sim_disk_write_free(w);
    }
    if (sim_disk_next_batch(&n->disk)) {
        sim_heap_push(&c->heap, c->now_us + sim_cluster_disk_latency(c, n), SIM_EV_DISK, ev->node,
                      n->epoch, NULL);
    }
    craft_index applied_before = n->applied;
    n->applied_in_call = false;
    node_on_durable(n->node, seq);
    sim_cluster_after_call(c, n, applied_before, CRAFT_IN_PERSISTED);
}

static void on_client(struct sim_cluster *c, const struct sim_event *ev)
{
    if (!c->clients_on) {
        return;
    }
    if (sim_propose_active(c)) {
        sim_propose_on_client(c, ev);
        return;
    }
    unsigned i = (unsigned)ev->arg;
    char cmd[SIM_CMD_BYTES_MAX];
    size_t len = sim_client_command(&c->clients, i, c->healed, cmd);
    craft_id target = c->clients.c[i].target;
    struct sim_feed_result res;
    int rv = sim_cluster_propose(c, target, cmd, len, &res);
    craft_id hint = CRAFT_ID_NONE;
    if (rv == CRAFT_ENOTLEADER && c->nodes[target].up) {
        hint = craft_core_leader(c->nodes[target].core);
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_PROPOSE, (uint32_t)target, i, (uint64_t)(int64_t)rv,
                  rv == 0 ? res.proposed_index : 0);
    uint64_t next = sim_client_result(&c->clients, i, rv, hint);
    sim_heap_push(&c->heap, c->now_us + next, SIM_EV_CLIENT, 0, i, NULL);
}

bool sim_cluster_step(struct sim_cluster *c)
{
    struct sim_event ev;
    if (!sim_heap_pop(&c->heap, &ev)) {
        return false;
    }
    CRAFT_ASSERT(ev.time_us >= c->now_us);
    c->now_us = ev.time_us;
    c->checks.now_us = ev.time_us;
    if (sim_pause_defer(c, &ev)) {
        return true; /* held for a paused node; not a step */
    }
    c->steps++;
    switch (ev.kind) {
    case SIM_EV_DELIVER:
        on_deliver(c, &ev);
        break;
    case SIM_EV_TICK:
        on_tick(c, &ev);
        break;
    case SIM_EV_DISK:
        on_disk(c, &ev);
        break;
    case SIM_EV_CRASH:
        if (c->faults_on) {
            sim_cluster_crash(c, ev.node);
            if (ev.arg > 0) {
                sim_cluster_schedule(c, ev.arg, SIM_EV_RESTART, ev.node, 0);
            }
        }
        break;
    case SIM_EV_RESTART:
        sim_cluster_restart(c, ev.node);
        break;
    case SIM_EV_ISOLATE:
        if (c->faults_on) {
            sim_network_isolate(&c->net, ev.node, true);
            sim_trace_add(&c->trace, c->now_us, SIM_TR_LINKS, 0, SIM_LINKS_ISOLATE, ev.node, ev.arg);
            sim_cluster_schedule(c, ev.arg, SIM_EV_RECONNECT, ev.node, 0);
        }
        break;
    case SIM_EV_RECONNECT:
        if (c->faults_on) {
            sim_network_isolate(&c->net, ev.node, false);
            sim_trace_add(&c->trace, c->now_us, SIM_TR_LINKS, 0, SIM_LINKS_RECONNECT, ev.node, 0);
        }
        break;
    case SIM_EV_CLIENT:
        on_client(c, &ev);
        break;
    case SIM_EV_FAULT:
        if (c->faults_on && c->fault_hook != NULL) {
            c->fault_hook(c);
        }
        break;
    case SIM_EV_REPLAY:
        sim_oldmsg_replay(c);
        break;
    case SIM_EV_PAUSE:
        sim_pause_event(c);
        break;
    case SIM_EV_FLUSH:
        sim_feed_on_flush(c, &ev);
        break;
    case SIM_EV_CAMPAIGN:
        sim_feed_on_campaign(c, &ev);
        break;
    case SIM_EV_TRANSFER:
        sim_transfer_on_event(c, &ev);
        break;
    case SIM_EV_TRANSFER_CHECK:
        sim_transfer_on_check(c, &ev);
        break;
    case SIM_EV_READ:
        sim_reads_on_event(c, &ev);
        break;
    case SIM_EV_MEMBER:
        sim_member_event(c, &ev);
        break;
    case SIM_EV_FETCH:
        sim_fetch_on_event(c, &ev);
        break;
    case SIM_EV_SNAP_BUILT:
        sim_snap_on_built(c, &ev);
        break;
    case SIM_EV_SNAP_MSG:
        sim_snap_stream_on_msg(c, &ev);
        break;
    case SIM_EV_APPLY:
        sim_apply_on_event(c, &ev);
        break;
    case SIM_EV_KV:
        sim_kv_on_event(c, &ev);
        break;
    case SIM_EV_KV_TIMEOUT:
        sim_kv_on_timeout(c, &ev);
        break;
    case SIM_EV_SNAP_NOW:
        sim_snap_now_on_event(c, &ev);
        break;
    default:
        CRAFT_ASSERT(0);
    }
    sim_snap_resend_check(c);
    return true;
}

void sim_cluster_run_until(struct sim_cluster *c, uint64_t time_us)
{
    while (!sim_cluster_failed(c) && c->heap.n > 0 && c->heap.ev[0].time_us <= time_us) {
        sim_cluster_step(c);
    }
    if (time_us > c->now_us) {
        c->now_us = time_us;
    }
}

void sim_cluster_run_for_ms(struct sim_cluster *c, uint64_t ms)
{
    sim_cluster_run_until(c, c->now_us + ms * 1000);
}

void sim_cluster_print_status(const struct sim_cluster *c, FILE *f)
{
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (!n->up) {
            fprintf(f, "  n%u down (durable last index %zu, term %" PRIu64 ")\n", i, n->disk.n_log,
                    n->disk.hs.term);
            continue;
        }
        struct craft_core_status st;
        craft_core_status(n->core, &st);
        struct craft_membership m;
        craft_index cfg_index = craft_core_membership(n->core, &m);
        struct sim_cfg_mask cm = sim_member_mask(&m);
        fprintf(f, "  n%u %s term %" PRIu64 " leader n%" PRIu64 " commit %" PRIu64 " applied %" PRIu64
                   " persisted %" PRIu64 " last %" PRIu64 "/%" PRIu64 " pending writes %zu"
                   " config@%" PRIu64 " voters 0x%x old 0x%x learners 0x%x\n",
                i, craft_role_name(st.role), st.term, st.leader, st.commit, n->applied, st.persisted,
                st.last_index, st.last_term, n->disk.n_pending, cfg_index, cm.voters, cm.old,
                cm.learners);
        struct craft_progress_status pr[SIM_NODES_MAX];
        size_t np = craft_core_progress(n->core, pr, SIM_NODES_MAX);
        for (size_t k = 0; k < np; k++) {
            fprintf(f, "      -> n%" PRIu64 " %s match %" PRIu64 " next %" PRIu64
                       " inflight %u msgs/%" PRIu64 " bytes, active %d\n",
                    pr[k].id, pr[k].state == CRAFT_PROGRESS_PROBE      ? "probe"
                    : pr[k].state == CRAFT_PROGRESS_SNAPSHOT ? "snapshot"
                                                             : "replicate",
                    pr[k].match, pr[k].next, pr[k].inflight_msgs, pr[k].inflight_bytes,
                    pr[k].recent_active);
        }
    }
}
