/* Per-seed fault mixes and the fault changes of the fault phase. */
#include "sim_swarm.h"

#include <string.h>

#include "sim_hash.h"
#include "sim_kv.h"

static uint32_t upto(struct prng *r, uint32_t max)
{
    return (uint32_t)prng_below(r, (uint64_t)max + 1);
}

static uint32_t pick(struct prng *r, uint32_t lo, uint32_t hi)
{
    return (uint32_t)prng_range(r, lo, (uint64_t)hi + 1);
}

void sim_swarm_draw(uint64_t seed, unsigned nodes_forced, struct sim_params *p,
                    enum sim_swarm_profile *profile)
{
    struct prng r;
    prng_seed(&r, sim_hash_combine(sim_mix64(seed), 77));
    memset(p, 0, sizeof(*p));
    p->seed = seed;
    uint32_t size = upto(&r, 99);
    p->n_nodes = size < 45 ? 3 : size < 85 ? 5 : 7;
    if (nodes_forced != 0) {
        p->n_nodes = nodes_forced;
    }
    uint32_t prof = upto(&r, 99);
    enum sim_swarm_profile pf = prof < 15 ? SIM_PROFILE_CALM
                                : prof < 75 ? SIM_PROFILE_MODERATE
                                            : SIM_PROFILE_BRUTAL;
    *profile = pf;
    bool calm = pf == SIM_PROFILE_CALM;
    bool brutal = pf == SIM_PROFILE_BRUTAL;
    p->pre_vote = prng_chance(&r, 700000);
    p->check_quorum = prng_chance(&r, 700000);

    p->net.lat_us_min = pick(&r, 100, 2000);
    p->net.lat_us_max = p->net.lat_us_min + pick(&r, 200, 10000);
    p->net.tail_ppm = calm ? 0 : brutal ? pick(&r, 20000, 150000) : upto(&r, 50000);
    p->net.tail_us_max = pick(&r, 10000, 400000);
    p->net.loss_ppm = calm ? upto(&r, 5000) : brutal ? pick(&r, 20000, 200000) : upto(&r, 50000);
    p->net.dup_ppm = calm ? 0 : brutal ? pick(&r, 10000, 150000) : upto(&r, 50000);

    p->disk_us_min = pick(&r, 50, 2000);
    p->disk_us_max = p->disk_us_min + pick(&r, 100, 8000);
    p->disk_slow_ppm = upto(&r, 50000);
    p->disk_slow_us_max = pick(&r, 1000, 50000);
    p->clock_skew_ppm = prng_chance(&r, 700000) ? upto(&r, calm ? 20000 : 100000) : 0;

    p->torn_writes = !calm && prng_chance(&r, 600000);
    p->fault_partitions = brutal || prng_chance(&r, calm ? 200000 : 700000);
    p->fault_crashes = brutal || prng_chance(&r, calm ? 200000 : 700000);
    p->fault_us_min = calm ? 1000000 : brutal ? 30000 : 150000;
    p->fault_us_max = p->fault_us_min * pick(&r, 2, 10);
    p->downtime_us_min = 5000;
    p->downtime_us_max = pick(&r, 20000, 3000000);
    p->crash_after_vote_ppm = !calm && prng_chance(&r, 400000) ? pick(&r, 20000, 300000) : 0;
    p->crash_after_leader_ppm = !calm && prng_chance(&r, 400000) ? pick(&r, 20000, 300000) : 0;
    p->crash_after_ack_ppm = !calm && prng_chance(&r, 250000) ? pick(&r, 1000, 20000) : 0;
    p->crash_after_append_ppm = !calm && prng_chance(&r, 300000) ? pick(&r, 1000, 30000) : 0;
    p->isolate_after_leader_ppm = !calm && prng_chance(&r, 300000) ? pick(&r, 50000, 400000) : 0;
    p->isolate_after_append_ppm = !calm && prng_chance(&r, 300000) ? pick(&r, 2000, 40000) : 0;
    p->isolate_us_max = pick(&r, 50000, 2000000);
    /* Either small AppendEntries or a small window, not both: one entry per round trip cannot
     * keep up with the clients, and liveness would then fail by construction. */
    uint32_t flow = upto(&r, 99);
    p->append_entries_max = flow < 40 ? pick(&r, 1, 3) : 0;
    p->inflight_msgs_max = flow >= 40 && flow < 65 ? pick(&r, 1, 4) : 0;
    p->uncommitted_bytes_max = prng_chance(&r, 200000) ? pick(&r, 500, 20000) : 0;

    p->n_clients = pick(&r, 1, SIM_CLIENTS_MAX);
    p->client_us_min = pick(&r, 1000, 20000);
    p->client_us_max = p->client_us_min + pick(&r, 5000, 100000);
    p->cmd_pad_max = prng_chance(&r, 300000) ? upto(&r, 200) : 0;

