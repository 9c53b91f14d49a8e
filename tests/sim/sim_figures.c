/* Collecting and printing the figures of runs and swarms. */
#include "sim_figures.h"

#include <inttypes.h>

static double ratio(uint64_t a, uint64_t b)
{
    return b == 0 ? 0.0 : (double)a / (double)b;
}

void sim_figures_print_run(const struct sim_run_figures *r, FILE *f)
{
    const struct sim_elect_hist *h = &r->elections;
    fprintf(f, "figures: elections %" PRIu64 " (from leader loss: mean %.1f ms, max %.1f ms), "
               "split votes %" PRIu64 "; calm election %.1f ms; quiet agreement after %.1f ms; "
               "held %" PRIu64 ", replayed %" PRIu64 ", pauses %" PRIu64 "\n",
            h->n, ratio(h->sum_us, h->n) / 1000.0, (double)h->max_us / 1000.0, r->split_votes,
            (double)r->quiet.election_us / 1000.0, (double)r->quiet.quiet_us / 1000.0, r->held,
            r->replayed, r->pauses);
    const struct sim_cost_figures *c = &r->cost;
    if (!c->measured) {
        return;
    }
    uint64_t fc = c->commits * c->followers;
    fprintf(f, "cost (%s links, %.0f ms steady, %" PRIu64 " commits, %u followers): per committed "
               "entry %.2f msgs, %.0f bytes; per entry per follower %.2f msgs, %.3f entries sent; "
               "empty appends per follower per heartbeat %.2f; in flight max %" PRIu64
               " msgs / %" PRIu64 " bytes; longest log %" PRIu64 " entries\n",
            c->fifo ? "FIFO" : "reordering", (double)c->window_us / 1000.0, c->commits,
            c->followers, ratio(c->msgs, c->commits), ratio(c->bytes, c->commits),
            ratio(c->msgs, fc), ratio(c->entries_sent, fc),
            ratio(c->appends_empty, c->heartbeats * c->followers), c->inflight_msgs_max,
            c->inflight_bytes_max, c->log_entries_max);
}

static void work_add(struct sim_work_figures *t, const struct sim_work_figures *r)
{
    t->snapshots_taken += r->snapshots_taken;
    t->snapshots_installed += r->snapshots_installed;
    t->streams_delivered += r->streams_delivered;
    t->streams_given_up += r->streams_given_up;
    t->fetches += r->fetches;
    t->outcomes_done += r->outcomes_done;
    t->outcomes_unknown += r->outcomes_unknown;
    t->snap_now_asked += r->snap_now_asked;
    t->snap_now_done += r->snap_now_done;
    t->snap_now_failed += r->snap_now_failed;
    t->kv_seeds += r->kv_seeds;
    t->kv_ops += r->kv_ops;
    t->kv_unanswered += r->kv_unanswered;
    t->kv_dropped += r->kv_dropped;
    t->kv_refused += r->kv_refused;
    t->kv_final_reads += r->kv_final_reads;
    t->kv_final_missing += r->kv_final_missing;
    t->kv_states += r->kv_states;
    t->kv_unknown += r->kv_unknown;
}

void sim_figures_add(struct sim_figures *t, const struct sim_run_figures *r)
{
    t->seeds++;
    work_add(&t->work, &r->work);
    sim_elect_hist_merge(&t->elections, &r->elections);
    if (r->quiet.election_us > 0) {
        sim_elect_hist_add(&t->calm, r->quiet.election_us);
    }
    t->split_votes += r->split_votes;
    t->held += r->held;
    t->replayed += r->replayed;
    t->pauses += r->pauses;
    const struct sim_cost_figures *c = &r->cost;
    if (!c->measured) {
        return;
    }
    int k = c->fifo ? 0 : 1;
    t->cost_seeds[k]++;
    t->cost_commits[k] += c->commits;
    t->cost_follower_commits[k] += c->commits * c->followers;
    t->cost_msgs[k] += c->msgs;
    t->cost_bytes[k] += c->bytes;
    t->cost_entries[k] += c->entries_sent;
    t->cost_empty[k] += c->appends_empty;
    t->cost_follower_heartbeats[k] += c->heartbeats * c->followers;
    if (c->commits >= SIM_COST_COMMITS_MIN) {
        uint64_t m = c->entries_sent * 1000 / (c->commits * c->followers);
        if (m > t->cost_entries_ratio_max_milli[k]) {
            t->cost_entries_ratio_max_milli[k] = m;
        }
        uint64_t u = c->msgs * 1000 / ((c->commits + c->heartbeats) * c->followers);
        if (u > t->cost_msgs_ratio_max_milli[k]) {
            t->cost_msgs_ratio_max_milli[k] = u;
        }
    }
    if (c->inflight_msgs_max > t->cost_inflight_msgs_max) {
        t->cost_inflight_msgs_max = c->inflight_msgs_max;
    }
    if (c->inflight_bytes_max > t->cost_inflight_bytes_max) {
        t->cost_inflight_bytes_max = c->inflight_bytes_max;
    }
}

