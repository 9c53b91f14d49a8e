/* The fault phase, the healed phase and the violation report of one seed. */
#include "sim_run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_cluster.h"
#include "sim_swarm.h"

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
    fprintf(f, "  params: nodes=%u profile=%s pre_vote=%d check_quorum=%d loss=%u dup=%u tail=%u "
               "partitions=%d crashes=%d torn=%d skew=%u crash_after_vote=%u "
               "crash_after_leader=%u crash_after_ack=%u crash_after_append=%u "
               "append_entries_max=%u inflight_msgs_max=%u uncommitted_bytes_max=%llu\n",
            p->n_nodes, profile_name(pf), p->pre_vote, p->check_quorum, p->net.loss_ppm,
            p->net.dup_ppm, p->net.tail_ppm, p->fault_partitions, p->fault_crashes, p->torn_writes,
            p->clock_skew_ppm, p->crash_after_vote_ppm, p->crash_after_leader_ppm,
            p->crash_after_ack_ppm, p->crash_after_append_ppm, p->append_entries_max,
            p->inflight_msgs_max, (unsigned long long)p->uncommitted_bytes_max);
    fprintf(f, "  disk: wal_segment_bytes=%llu fsync_eio=%u bitflip=%d\n",
            (unsigned long long)p->wal_segment_bytes, p->fsync_eio_ppm, p->bitflip);
    fprintf(f, "  feed: batch_window_us=%u propose_batch_max=%u big_cmd=%u big_cmd_bytes_max=%u "
               "append_bytes_max=%llu compact_every=%u campaign_us=%u..%u\n",
            p->batch_window_us, p->propose_batch_max, p->big_cmd_ppm, p->big_cmd_bytes_max,
            (unsigned long long)p->append_bytes_max, p->compact_every, p->campaign_us_min,
            p->campaign_us_max);
    fprintf(f, "  nodes:\n");
    sim_cluster_print_status(c, f);
    fprintf(f, "  trace tail (last %d events):\n", SIM_TRACE_TAIL_SHOWN);
    sim_trace_print_tail(&c->trace, f, SIM_TRACE_TAIL_SHOWN);
    fprintf(f, "  replay: %s --seed %" PRIu64 " --steps %" PRIu64 " --nodes %u%s\n", opt->argv0,
            p->seed, opt->steps, p->n_nodes, opt->safety_only ? " --safety-only" : "");
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

int sim_run_seed(uint64_t seed, const struct sim_run_options *opt, FILE *out,
                 struct sim_run_result *res)
{
    memset(res, 0, sizeof(*res));
    struct sim_params p;
    enum sim_swarm_profile pf;
    sim_swarm_draw(seed, opt->nodes, &p, &pf);
    p.no_rule_checks = opt->safety_only;
    res->nodes = p.n_nodes;
    struct sim_cluster *c = sim_cluster_create(&p, opt->show, out);
    if (c == NULL) {
        res->violations = 1;
        return -1;
    }
    if (opt->show) {
        fprintf(out, "seed %" PRIu64 ": %u nodes, profile %s, pre_vote %d, check_quorum %d\n", seed,
                p.n_nodes, profile_name(pf), p.pre_vote, p.check_quorum);
        fprintf(out, "seed %" PRIu64 ": feed batch_window_us %u propose_batch_max %u big_cmd %u "
                     "append_bytes_max %llu compact_every %u campaign_us_max %u\n",
                seed, p.batch_window_us, p.propose_batch_max, p.big_cmd_ppm,
                (unsigned long long)p.append_bytes_max, p.compact_every, p.campaign_us_max);
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
        if (!sim_cluster_step(c)) {
            break;
        }
        sim_cluster_check_liveness(c);
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
    }
    sim_cluster_destroy(c);
    return 0;
}