    /* Disk faults on the real storage (drawn last, so earlier draws stay as they were). */
    p->wal_segment_bytes = pick(&r, 4, 24) * 1024;
    p->fsync_eio_ppm = !calm && prng_chance(&r, 200000) ? pick(&r, 500, 20000) : 0;
    p->bitflip = !calm && prng_chance(&r, 150000);
    /* A durable state machine in some seeds: always flushed, or now and then. */
    uint32_t sm = upto(&r, 99);
    p->sm_flush_ppm = sm < 20 ? 1000000 : sm < 35 ? pick(&r, 50000, 900000) : 0;

    /* Real disk failures (appended: every draw above keeps its value). */
    p->crash_kill_pct = prng_chance(&r, 400000) ? pick(&r, 10, 60) : 0;
    p->crash_midcall_pct = !calm && prng_chance(&r, 400000) ? pick(&r, 10, 50) : 0;
    p->write_eio_ppm = !calm && prng_chance(&r, 150000) ? pick(&r, 200, 5000) : 0;
    p->write_enospc_ppm = !calm && prng_chance(&r, 100000) ? pick(&r, 200, 5000) : 0;
    p->sync_dir_eio_ppm = !calm && prng_chance(&r, 150000) ? pick(&r, 5000, 100000) : 0;
    p->misdirect_ppm = !calm && prng_chance(&r, 100000) ? pick(&r, 500, 10000) : 0;
    p->rot = !calm && prng_chance(&r, 250000);

    /* Links FIFO or reordering; old messages; process pauses (drawn after everything above). */
    p->net.fifo = prng_chance(&r, 500000);
    p->hold_ppm = !calm && prng_chance(&r, 300000) ? pick(&r, 1000, 30000) : 0;
    p->hold_us_min = 2 * SIM_ELECTION_TIMEOUT_MS_MAX * 1000;
    p->hold_us_max = pick(&r, 3, 12) * SIM_ELECTION_TIMEOUT_MS_MAX * 1000;
    p->replay_us_mean = !calm && prng_chance(&r, 300000) ? pick(&r, 5000, 200000) : 0;
    p->pause_us_mean = !calm && prng_chance(&r, 300000) ? pick(&r, 200000, 3000000) : 0;
    p->pause_us_max = pick(&r, 50000, 3 * SIM_ELECTION_TIMEOUT_MS_MAX * 1000);

    /* What a real node feeds the core (drawn last, so earlier draws stay as they were). */
    p->batch_window_us = prng_chance(&r, 500000) ? pick(&r, 50, 3000) : 0;
    p->propose_batch_max = prng_chance(&r, 400000) ? pick(&r, 2, SIM_PROPOSE_BATCH_MAX) : 0;
    p->big_cmd_ppm = prng_chance(&r, 200000) ? pick(&r, 5000, 100000) : 0;
    p->big_cmd_bytes_max = (uint32_t)p->wal_segment_bytes * pick(&r, 1, 3);
    p->append_bytes_max = prng_chance(&r, 300000) ? pick(&r, 64, 4096) : 0;
    p->compact_every = prng_chance(&r, 500000) ? pick(&r, 1, 500) : 0;
    bool campaigns = prng_chance(&r, 250000);
    p->campaign_us_min = campaigns ? pick(&r, 50000, 500000) : 0;
    p->campaign_us_max = campaigns ? p->campaign_us_min * pick(&r, 2, 6) : 0;

    /* Leadership transfers (drawn after everything above). */
    p->transfer_us_mean = !calm && prng_chance(&r, 300000) ? pick(&r, 100000, 2000000) : 0;
    /* Reads (drawn after everything above). */
    p->reads_us_mean = prng_chance(&r, 500000) ? pick(&r, 2000, 100000) : 0;
    p->read_lease = p->check_quorum && prng_chance(&r, 500000);

