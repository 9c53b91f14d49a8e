/* Membership changes in the simulator (issue 11 §6): configurations as bit masks and their
 * majorities (a majority of each half of a joint one), the swarm's membership fault (a partial
 * bootstrap, change requests to leaders, non-leaders and isolated leaders) and the rule checks
 * of configurations: config_not_newest, config_before_term_commit, config_change_overlap,
 * change_not_leader (sim_member.c; their exact rules are in tests/sim/README.md). */
#ifndef SIM_MEMBER_H
#define SIM_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "util/prng.h"

/* A configuration as sets of node ids (bit i is node i; ids of the simulator are below 16). */
struct sim_cfg_mask {
    uint32_t voters; /* C_new, or the only configuration */
    uint32_t old;    /* C_old while joint, else 0 */
    uint32_t learners;
};

static inline uint32_t sim_member_bits(const craft_id *ids, unsigned n)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < n; i++) {
        m |= ids[i] < 32 ? (uint32_t)1 << ids[i] : 0;
    }
    return m;
}

static inline struct sim_cfg_mask sim_member_mask(const struct craft_membership *m)
{
    struct sim_cfg_mask k = {sim_member_bits(m->voters, m->n_voters),
                             sim_member_bits(m->voters_old, m->n_voters_old),
                             sim_member_bits(m->learners, m->n_learners)};
    return k;
}

static inline unsigned sim_member_count(uint32_t v)
{
    return (unsigned)__builtin_popcount(v);
}

/* holders include a majority of half (a half with no voters never has one). */
static inline bool sim_member_half(uint32_t half, uint32_t holders)
{
    unsigned n = sim_member_count(half);
    return n > 0 && sim_member_count(half & holders) >= n / 2 + 1;
}

/* holders include a majority of the voters and, while joint, a majority of C_old too. */
static inline bool sim_member_quorum(const struct sim_cfg_mask *cfg, uint32_t holders)
{
    return sim_member_half(cfg->voters, holders) &&
           (cfg->old == 0 || sim_member_half(cfg->old, holders));
}

/* A member in any role (voter of either half, learner). */
static inline bool sim_member_has(const struct sim_cfg_mask *cfg, craft_id id)
{
    return id < 32 && ((cfg->voters | cfg->old | cfg->learners) >> id & 1) != 0;
}

static inline bool sim_member_equal(const struct sim_cfg_mask *a, const struct sim_cfg_mask *b)
{
    return a->voters == b->voters && a->old == b->old && a->learners == b->learners;
}

struct sim_cluster;
struct sim_node;
struct sim_params;
struct sim_event;

/* Per-run state of the membership fault. */
struct sim_member {
    struct prng rng; /* own generator: the other draws of a seed do not move */
    uint64_t asked;
    uint64_t accepted;
};

/* Draws the membership parameters of p from r (called last in sim_swarm_draw). */
void sim_member_draw(struct prng *r, struct sim_params *p);
/* Starts the change requests of the fault phase (when p.member_us_max > 0). */
void sim_member_start(struct sim_cluster *c);
/* SIM_EV_MEMBER: one change request (node 0: a random target, else that node). */
void sim_member_event(struct sim_cluster *c, const struct sim_event *ev);
/* n just became leader (targeted requests before its term has committed anything). */
void sim_member_on_leader(struct sim_cluster *c, struct sim_node *n);
/* Asks node at for target through CRAFT_IN_CHANGE (traced as kind); returns the core's answer
 * (CRAFT_ENOTLEADER when at is down). */
int sim_member_change(struct sim_cluster *c, craft_id at, const struct craft_membership *target,
                      uint32_t kind);
/* After each step of n that produced out (already carried out); cfg_before is n's configuration
 * index before the step: mirror bookkeeping, the rule checks, the CONFIG trace. */
void sim_member_after_step(struct sim_cluster *c, struct sim_node *n,
                           const struct craft_output *out, craft_index cfg_before);
/* The configuration that matters now: the live leader's of the highest term (returned), else
 * that of the up node holding the newest configuration (CRAFT_ID_NONE returned). */
craft_id sim_member_config(const struct sim_cluster *c, struct sim_cfg_mask *cfg);

#endif
