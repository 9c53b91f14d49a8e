/* The craft_node object: its config (checked, copied), creation (the log store recovered, the
 * transport, threads, the node booted from what the store holds) and destruction. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

#define RT_ELECTION_TIMEOUT_MS_MAX 600000u /* ten minutes: anything longer is a mistake */

void craft_node_config_init(struct craft_node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->election_timeout_ms = 1000;
    cfg->heartbeat_interval_ms = 100;
    cfg->clock_drift_ppm = 500;
    cfg->snapshot_every = 100000;
    cfg->log_trailing = 1024;
    cfg->entry_bytes_max = 1u << 20;
    cfg->pending_bytes_max = 64u << 20;
    cfg->threads.log_writer = true;
    cfg->threads.log_writer_followers = false; /* measured: docs/benchmarks.md */
    cfg->threads.apply = false; /* measured fastest (craft-bench node): see ARCHITECTURE.md */
    cfg->log_level = CRAFT_LOG_INFO;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(errmsg, errmsg_len, __VA_ARGS__);                                                 \
        return CRAFT_EINVAL;                                                                       \
    } while (0)

/* Checks the plugged transport and log store (craft/plug.h): their required ops. */
static int check_plugs(const struct craft_node_config *cfg, const struct craft_fsm_ops *fsm,
                       char *errmsg, size_t errmsg_len)
{
    const struct craft_transport_ops *t = cfg->transport;
    const struct craft_log_store_ops *l = cfg->log_store;
    bool snapshots = rt_fsm_snapshots(fsm) && cfg->snapshot_every != 0;
    if (t != NULL) {
        if (t->version != CRAFT_PLUG_VERSION) {
            FAIL("transport: ops version %u, this library speaks %u", t->version,
                 CRAFT_PLUG_VERSION);
        }
        if (t->start == NULL || t->add_peer == NULL || t->send == NULL || t->stop == NULL) {
            FAIL("transport: start, add_peer, send and stop are required");
        }
        if (snapshots && (t->send_chunk == NULL || t->send_ack == NULL)) {
            FAIL("transport: send_chunk and send_ack are required with snapshots "
                 "(snapshot_every and a state machine that saves them)");
        }
    } else if (cfg->transport_ctx != NULL) {
        FAIL("transport_ctx: set without transport ops");
    }
    if (l != NULL) {
        if (l->version != CRAFT_PLUG_VERSION) {
            FAIL("log_store: ops version %u, this library speaks %u", l->version,
                 CRAFT_PLUG_VERSION);
        }
        if (l->open == NULL || l->release == NULL || l->submit == NULL || l->close == NULL) {
            FAIL("log_store: open, release, submit and close are required");
        }
    } else if (cfg->log_store_ctx != NULL) {
        FAIL("log_store_ctx: set without log store ops");
    }
    return 0;
}

