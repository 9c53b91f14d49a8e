/* Measuring election times and counting split votes. */
#include "sim_elect.h"

#include <stdlib.h>
#include <string.h>

#include "sim_cluster.h"
#include "util/assert.h"
#include "sim_mem.h"

static_assert(sizeof(((struct sim_elect *)0)->cand_seen) / sizeof(craft_term) == SIM_NODES_MAX + 1,
              "one slot per node id");

void sim_elect_init(struct sim_elect *e)
{
    memset(e, 0, sizeof(*e));
}

void sim_elect_close(struct sim_elect *e)
{
    craft_free(e->cand_terms);
    memset(e, 0, sizeof(*e));
}

void sim_elect_hist_add(struct sim_elect_hist *h, uint64_t us)
{
    uint64_t b = us / SIM_ELECT_BUCKET_US;
    h->bucket[b < SIM_ELECT_BUCKETS ? b : SIM_ELECT_BUCKETS - 1]++;
    h->n++;
    h->sum_us += us;
    h->max_us = us > h->max_us ? us : h->max_us;
}

void sim_elect_hist_merge(struct sim_elect_hist *into, const struct sim_elect_hist *h)
{
    into->n += h->n;
    into->sum_us += h->sum_us;
    into->max_us = h->max_us > into->max_us ? h->max_us : into->max_us;
    for (unsigned i = 0; i < SIM_ELECT_BUCKETS; i++) {
        into->bucket[i] += h->bucket[i];
    }
}

uint64_t sim_elect_hist_quantile(const struct sim_elect_hist *h, unsigned permille)
{
    CRAFT_ASSERT(permille <= 1000);
    if (h->n == 0) {
        return 0;
    }
    uint64_t want = (h->n * permille + 999) / 1000;
    uint64_t seen = 0;
    for (unsigned i = 0; i < SIM_ELECT_BUCKETS - 1; i++) {
        seen += h->bucket[i];
        if (seen >= want) {
            uint64_t edge = (uint64_t)(i + 1) * SIM_ELECT_BUCKET_US;
            return edge < h->max_us ? edge : h->max_us;
        }
    }
    return h->max_us;
}

static void note_candidate(struct sim_elect *e, craft_id id, craft_term term)
{
    if (e->cand_seen[id] == term) {
        return;
    }
    e->cand_seen[id] = term;
    sim_grow((void **)&e->cand_terms, &e->cap_cand, e->n_cand + 1, sizeof(craft_term));
    e->cand_terms[e->n_cand++] = term;
}

void sim_elect_observe(struct sim_cluster *c)
{
    struct sim_elect *e = &c->elect;
    bool leader = false;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (!n->up) {
            continue;
        }
        leader = leader || n->role == CRAFT_LEADER;
        if (n->role == CRAFT_CANDIDATE) {
            note_candidate(e, i, n->term);
        }
    }
    if (e->had_leader && !leader) {
        e->lost_us = c->now_us;
    } else if (!e->had_leader && leader && e->lost_us != 0) {
        sim_elect_hist_add(&e->all, c->now_us - e->lost_us);
    }
    e->had_leader = leader;
}

static int cmp_term(const void *a, const void *b)
{
    craft_term x = *(const craft_term *)a;
    craft_term y = *(const craft_term *)b;
    return x < y ? -1 : x > y;
}

uint64_t sim_elect_split_votes(struct sim_cluster *c)
{
    struct sim_elect *e = &c->elect;
    if (e->n_cand == 0) {
        return 0;
    }
    qsort(e->cand_terms, e->n_cand, sizeof(craft_term), cmp_term);
    uint64_t splits = 0;
    for (size_t i = 0; i < e->n_cand; i++) {
        if (i > 0 && e->cand_terms[i] == e->cand_terms[i - 1]) {
            continue;
        }
        uint64_t who;
        splits += !sim_map_get(&c->checks.leader_of, e->cand_terms[i], 0, &who);
    }
    return splits;
}
