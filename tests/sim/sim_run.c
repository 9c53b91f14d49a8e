/* The fault phase, the healed phase and the violation report of one seed. */
#include "sim_run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_cluster.h"
#include "sim_quiet.h"
#include "sim_swarm.h"
#include "sim_timeline.h"
#include "util/assert.h"

static const char *profile_name(enum sim_swarm_profile pf)
{
    return pf == SIM_PROFILE_CALM ? "calm" : pf == SIM_PROFILE_BRUTAL ? "brutal" : "moderate";
}

static void report(const struct sim_cluster *c, const struct sim_run_options *opt,
                   enum sim_swarm_profile pf, FILE *out)
{
    const struct sim_params *p = &c->p;
    /* One buffer, one write: reports of parallel workers do not interleave. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        f = out;
    }
    fprintf(f, "VIOLATION seed=%" PRIu64 " invariant=%s step=%" PRIu64 " time=%.3fms\n", p->seed,
            c->checks.violation, c->steps, (double)c->now_us / 1000.0);
    fprintf(f, "  %s\n", c->checks.detail);
    sim_kv_print(c, f);
    fprintf(f, "  params: nodes=%u profile=%s pre_vote=%d check_quorum=%d loss=%u dup=%u tail=%u "
               "partitions=%d crashes=%d torn=%d skew=%u crash_after_vote=%u "
               "crash_after_leader=%u crash_after_ack=%u crash_after_append=%u "
               "append_entries_max=%u inflight_msgs_max=%u uncommitted_bytes_max=%llu\n",
            p->n_nodes, profile_name(pf), p->pre_vote, p->check_quorum, p->net.loss_ppm,
            p->net.dup_ppm, p->net.tail_ppm, p->fault_partitions, p->fault_crashes, p->torn_writes,
            p->clock_skew_ppm, p->crash_after_vote_ppm, p->crash_after_leader_ppm,
            p->crash_after_ack_ppm, p->crash_after_append_ppm, p->append_entries_max,
            p->inflight_msgs_max, (unsigned long long)p->uncommitted_bytes_max);
    fprintf(f, "  disk: wal_segment_bytes=%llu fsync_eio=%u bitflip=%d sm_flush=%u apply_us_max=%u "
               "apply_window=%u log_slab_bytes=%u wal_inline_bytes_max=%u\n",
            (unsigned long long)p->wal_segment_bytes, p->fsync_eio_ppm, p->bitflip,
            p->sm_flush_ppm, p->apply_us_max, p->apply_window, p->log_slab_bytes,
            p->wal_inline_bytes_max);
    fprintf(f, "  disk faults: crash_kill=%u%% crash_midcall=%u%% write_eio=%u write_enospc=%u "
               "sync_dir_eio=%u misdirect=%u rot=%d\n",
            p->crash_kill_pct, p->crash_midcall_pct, p->write_eio_ppm, p->write_enospc_ppm,
            p->sync_dir_eio_ppm, p->misdirect_ppm, p->rot);
    fprintf(f, "  net: fifo=%d hold=%u hold_us=%u..%u replay_us_mean=%u pause_us_mean=%u "
               "pause_us_max=%u\n",
            p->net.fifo, p->hold_ppm, p->hold_us_min, p->hold_us_max, p->replay_us_mean,
            p->pause_us_mean, p->pause_us_max);
    fprintf(f, "  feed: batch_window_us=%u propose_batch_max=%u big_cmd=%u big_cmd_bytes_max=%u "
               "append_bytes_max=%llu compact_every=%u campaign_us=%u..%u transfer_us=%u "
               "reads_us=%u read_lease=%d\n",
            p->batch_window_us, p->propose_batch_max, p->big_cmd_ppm, p->big_cmd_bytes_max,
            (unsigned long long)p->append_bytes_max, p->compact_every, p->campaign_us_min,
            p->campaign_us_max, p->transfer_us_mean, p->reads_us_mean, p->read_lease);
    fprintf(f, "  member: n_voters_start=%u member_us=%u..%u change_after_leader=%u small=%d\n",
            p->n_voters_start, p->member_us_min, p->member_us_max, p->change_after_leader_ppm,
            p->member_small);
    fprintf(f, "  snapshots: every=%u pad_max=%u chunk=%u window=%u resend_us=%u stall_us=%u "
               "node_compacts=%d trailing=%u\n",
            p->snapshot_every, p->snapshot_pad_max, p->snap_chunk_bytes, p->snap_window,
            p->snap_resend_us, p->snap_stall_us, p->node_compacts, p->node_log_trailing);
    fprintf(f, "  kv: on=%d clients=%u keys=%u us=%u..%u timeout_us=%u follower_pct=%u "
               "read_after_pct=%u\n",
            p->kv, p->kv_clients, p->kv_keys, p->kv_us_min, p->kv_us_max, p->kv_timeout_us,
            p->kv_follower_pct, p->kv_read_after_pct);
    fprintf(f, "  nodes:\n");
    sim_cluster_print_status(c, f);
    fprintf(f, "  trace tail (last %d events):\n", SIM_TRACE_TAIL_SHOWN);
    sim_trace_print_tail(&c->trace, f, SIM_TRACE_TAIL_SHOWN);
    fprintf(f, "  replay: %s --seed %" PRIu64 " --steps %" PRIu64 " --nodes %u%s%s\n", opt->argv0,
            p->seed, opt->steps, p->n_nodes, opt->safety_only ? " --safety-only" : "",
            opt->kv ? " --kv" : "");
    fprintf(f, "  timeline: %s --seed %" PRIu64 " --steps %" PRIu64 " --nodes %u%s%s --timeline seed-%" PRIu64
               ".html\n",
            opt->argv0, p->seed, opt->steps, p->n_nodes, opt->safety_only ? " --safety-only" : "",
            opt->kv ? " --kv" : "", p->seed);
    if (f != out) {
        fclose(f);
        fflush(out);
        if (write(fileno(out), buf, len) != (ssize_t)len) {
            fwrite(buf, 1, len, stderr);
        }
        free(buf);
    }
    fflush(out);
}

/* The test-only hooks of craft-sim's own tests (sim_run.h). */
static void selftest_hooks(struct sim_cluster *c, const struct sim_run_options *opt)
{
    if (opt->selftest_abort && c->steps == opt->steps / 2 + 1) {
        CRAFT_ASSERT(!"selftest: abort requested by --selftest-abort-at-seed");
    }
    if (opt->selftest_violate_step != 0 && c->steps == opt->selftest_violate_step &&
        !sim_cluster_failed(c)) {
        sim_checks_fail(&c->checks, 0, "selftest_violation",
                        "a synthetic violation at step %" PRIu64 " (--selftest-violate-at-step)",
                        c->steps);
    }
}

/* Draws the run that just ended (--timeline); a failure to write is only reported. */
static void draw_timeline(const struct sim_cluster *c, const struct sim_run_options *opt,
                          enum sim_swarm_profile pf, const struct sim_trace_log *log)
{
    const struct sim_params *p = &c->p;
    char params[256];
    char replay[512];
    snprintf(params, sizeof params,
             "nodes=%u profile=%s pre_vote=%d check_quorum=%d loss=%u dup=%u partitions=%d "
             "crashes=%d torn=%d fsync_eio=%u bitflip=%d",
             p->n_nodes, profile_name(pf), p->pre_vote, p->check_quorum, p->net.loss_ppm,
             p->net.dup_ppm, p->fault_partitions, p->fault_crashes, p->torn_writes,
             p->fsync_eio_ppm, p->bitflip);
    snprintf(replay, sizeof replay, "%s --seed %" PRIu64 " --steps %" PRIu64 " --nodes %u%s%s",
             opt->argv0, p->seed, opt->steps, p->n_nodes, opt->safety_only ? " --safety-only" : "",
             opt->kv ? " --kv" : "");
    struct sim_timeline_info info = {
        .seed = p->seed,
        .n_nodes = p->n_nodes,
        .steps = c->steps,
        .end_us = c->now_us,
        .violation = c->checks.violation,
        .detail = c->checks.violation != NULL ? c->checks.detail : NULL,
        .params = params,
        .replay = replay,
    };
    if (sim_timeline_write(opt->timeline, &info, log) == 0) {
        fprintf(stderr, "craft-sim: timeline of seed %" PRIu64 " written to %s\n", p->seed,
                opt->timeline);
    }
}

int sim_run_seed(uint64_t seed, const struct sim_run_options *opt, FILE *out,
                 struct sim_run_result *res)
{
    memset(res, 0, sizeof(*res));
    struct sim_params p;
    enum sim_swarm_profile pf;
    sim_swarm_draw(seed, opt->nodes, &p, &pf);
    p.no_rule_checks = opt->safety_only;
    p.kv = p.kv || opt->kv;
    res->nodes = p.n_nodes;
    struct sim_cluster *c = sim_cluster_create(&p, opt->show, out);
    if (c == NULL) {
        res->violations = 1;
        return -1;
    }
    if (opt->show) {
        fprintf(out, "seed %" PRIu64 ": %u nodes, profile %s, pre_vote %d, check_quorum %d, %s links\n",
                seed, p.n_nodes, profile_name(pf), p.pre_vote, p.check_quorum,
                p.net.fifo ? "FIFO" : "reordering");
        fprintf(out, "seed %" PRIu64 ": feed batch_window_us %u propose_batch_max %u big_cmd %u "
                     "append_bytes_max %llu compact_every %u campaign_us_max %u\n",
                seed, p.batch_window_us, p.propose_batch_max, p.big_cmd_ppm,
                (unsigned long long)p.append_bytes_max, p.compact_every, p.campaign_us_max);
        if (p.snap_now_us_mean > 0) {
            fprintf(out, "seed %" PRIu64 ": snapshot requests every %u us on average\n", seed,
                    p.snap_now_us_mean);
        }
    }
    struct sim_trace_log log;
    sim_trace_log_init(&log);
    if (opt->timeline != NULL) {
        c->trace.log = &log;
    }
    sim_swarm_start(c);
    uint64_t heal_step = opt->steps - opt->steps * SIM_HEAL_PERCENT / 100;
    while (!sim_cluster_failed(c)) {
        if (!c->healed && c->steps >= heal_step) {
            sim_cluster_heal(c);
        }
        if (c->steps >= opt->steps && c->live_ok) {
            break;
        }
        if (!sim_quiet_step(c)) {
            break;
        }
        sim_cluster_check_liveness(c);
        selftest_hooks(c, opt);
    }
    struct sim_run_figures *fig = &res->fig;
    if (c->live_ok) {
        c->kv.history_path = opt->kv_history;
        sim_kv_final(c); /* the final reads, then the history's check */
    }
    if (c->live_ok && !sim_cluster_failed(c)) {
        sim_quiet_run(c, &fig->quiet);
    }
    if (c->live_ok && !sim_cluster_failed(c)) {
        sim_snap_now_final(c); /* every snapshot request has ended by now */
    }
    fig->elections = c->elect.all;
    fig->split_votes = sim_elect_split_votes(c);
    fig->cost = c->cost.f;
    fig->held = c->oldmsg.held;
    fig->replayed = c->oldmsg.replayed;
    fig->pauses = c->pause.n_pauses;
    fig->work = c->work;
    if (p.kv) {
        const struct sim_kv_figures_run *k = &c->kv.fig;
        fig->work.kv_seeds = 1;
        fig->work.kv_ops = k->ops;
        fig->work.kv_unanswered = k->unanswered;
        fig->work.kv_dropped = k->dropped;
        fig->work.kv_refused = k->refused;
        fig->work.kv_final_reads = k->final_reads;
        fig->work.kv_final_missing = k->final_missing;
        fig->work.kv_states = k->states;
        fig->work.kv_unknown = k->unknown;
    }
    res->steps = c->steps;
    res->elections = c->checks.elections;
    res->commits = c->checks.n_committed;
    res->trace_hash = c->trace.hash;
    res->sim_us = c->now_us;
    if (sim_cluster_failed(c)) {
        res->violations = 1;
        report(c, opt, pf, out);
    }
    if (opt->show) {
        fprintf(out, "seed %" PRIu64 ": %" PRIu64 " steps, %.3f s simulated, %" PRIu64
                     " elections, %" PRIu64 " committed; clients ok %" PRIu64 " not-leader %" PRIu64
                     " busy %" PRIu64 "; messages dropped %" PRIu64 " duplicated %" PRIu64 "\n",
                seed, c->steps, (double)c->now_us / 1e6, res->elections, res->commits,
                c->clients.stats.ok, c->clients.stats.not_leader, c->clients.stats.busy,
                c->net.stats.dropped, c->net.stats.duplicated);
        sim_figures_print_run(fig, out);
        if (p.kv) {
            const struct sim_kv_figures_run *k = &c->kv.fig;
            fprintf(out, "seed %" PRIu64 ": kv %" PRIu64 " ops checked; writes unanswered %" PRIu64
                         " (never applied, left out: %" PRIu64 "); refused %" PRIu64
                         "; final reads %" PRIu64 " (missed %" PRIu64 "); checker states %" PRIu64
                         "%s\n",
                    seed, k->ops, k->unanswered, k->dropped, k->refused, k->final_reads,
                    k->final_missing, k->states,
                    k->unknown ? " (unknown: the search bound was reached)" : "");
        }
    }
    if (opt->timeline != NULL) {
        draw_timeline(c, opt, pf, &log);
    }
    sim_cluster_destroy(c);
    sim_trace_log_close(&log);
    return 0;
}