/* Checks the state machine and the config's values. */
static int check_values(const struct craft_node_config *cfg, const struct craft_fsm_ops *fsm,
                        char *errmsg, size_t errmsg_len)
{
    if (fsm->apply == NULL) {
        FAIL("the state machine has no apply");
    }
    bool view = fsm->snapshot_begin != NULL;
    if (view != (fsm->snapshot_write != NULL) || view != (fsm->snapshot_end != NULL)) {
        FAIL("the state machine needs snapshot_begin, snapshot_write and snapshot_end together");
    }
    if (view && fsm->snapshot_save != NULL) {
        FAIL("the state machine has snapshot_save and snapshot_begin: one way to save, please");
    }
    if (rt_fsm_snapshots(fsm) != (fsm->snapshot_restore != NULL)) {
        FAIL("the state machine needs snapshot_restore with a way to save (snapshot_save or "
             "snapshot_begin), and neither without it");
    }
    if (cfg->id == CRAFT_ID_NONE) {
        FAIL("id: 0 is not a node id");
    }
    if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
        FAIL("data_dir: empty");
    }
    if (cfg->log_level < CRAFT_LOG_ERROR || cfg->log_level > CRAFT_LOG_DEBUG) {
        FAIL("log_level %d: not a craft_log_level", cfg->log_level);
    }
    if (cfg->election_timeout_ms == 0 || cfg->election_timeout_ms > RT_ELECTION_TIMEOUT_MS_MAX) {
        FAIL("election_timeout_ms %u: want 1..%u", cfg->election_timeout_ms,
             RT_ELECTION_TIMEOUT_MS_MAX);
    }
    if (cfg->heartbeat_interval_ms == 0 ||
        cfg->heartbeat_interval_ms >= cfg->election_timeout_ms) {
        FAIL("heartbeat_interval_ms %u: want 1..election_timeout_ms - 1 (%u)",
             cfg->heartbeat_interval_ms, cfg->election_timeout_ms);
    }
    if (cfg->lease_reads && cfg->clock_drift_ppm >= 1000000) {
        FAIL("clock_drift_ppm %u: lease reads need a drift below 1000000", cfg->clock_drift_ppm);
    }
    if (cfg->entry_bytes_max == 0 ||
        cfg->entry_bytes_max > WIRE_BODY_MAX_DEFAULT - RT_FRAME_OVERHEAD) {
        FAIL("entry_bytes_max %llu: want 1..%u (a frame's limit)",
             (unsigned long long)cfg->entry_bytes_max,
             (unsigned)(WIRE_BODY_MAX_DEFAULT - RT_FRAME_OVERHEAD));
    }
    if (cfg->pending_bytes_max < cfg->entry_bytes_max) {
        FAIL("pending_bytes_max %llu: below entry_bytes_max",
             (unsigned long long)cfg->pending_bytes_max);
    }
    if (cfg->loop != NULL && cfg->allocator != NULL) {
        /* The loop's callbacks (the transport's among them) would allocate under the loop
         * thread's allocator and free under the node's, or the other way round. */
        FAIL("loop and allocator: a node on a shared loop uses the loop thread's allocator");
    }
    return check_plugs(cfg, fsm, errmsg, errmsg_len);
}

/* Checks the addresses and the bootstrap voters; the peers go into n's table. */
static int check_members(struct craft_node *n, const struct craft_node_config *cfg, char *errmsg,
                         size_t errmsg_len)
{
    char why[160];
    /* A plugged transport takes listen as given (it may have no use for it). */
    if (cfg->transport == NULL &&
        rt_addr_parse(cfg->listen, true, n->listen_host, &n->listen_port, why, sizeof why) != 0) {
        FAIL("listen: %s", why);
    }
    if (cfg->n_peers > 0 && cfg->peers == NULL) {
        FAIL("peers: NULL with n_peers %u", cfg->n_peers);
    }
    for (unsigned i = 0; i < cfg->n_peers; i++) {
        int rv = rt_peers_add(n, &cfg->peers[i], why, sizeof why);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "peers[%u]: %s", i, why);
            return CRAFT_EINVAL;
        }
    }
    if (cfg->n_voters > CRAFT_VOTERS_MAX || (cfg->n_voters > 0 && cfg->voters == NULL)) {
        FAIL("voters: want 0..%u ids", (unsigned)CRAFT_VOTERS_MAX);
    }
    bool self = cfg->n_voters == 0;
    for (unsigned i = 0; i < cfg->n_voters; i++) {
        if (cfg->voters[i] == CRAFT_ID_NONE) {
            FAIL("voters[%u]: 0 is not a node id", i);
        }
        for (unsigned j = 0; j < i; j++) {
            if (cfg->voters[j] == cfg->voters[i]) {
                FAIL("voters: %llu listed twice", (unsigned long long)cfg->voters[i]);
            }
        }
        self = self || cfg->voters[i] == cfg->id;
    }
    if (!self) {
        FAIL("voters: a bootstrap list names this node (%llu) too",
             (unsigned long long)cfg->id);
    }
    return 0;
}

