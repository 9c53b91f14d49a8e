/* The lab tests' scenario API (see sim_scenario.h). */
#include "sim_scenario.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_hash.h"

void sim_scenario_opts_init(struct sim_scenario_opts *o, unsigned n, uint64_t seed)
{
    memset(o, 0, sizeof(*o));
    o->n = n;
    o->seed = seed;
    o->pre_vote = true;
    o->check_quorum = true;
}

static void reliable_net(struct sim_net_params *np)
{
    memset(np, 0, sizeof(*np));
    np->lat_us_min = 200;
    np->lat_us_max = 1000;
}

int sim_scenario_init(struct sim_scenario *s, const char *name, const struct sim_scenario_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->n = o->n;
    struct sim_params p;
    memset(&p, 0, sizeof(p));
    p.seed = sim_hash_combine(o->seed, sim_hash_bytes(name, strlen(name)));
    p.n_nodes = o->n;
    p.pre_vote = o->pre_vote;
    p.check_quorum = o->check_quorum;
    p.n_voters_start = o->n_voters;
    p.no_rule_checks = o->safety_only;
    p.read_lease = o->read_lease && o->check_quorum;
    p.snapshot_every = o->snapshot_every;
    p.compact_every = o->compact_every;
    p.wal_segment_bytes = o->wal_segment_bytes;
    p.log_slab_bytes = o->log_slab_bytes;
    reliable_net(&p.net);
    p.disk_us_min = 100;
    p.disk_us_max = 600;
    p.clock_skew_ppm = 20000;
    p.downtime_us_min = 1000;
    p.downtime_us_max = 1000;
    prng_seed(&s->rng, p.seed ^ 0x5ce7a410ULL);
    s->c = sim_cluster_create(&p, false, stdout);
    if (s->c == NULL) {
        printf("lab %s: FAIL: the cluster did not start\n", name);
        return -1;
    }
    for (unsigned i = 1; i <= o->n; i++) {
        s->connected[i] = true;
    }
    sim_scenario_unreliable(s, o->unreliable);
    return 0;
}

bool sim_scenario_failed(struct sim_scenario *s)
{
    return s->failed || sim_cluster_failed(s->c);
}