    /* A narrow pipe (one to three entries per AppendEntries, or a window of one to four) carries
     * only so many entries per round trip: the clients' load must stay below it, or the backlog
     * outgrows every liveness bound by construction. So such seeds keep big commands and byte
     * limits out, and bound what may wait uncommitted, as a node under load would (clients then
     * get CRAFT_EBUSY and back off). Applied after all draws, so no draw moves. */
    bool narrow = p->append_entries_max != 0 || p->inflight_msgs_max != 0;
    if (narrow) {
        p->big_cmd_ppm = 0;
        p->append_bytes_max = 0;
        if (p->propose_batch_max > 0 &&
            (p->uncommitted_bytes_max == 0 || p->uncommitted_bytes_max > SIM_NARROW_UNCOMMITTED_MAX)) {
            p->uncommitted_bytes_max = SIM_NARROW_UNCOMMITTED_MAX;
        }
    }
    /* Membership changes (drawn last, so every draw above keeps its value). */
    sim_member_draw(&r, p);
    if (p->member_us_min > 0) {
        /* A voter lost for good while a change is under way can leave no electable voter at all
         * (a pending configuration whose live voters refuse each other's logs: seed 2272), which
         * Raft does not promise to survive; damage faults stay in the seeds without changes. */
        p->bitflip = false;
        p->rot = false;
        p->misdirect_ppm = 0;
    }
    /* Snapshots (drawn last): small thresholds so they are taken, sent and installed often, under
     * every fault above. A snapshot is sent only to a follower behind the leader's memory log, so
     * such seeds always compact it. */
    bool snaps = prng_chance(&r, 400000);
    p->snapshot_every = snaps ? pick(&r, 4, 200) : 0;
    p->snapshot_pad_max = prng_chance(&r, 500000) ? pick(&r, 0, 96 << 10) : pick(&r, 0, 2048);
    p->snap_chunk_bytes = pick(&r, 256, 16 << 10);
    p->snap_window = pick(&r, 1, 8);
    p->snap_resend_us = pick(&r, 5000, 60000);
    p->snap_stall_us = pick(&r, 200000, 2000000);
    if (snaps && p->compact_every == 0) {
        p->compact_every = pick(&r, 1, 2 * p->snapshot_every);
    }
    /* The node's own compaction after its snapshots (drawn last). */
    p->node_compacts = snaps && prng_chance(&r, 500000);
    p->node_log_trailing = pick(&r, 0, 64);
    /* An apply worker behind the node's loop (drawn last). */
    p->apply_us_max = prng_chance(&r, 600000) ? pick(&r, 1, 20000) : 0;
    p->apply_window = prng_chance(&r, 400000) ? pick(&r, 1, 64) : 0;
    /* A window of w entries per batch of up to apply_us_max applies at least w / apply_us_max
     * entries per us: below the clients' rate a follower's backlog outgrows the convergence
     * bounds by construction (seed 84871: one entry per 19 ms). Keep it at 2,000 entries/s or
     * more, as any state machine worth replicating manages; the lag itself stays. */
    if (p->apply_window != 0 && p->apply_us_max > p->apply_window * 500u) {
        p->apply_us_max = p->apply_window * 500u;
    }
    /* The cores' payload blocks (drawn last): small ones turn over all the time, so a payload
     * read past its ticket (by the disk or the apply worker) meets reused, poisoned memory. */
    p->log_slab_bytes = prng_chance(&r, 700000) ? (uint32_t)pick(&r, 16, 4096) : 0;
    /* The WAL: payloads written in place (zero-copy, as the node runs it), copied into the
     * batch, or a mix by size. */
    uint64_t inline_pick = prng_below(&r, 4);
    p->wal_inline_bytes_max = inline_pick < 2    ? 0
                              : inline_pick == 2 ? (uint32_t)pick(&r, 1, 64)
                                                 : UINT32_MAX;
    /* The KV workload (drawn last, so every draw above keeps its value). */
    p->kv = prng_chance(&r, 300000);
    p->kv_clients = pick(&r, 2, SIM_KV_CLIENTS_MAX);
    p->kv_keys = pick(&r, 1, SIM_KV_KEYS_MAX);
    p->kv_us_min = pick(&r, 200, 5000);
    p->kv_us_max = p->kv_us_min + pick(&r, 1000, 30000);
    p->kv_timeout_us = pick(&r, 100000, 1000000);
    p->kv_follower_pct = upto(&r, 60);
    p->kv_read_after_pct = upto(&r, 80);
    /* Snapshots on request (drawn last, so every draw above keeps its value): half of them in
     * seeds that take threshold snapshots too, where they race those. */
    bool now = prng_chance(&r, 350000);
    p->snap_now_us_mean = now ? pick(&r, 2000, 400000) : 0;
}

static craft_id random_node(struct sim_cluster *c)
{
    return 1 + prng_below(&c->rng_fault, c->p.n_nodes);
}

static uint32_t random_side(struct sim_cluster *c, craft_id except)
{
    uint32_t side = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        if (i != except && prng_chance(&c->rng_fault, 500000)) {
            side |= 1u << i;
        }
    }
    return side;
}