/* Checks what a node cannot start with; copies the strings and lists into n. */
static int check_config(struct craft_node *n, const struct craft_node_config *cfg,
                        const struct craft_fsm_ops *fsm, char *errmsg, size_t errmsg_len)
{
    int rv = check_values(cfg, fsm, errmsg, errmsg_len);
    if (rv == 0) {
        rv = check_members(n, cfg, errmsg, errmsg_len);
    }
    if (rv != 0) {
        return rv;
    }
    size_t dir_len = strlen(cfg->data_dir);
    n->data_dir = craft_malloc(dir_len + 1);
    n->voters = craft_calloc(cfg->n_voters > 0 ? cfg->n_voters : 1, sizeof(craft_id));
    if (cfg->listen != NULL) {
        size_t listen_len = strlen(cfg->listen);
        n->listen = craft_malloc(listen_len + 1);
        if (n->listen != NULL) {
            memcpy(n->listen, cfg->listen, listen_len + 1);
        }
    }
    if (n->data_dir == NULL || n->voters == NULL || (cfg->listen != NULL && n->listen == NULL)) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return CRAFT_ENOMEM;
    }
    memcpy(n->data_dir, cfg->data_dir, dir_len + 1);
    if (cfg->n_voters > 0) {
        memcpy(n->voters, cfg->voters, cfg->n_voters * sizeof(craft_id));
    }
    n->cfg.data_dir = n->data_dir;
    n->cfg.voters = n->voters;
    n->cfg.listen = n->listen; /* and, for the default transport, parsed into listen_host/port */
    n->cfg.peers = NULL;  /* copied into the peer table */
    n->cfg.n_peers = 0;
    n->cfg.transport = NULL; /* copied into transport_ops by node_alloc */
    n->cfg.log_store = NULL; /* copied into log_ops by node_alloc */
    return 0;
}

#undef FAIL

static void node_free(struct craft_node *n)
{
    rt_builder_close(n);
    rt_apply_close(n);
    rt_queue_close(&n->queue);
    rt_requests_fail_all(&n->requests, CRAFT_ESHUTDOWN);
    rt_requests_close(&n->requests);
    io_mutex_close(&n->status_mu);
    io_mutex_close(&n->wake_mu);
    io_mutex_close(&n->peers_mu);
    io_mutex_close(&n->inbox_mu);
    craft_free(n->msgs_in);
    craft_free(n->data_dir);
    craft_free(n->listen);
    craft_free(n->voters);
    if (rt_loop_closing(n)) {
        /* A shared loop closes the node's handles as it runs on: the last one frees n. */
        n->free_on_close = true;
        return;
    }
    craft_free(n);
}

static int boot_node(struct craft_node *n, const struct craft_log_store_recovered *rec, char *errmsg,
                     size_t errmsg_len)
{
    struct node_config nc;
    struct craft_core_boot boot;
    struct node_env env;
    uint64_t seed = 0;

    node_config_init(&nc);
    /* Snapshots when the state machine can save them; the memory log keeps log_trailing
     * entries below each for followers just behind (further behind: the snapshot). */
    nc.snapshot_every = rt_fsm_snapshots(&n->fsm) ? n->cfg.snapshot_every : 0;
    /* craft_node_snapshot needs a state machine that saves and a transport that streams (the
     * default's ops, or the plugged ones: transport_ops, filled by node_alloc). */
    nc.snapshots = rt_fsm_snapshots(&n->fsm) && n->transport_ops.send_chunk != NULL &&
                   n->transport_ops.send_ack != NULL;
    nc.log_trailing = n->cfg.log_trailing;
    nc.apply_window = RT_APPLY_WINDOW;
    nc.fs = rt_stats_snapshot_fs(n); /* n->fs, its fdatasyncs timed (craft_node_stats) */
    nc.core.id = n->cfg.id;
    nc.core.voters = n->voters;
    nc.core.n_voters = n->cfg.n_voters;
    /* Each boot gets a fresh seed (core.h: a read answer of an earlier life must not match). */
    if (uv_random(NULL, NULL, &seed, sizeof seed, 0, NULL) != 0) {
        seed = io_monotonic_ns();
    }
    nc.core.seed = seed;
    nc.core.election_timeout_ms_min = n->cfg.election_timeout_ms;
    nc.core.election_timeout_ms_max = 2 * n->cfg.election_timeout_ms;
    nc.core.heartbeat_interval_ms = n->cfg.heartbeat_interval_ms;
    nc.core.lease_reads = n->cfg.lease_reads;
    nc.core.clock_drift_ppm = n->cfg.clock_drift_ppm;
    nc.core.uncommitted_bytes_max = n->cfg.pending_bytes_max;

    memset(&boot, 0, sizeof boot);
    boot.hard_state = rec->hard_state;
    boot.snapshot = rec->snapshot;
    boot.entries = rec->entries;
    boot.n_entries = rec->n_entries;
    /* The state machine holds the snapshot (restored) and nothing after it: every committed
     * entry after the snapshot is applied again. */
    boot.applied = boot.snapshot.index;
    n->applied_done = boot.applied;
    n->apply.applied_base = boot.applied;

    rt_env_fill(n, &env);
    int rv = node_create(&nc, &boot, &env, &n->node);
    if (rv != 0) {
        n->node = NULL;
        snprintf(errmsg, errmsg_len, "cannot start the node: %s", craft_strerror(rv));
        return rv;
    }
    RT_LOG(n, CRAFT_LOG_INFO, "started: term %llu, commit %llu, %zu log entries recovered",
           (unsigned long long)rec->hard_state.term, (unsigned long long)rec->hard_state.commit,
           rec->n_entries);
    return 0;
}