void sim_figures_merge(struct sim_figures *into, const struct sim_figures *t)
{
    into->seeds += t->seeds;
    sim_elect_hist_merge(&into->elections, &t->elections);
    sim_elect_hist_merge(&into->calm, &t->calm);
    into->split_votes += t->split_votes;
    work_add(&into->work, &t->work);
    into->held += t->held;
    into->replayed += t->replayed;
    into->pauses += t->pauses;
    for (int k = 0; k < 2; k++) {
        into->cost_seeds[k] += t->cost_seeds[k];
        into->cost_commits[k] += t->cost_commits[k];
        into->cost_follower_commits[k] += t->cost_follower_commits[k];
        into->cost_msgs[k] += t->cost_msgs[k];
        into->cost_bytes[k] += t->cost_bytes[k];
        into->cost_entries[k] += t->cost_entries[k];
        into->cost_empty[k] += t->cost_empty[k];
        into->cost_follower_heartbeats[k] += t->cost_follower_heartbeats[k];
        if (t->cost_entries_ratio_max_milli[k] > into->cost_entries_ratio_max_milli[k]) {
            into->cost_entries_ratio_max_milli[k] = t->cost_entries_ratio_max_milli[k];
        }
        if (t->cost_msgs_ratio_max_milli[k] > into->cost_msgs_ratio_max_milli[k]) {
            into->cost_msgs_ratio_max_milli[k] = t->cost_msgs_ratio_max_milli[k];
        }
    }
    if (t->cost_inflight_msgs_max > into->cost_inflight_msgs_max) {
        into->cost_inflight_msgs_max = t->cost_inflight_msgs_max;
    }
    if (t->cost_inflight_bytes_max > into->cost_inflight_bytes_max) {
        into->cost_inflight_bytes_max = t->cost_inflight_bytes_max;
    }
}

static void print_hist(const char *what, const struct sim_elect_hist *h, FILE *f)
{
    fprintf(f, "craft-sim: %s: n=%" PRIu64 " mean=%.1f ms p99=%.1f ms max=%.1f ms\n", what, h->n,
            ratio(h->sum_us, h->n) / 1000.0, (double)sim_elect_hist_quantile(h, 990) / 1000.0,
            (double)h->max_us / 1000.0);
}

void sim_figures_print(const struct sim_figures *t, FILE *f)
{
    if (t->seeds == 0) {
        return;
    }
    print_hist("election time, every election (leader loss to new leader)", &t->elections, f);
    print_hist("election time, calm (leader crashed in a healthy cluster)", &t->calm, f);
    const struct sim_work_figures *w = &t->work;
    fprintf(f, "craft-sim: snapshots taken %" PRIu64 ", installed %" PRIu64 "; streams delivered %" PRIu64
               ", given up %" PRIu64 "; fetches %" PRIu64 "; proposal outcomes done %" PRIu64
               ", unknown %" PRIu64 "\n",
            w->snapshots_taken, w->snapshots_installed, w->streams_delivered, w->streams_given_up,
            w->fetches, w->outcomes_done, w->outcomes_unknown);
    if (w->snap_now_asked > 0) {
        fprintf(f, "craft-sim: snapshot requests %" PRIu64 ", done %" PRIu64 ", failed %" PRIu64
                   " (busy, disk faults, node stopped)\n",
                w->snap_now_asked, w->snap_now_done, w->snap_now_failed);
    }
    if (w->kv_seeds > 0) {
        fprintf(f, "craft-sim: kv: %" PRIu64 " seeds, %" PRIu64 " ops checked (%" PRIu64
                   " writes unanswered, %" PRIu64 " of them never applied; %" PRIu64
                   " refused), final reads %" PRIu64 " (missed %" PRIu64 "), checker states %" PRIu64
                   ", unknown %" PRIu64 "\n",
                w->kv_seeds, w->kv_ops, w->kv_unanswered, w->kv_dropped, w->kv_refused,
                w->kv_final_reads, w->kv_final_missing, w->kv_states, w->kv_unknown);
    }
    fprintf(f, "craft-sim: split votes %" PRIu64 "; old messages held %" PRIu64
               ", replayed %" PRIu64 "; process pauses %" PRIu64 "\n",
            t->split_votes, t->held, t->replayed, t->pauses);
    static const char *const kinds[2] = {"FIFO", "reordering"};
    for (int k = 0; k < 2; k++) {
        if (t->cost_seeds[k] == 0) {
            continue;
        }
        fprintf(f, "craft-sim: cost, %s links (%" PRIu64 " seeds, %" PRIu64 " commits): per "
                   "committed entry %.2f msgs, %.0f bytes; per entry per follower %.2f msgs, "
                   "%.3f entries sent (worst seed %.3f); empty appends per follower per "
                   "heartbeat %.2f; msgs per follower per (commit + interval): worst seed %.2f\n",
                kinds[k], t->cost_seeds[k], t->cost_commits[k],
                ratio(t->cost_msgs[k], t->cost_commits[k]),
                ratio(t->cost_bytes[k], t->cost_commits[k]),
                ratio(t->cost_msgs[k], t->cost_follower_commits[k]),
                ratio(t->cost_entries[k], t->cost_follower_commits[k]),
                (double)t->cost_entries_ratio_max_milli[k] / 1000.0,
                ratio(t->cost_empty[k], t->cost_follower_heartbeats[k]),
                (double)t->cost_msgs_ratio_max_milli[k] / 1000.0);
    }
    fprintf(f, "craft-sim: memory in the steady stretch: at most %" PRIu64 " messages / %" PRIu64
               " bytes in flight\n",
            t->cost_inflight_msgs_max, t->cost_inflight_bytes_max);
}