static void partition(struct sim_cluster *c)
{
    struct sim_network *net = &c->net;
    uint32_t shape = (uint32_t)prng_below(&c->rng_fault, 8);
    uint64_t arg = 0;
    uint64_t extra = 0;
    switch (shape) {
    case 0:
    case 1:
        shape = SIM_LINKS_ALL_UP;
        sim_network_all_up(net);
        break;
    case 2:
        shape = SIM_LINKS_SPLIT;
        arg = random_side(c, 0);
        sim_network_split(net, (uint32_t)arg);
        break;
    case 3: {
        shape = SIM_LINKS_ISOLATE;
        craft_id who = prng_chance(&c->rng_fault, 500000) ? sim_cluster_leader(c) : random_node(c);
        arg = who != CRAFT_ID_NONE ? who : random_node(c);
        sim_network_isolate(net, arg, true);
        break;
    }
    case 4: {
        /* Cut a few directed links: asymmetric reachability. */
        shape = SIM_LINKS_ONE_WAY;
        unsigned k = 1 + (unsigned)prng_below(&c->rng_fault, c->p.n_nodes);
        for (unsigned i = 0; i < k; i++) {
            craft_id a = random_node(c);
            craft_id b = random_node(c);
            if (a != b) {
                sim_network_set_link(net, a, b, false);
                arg |= (uint64_t)1 << ((a * 8 + b) % 64);
            }
        }
        break;
    }
    case 5:
        shape = SIM_LINKS_BRIDGE;
        extra = random_node(c);
        arg = random_side(c, extra);
        sim_network_bridge(net, (uint32_t)arg, extra);
        break;
    case 6: {
        shape = SIM_LINKS_RING;
        craft_id order[SIM_NODES_MAX];
        for (unsigned i = 0; i < c->p.n_nodes; i++) {
            order[i] = i + 1;
        }
        for (unsigned i = c->p.n_nodes - 1; i > 0; i--) {
            unsigned j = (unsigned)prng_below(&c->rng_fault, i + 1);
            craft_id t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (unsigned i = 0; i < c->p.n_nodes; i++) {
            arg = arg * 8 + order[i];
        }
        sim_network_ring(net, order);
        break;
    }
    default: {
        shape = SIM_LINKS_LEADER_ONLY;
        craft_id leader = sim_cluster_leader(c);
        if (leader == CRAFT_ID_NONE) {
            leader = random_node(c);
        }
        craft_id who = random_node(c);
        if (who == leader) {
            who = who % c->p.n_nodes + 1;
        }
        arg = who;
        extra = leader;
        sim_network_leader_only(net, who, leader);
        break;
    }
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_LINKS, 0, shape, arg, extra);
}

static void crash_or_restart(struct sim_cluster *c)
{
    unsigned down = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        down += !c->nodes[i].up;
    }
    /* Mostly keep a majority of each half of the configuration up so commits go on; sometimes
     * take it down too. */
    struct sim_cfg_mask cfg;
    (void)sim_member_config(c, &cfg);
    uint32_t up = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        up |= (uint32_t)c->nodes[i].up << i;
    }
    bool lost = !sim_member_quorum(&cfg, up);
    bool restart = down > 0 && (lost || prng_chance(&c->rng_fault, 400000));
    craft_id id = random_node(c);
    if (restart) {
        for (unsigned k = 0; k < c->p.n_nodes && c->nodes[id].up; k++) {
            id = id % c->p.n_nodes + 1;
        }
        sim_cluster_restart(c, id);
        return;
    }
    if (prng_chance(&c->rng_fault, 400000)) {
        craft_id leader = sim_cluster_leader(c);
        if (leader != CRAFT_ID_NONE) {
            id = leader;
        }
    }
    uint64_t down_us = prng_range(&c->rng_fault, c->p.downtime_us_min, c->p.downtime_us_max + 1);
    sim_cluster_schedule(c, 0, SIM_EV_CRASH, id, down_us);
}

void sim_swarm_fault(struct sim_cluster *c)
{
    bool part = c->p.fault_partitions;
    bool crash = c->p.fault_crashes;
    if (part && (!crash || prng_chance(&c->rng_fault, 500000))) {
        partition(c);
    } else if (crash) {
        crash_or_restart(c);
    }
    uint64_t next = prng_range(&c->rng_fault, c->p.fault_us_min, (uint64_t)c->p.fault_us_max + 1);
    sim_cluster_schedule(c, next, SIM_EV_FAULT, 0, 0);
}

void sim_swarm_start(struct sim_cluster *c)
{
    c->faults_on = true;
    sim_oldmsg_start(c);
    sim_pause_start(c);
    c->fault_hook = sim_swarm_fault;
    sim_feed_start(c);
    sim_transfer_start(c);
    sim_reads_start(c);
    sim_member_start(c);
    sim_kv_start(c);
    sim_snap_now_start(c);
    if (c->p.fault_partitions || c->p.fault_crashes) {
        uint64_t first = prng_range(&c->rng_fault, c->p.fault_us_min, (uint64_t)c->p.fault_us_max + 1);
        sim_cluster_schedule(c, first, SIM_EV_FAULT, 0, 0);
    }
}