/* A node object with its config copied and checked; NULL (errmsg says why) on failure. */
static struct craft_node *node_alloc(const struct craft_node_config *cfg,
                                     const struct craft_fsm_ops *fsm, void *fsm_ctx, int *rv,
                                     char *errmsg, size_t errmsg_len)
{
    struct craft_node *n = craft_calloc(1, sizeof *n);
    if (n == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        *rv = CRAFT_ENOMEM;
        return NULL;
    }
    n->cfg = *cfg;
    n->fsm = *fsm;
    n->fsm_ctx = fsm_ctx;
    n->log.fn = cfg->log;
    n->log.ctx = cfg->log_ctx;
    n->log.level = cfg->log_level;
    n->log.node = cfg->id;
    atomic_init(&n->closing, false);
    atomic_init(&n->fatal, false);
    io_mutex_init(&n->peers_mu);
    io_mutex_init(&n->wake_mu);
    io_mutex_init(&n->status_mu);
    io_mutex_init(&n->inbox_mu);
    rt_requests_init(&n->requests);
    /* The transport: the plugged one, else TCP (runtime_net.c). */
    if (cfg->transport != NULL) {
        n->transport_ops = *cfg->transport;
        n->transport_ctx = cfg->transport_ctx;
        n->transport_plugged = true;
    } else {
        n->transport_ops = rt_net_ops;
        n->transport_ctx = n;
    }
    /* The log store: the plugged one, else the WAL (runtime_log.c). */
    if (cfg->log_store != NULL) {
        n->log_ops = *cfg->log_store;
        n->log_ctx = cfg->log_store_ctx;
        n->log_plugged = true;
    } else {
        n->log_ops = rt_wal_ops;
        n->log_ctx = n;
    }
    *rv = rt_apply_init(n);
    CRAFT_ASSERT(*rv == 0);
    rt_builder_init(n);
    *rv = rt_queue_init(&n->queue);
    if (*rv != 0) {
        snprintf(errmsg, errmsg_len, "out of memory");
    } else {
        *rv = check_config(n, cfg, fsm, errmsg, errmsg_len);
    }
    if (*rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "create: %s", errmsg);
        node_free(n);
        return NULL;
    }
    return n;
}

/* Opens the data directory (snapshots) and the log store, which recovers (its entries are the
 * store's until rt_log_release); restores the state machine from the snapshot the log
 * continues. */
static int open_storage(struct craft_node *n, struct craft_log_store_recovered *rec,
                        char *errmsg, size_t errmsg_len)
{
    int rv = io_fs_posix_create(n->data_dir, &n->fs);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "data_dir %s: %s", n->data_dir, craft_strerror(rv));
        return rv;
    }
    rv = rt_log_open(n, rec, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail_fs;
    }
    if (rec->snapshot.index != 0) {
        rv = rt_snapshot_restore(n, &rec->snapshot, errmsg, errmsg_len);
        if (rv != 0) {
            goto fail_log;
        }
    }
    return 0;