void sim_scenario_fail(struct sim_scenario *s, const char *fmt, ...)
{
    if (s->failed) {
        return;
    }
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    printf("lab %s: FAIL at %.3f ms: ", s->name, (double)s->c->now_us / 1000.0);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static bool node_status(struct sim_scenario *s, craft_id id, struct craft_core_status *st)
{
    const struct sim_node *n = &s->c->nodes[id];
    if (!n->up) {
        return false;
    }
    craft_core_status(n->core, st);
    return true;
}

int sim_scenario_finish(struct sim_scenario *s)
{
    int rv = 0;
    struct sim_cluster *c = s->c;
    if (sim_cluster_failed(c)) {
        printf("lab %s: VIOLATION invariant=%s: %s\n  trace tail:\n", s->name, c->checks.violation,
               c->checks.detail);
        sim_trace_print_tail(&c->trace, stdout, SIM_TRACE_TAIL_SHOWN);
        rv = -1;
    } else if (s->failed) {
        sim_cluster_print_status(c, stdout);
        printf("  trace tail:\n");
        sim_trace_print_tail(&c->trace, stdout, 30);
        rv = -1;
    } else {
        printf("lab %s: PASS (%.3f s simulated, %" PRIu64 " steps, %" PRIu64 " elections, %zu "
               "committed, %" PRIu64 " RPCs)\n",
               s->name, (double)c->now_us / 1e6, c->steps, c->checks.elections,
               c->checks.n_committed, sim_scenario_rpcs(s));
    }
    sim_cluster_destroy(c);
    s->c = NULL;
    return rv;
}

void sim_scenario_run_ms(struct sim_scenario *s, uint64_t ms)
{
    sim_cluster_run_for_ms(s->c, ms);
}

static void relink(struct sim_scenario *s)
{
    for (unsigned i = 1; i <= s->n; i++) {
        for (unsigned j = 1; j <= s->n; j++) {
            if (i != j) {
                sim_network_set_link(&s->c->net, i, j, s->connected[i] && s->connected[j]);
            }
        }
    }
}

void sim_scenario_connect(struct sim_scenario *s, craft_id id)
{
    s->connected[id] = true;
    relink(s);
    sim_trace_add(&s->c->trace, s->c->now_us, SIM_TR_LINKS, (uint32_t)id, SIM_LINKS_RECONNECT, id, 0);
}

void sim_scenario_disconnect(struct sim_scenario *s, craft_id id)
{
    s->connected[id] = false;
    relink(s);
    sim_trace_add(&s->c->trace, s->c->now_us, SIM_TR_LINKS, (uint32_t)id, SIM_LINKS_DISCONNECT, id,
                  0);
}

void sim_scenario_crash(struct sim_scenario *s, craft_id id)
{
    sim_cluster_crash(s->c, id);
}

void sim_scenario_restart(struct sim_scenario *s, craft_id id)
{
    sim_cluster_restart(s->c, id);
}

void sim_scenario_unreliable(struct sim_scenario *s, bool unreliable)
{
    struct sim_net_params *np = &s->c->net.p;
    if (unreliable) {
        /* labrpc: up to 27 ms of delay and one message in ten lost. */
        np->lat_us_min = 200;
        np->lat_us_max = 27000;
        np->loss_ppm = 100000;
    } else {
        bool reordering = np->lab_long_reordering;
        reliable_net(np);
        np->lab_long_reordering = reordering;
    }
}

void sim_scenario_long_reordering(struct sim_scenario *s, bool on)
{
    s->c->net.p.lab_long_reordering = on;
}

void sim_scenario_slow_disk(struct sim_scenario *s, craft_id id, uint64_t extra_us)
{
    s->c->nodes[id].disk_extra_us = extra_us;
}

bool sim_scenario_is_leader(struct sim_scenario *s, craft_id id)
{
    struct craft_core_status st;
    return node_status(s, id, &st) && st.role == CRAFT_LEADER;
}

craft_term sim_scenario_term(struct sim_scenario *s, craft_id id)
{
    struct craft_core_status st;
    return node_status(s, id, &st) ? st.term : 0;
}

craft_id sim_scenario_leader(struct sim_scenario *s)
{
    craft_id best = 0;
    craft_term term = 0;
    for (unsigned i = 1; i <= s->n; i++) {
        struct craft_core_status st;
        if (s->connected[i] && node_status(s, i, &st) && st.role == CRAFT_LEADER && st.term >= term) {
            best = i;
            term = st.term;
        }
    }
    return best;
}

craft_id sim_scenario_check_one_leader(struct sim_scenario *s)
{
    for (int iter = 0; iter < 10 && !sim_scenario_failed(s); iter++) {
        sim_scenario_run_ms(s, 450 + prng_below(&s->rng, 100));
        craft_term last = 0;
        craft_id leader = 0;
        for (unsigned i = 1; i <= s->n; i++) {
            struct craft_core_status st;
            if (!s->connected[i] || !node_status(s, i, &st) || st.role != CRAFT_LEADER) {
                continue;
            }
            for (unsigned j = i + 1; j <= s->n; j++) {
                struct craft_core_status st2;
                if (s->connected[j] && node_status(s, j, &st2) && st2.role == CRAFT_LEADER &&
                    st2.term == st.term) {
                    sim_scenario_fail(s, "term %" PRIu64 " has two leaders: n%u and n%u", st.term, i,
                                      j);
                    return 0;
                }
            }
            if (st.term >= last) {
                last = st.term;
                leader = i;
            }
        }
        if (leader != 0) {
            return leader;
        }
    }
    sim_scenario_fail(s, "expected one leader, got none");
    return 0;
}

void sim_scenario_check_no_leader(struct sim_scenario *s)
{
    for (unsigned i = 1; i <= s->n; i++) {
        if (s->connected[i] && sim_scenario_is_leader(s, i)) {
            sim_scenario_fail(s, "expected no leader among connected nodes, but n%u claims it", i);
        }
    }
}

craft_term sim_scenario_check_terms(struct sim_scenario *s)
{
    craft_term term = 0;
    for (unsigned i = 1; i <= s->n; i++) {
        struct craft_core_status st;
        if (!s->connected[i] || !node_status(s, i, &st)) {
            continue;
        }
        if (term == 0) {
            term = st.term;
        } else if (term != st.term) {
            sim_scenario_fail(s, "nodes disagree on the term: %" PRIu64 " and %" PRIu64, term,
                              st.term);
        }
    }
    return term;
}

unsigned sim_scenario_n_committed(struct sim_scenario *s, craft_index index, uint64_t *data_hash)
{
    const struct sim_checks *ck = &s->c->checks;
    unsigned k = 0;
    for (unsigned i = 1; i <= s->n; i++) {
        k += s->c->nodes[i].applied >= index;
    }
    *data_hash = index >= 1 && index <= ck->n_committed ? ck->committed[index - 1].data_hash : 0;
    return k;
}

const char *sim_scenario_cmd(struct sim_scenario *s, char *buf)
{
    snprintf(buf, 64, "%s-%" PRIu64 "-%" PRIu64, s->name, ++s->cmd_seq, prng_next(&s->rng) % 1000000);
    return buf;
}

int sim_scenario_start(struct sim_scenario *s, craft_id id, const void *cmd, size_t len,
                       craft_index *index, craft_term *term)
{
    struct sim_feed_result res;
    int rv = sim_cluster_propose(s->c, id, cmd, len, &res);
    if (rv == 0) {
        if (index != NULL) {
            *index = res.proposed_index;
        }
        if (term != NULL) {
            *term = res.proposed_term;
        }
    }
    return rv;
}

craft_index sim_scenario_one(struct sim_scenario *s, const void *cmd, size_t len, unsigned expected,
                             bool retry)
{
    uint64_t want = sim_hash_bytes(cmd, len);
    uint64_t t0 = s->c->now_us;
    unsigned starts = 0;
    while (s->c->now_us - t0 < 10000000 && !sim_scenario_failed(s)) {
        craft_index index = 0;
        for (unsigned k = 0; k < s->n; k++) {
            starts = starts % s->n + 1;
            craft_index idx;
            if (s->connected[starts] && sim_scenario_start(s, starts, cmd, len, &idx, NULL) == 0) {
                index = idx;
                break;
            }
        }
        if (index == 0) {
            sim_scenario_run_ms(s, 50);
            continue;
        }
        uint64_t t1 = s->c->now_us;
        while (s->c->now_us - t1 < 2000000 && !sim_scenario_failed(s)) {
            uint64_t h;
            unsigned nd = sim_scenario_n_committed(s, index, &h);
            if (nd > 0 && nd >= expected && h == want) {
                return index;
            }
            sim_scenario_run_ms(s, 20);
        }
        if (!retry) {
            break;
        }
    }
    sim_scenario_fail(s, "one(%.*s) failed to reach agreement on %u nodes", (int)len,
                      (const char *)cmd, expected);
    return 0;
}

craft_index sim_scenario_one_str(struct sim_scenario *s, const char *cmd, unsigned expected,
                                 bool retry)
{
    return sim_scenario_one(s, cmd, strlen(cmd), expected, retry);
}

unsigned sim_scenario_wait(struct sim_scenario *s, craft_index index, unsigned n, uint64_t ms)
{
    uint64_t end = s->c->now_us + ms * 1000;
    unsigned nd = 0;
    while (!sim_scenario_failed(s)) {
        uint64_t h;
        nd = sim_scenario_n_committed(s, index, &h);
        if (nd >= n || s->c->now_us >= end) {
            break;
        }
        sim_scenario_run_ms(s, 10);
    }
    return nd;
}

uint64_t sim_scenario_rpcs(struct sim_scenario *s)
{
    const struct sim_net_stats *st = &s->c->net.stats;
    return st->msgs[CRAFT_MSG_PREVOTE] + st->msgs[CRAFT_MSG_VOTE] + st->msgs[CRAFT_MSG_APPEND];
}

uint64_t sim_scenario_bytes(struct sim_scenario *s)
{
    uint64_t b = 0;
    for (unsigned t = 0; t <= CRAFT_MSG_TYPE_MAX; t++) {
        b += s->c->net.stats.bytes[t];
    }
    return b;
}