fail_log:
    rt_log_close(n);
fail_fs:
    io_fs_posix_destroy(n->fs);
    n->fs = NULL;
    return rv;
}

/* The loop with the transport, the node booted from rec, then the threads. On failure what was
 * started is stopped and closed again (the node's own loop handles included). */
static int start_runtime(struct craft_node *n, const struct craft_log_store_recovered *rec,
                         char *errmsg,
                         size_t errmsg_len)
{
    int rv = rt_loop_init(n);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "cannot start an event loop");
        return rv;
    }
    rv = rt_transport_start(n, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    /* The node first (it calls nothing of its environment but timer_arm until the loop runs),
     * so the threads start with everything they read already set. */
    rv = boot_node(n, rec, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    rv = rt_apply_start(n);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "cannot start the apply thread: %s", craft_strerror(rv));
        goto fail;
    }
    rv = rt_builder_start(n);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "cannot start the snapshot thread: %s", craft_strerror(rv));
        goto fail;
    }
    return 0;
fail:
    atomic_store(&n->closing, true);
    rt_loop_abandon(n);
    return rv;
}

static int create_node(const struct craft_node_config *cfg, const struct craft_fsm_ops *fsm,
                       void *fsm_ctx, struct craft_node **out, char *errmsg, size_t errmsg_len)
{
    char scratch[256];
    struct craft_log_store_recovered rec;
    struct craft_node *n;
    int rv;

    if (errmsg == NULL || errmsg_len == 0) {
        errmsg = scratch;
        errmsg_len = sizeof scratch;
    }
    errmsg[0] = '\0';
    if (cfg == NULL || fsm == NULL || out == NULL) {
        snprintf(errmsg, errmsg_len, "cfg, fsm and out are required");
        return CRAFT_EINVAL;
    }
    *out = NULL;
    n = node_alloc(cfg, fsm, fsm_ctx, &rv, errmsg, errmsg_len);
    if (n == NULL) {
        return rv;
    }
    rv = open_storage(n, &rec, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail_node;
    }
    rv = start_runtime(n, &rec, errmsg, errmsg_len);
    rt_log_release(n); /* the core copied what it keeps */
    if (rv != 0) {
        goto fail_storage;
    }
    rt_status_refresh(n);
    rv = rt_loop_start(n);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "cannot start the loop thread: %s", craft_strerror(rv));
        atomic_store(&n->closing, true);
        rt_loop_abandon(n);
        goto fail_storage;
    }
    *out = n;
    return 0;

fail_storage:
    rt_log_close(n); /* when the loop's shutdown did not already */
    io_fs_posix_destroy(n->fs);
fail_node:
    RT_LOG(n, CRAFT_LOG_ERROR, "create: %s", errmsg);
    node_free(n);
    return rv;
}

static void destroy_node(struct craft_node *n)
{
    /* A shared loop's node is destroyed on the loop's thread: its handles are closed there. */
    CRAFT_ASSERT(n->cfg.loop == NULL || rt_on_loop(n));
    atomic_store(&n->closing, true);
    rt_loop_stop(n); /* closes the transport, then the log store */
    io_fs_posix_destroy(n->fs);
    RT_LOG(n, CRAFT_LOG_INFO, "stopped");
    node_free(n);
}

/* The node's memory comes from cfg->allocator: the threads it starts inherit it (io_thread_start)
 * and every public call switches to it for its duration (runtime_api.c). */
int craft_node_create(const struct craft_node_config *cfg, const struct craft_fsm_ops *fsm,
                      void *fsm_ctx, struct craft_node **out, char *errmsg, size_t errmsg_len)
{
    const struct craft_allocator *prev = alloc_use(cfg != NULL ? cfg->allocator : NULL);
    int rv = create_node(cfg, fsm, fsm_ctx, out, errmsg, errmsg_len);
    (void)alloc_use(prev);
    return rv;
}

void craft_node_destroy(struct craft_node *n)
{
    if (n == NULL) {
        return;
    }
    const struct craft_allocator *prev = alloc_use(n->cfg.allocator);
    destroy_node(n);
    (void)alloc_use(prev);
}
