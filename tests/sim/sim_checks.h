/* Raft's safety properties, checked incrementally as every step's outputs are carried out:
 * election_safety, leader_append_only, log_matching, leader_completeness, state_machine_safety,
 * committed_durable, and cheaper extras (log_contiguous, apply_matches_log, term_monotonic,
 * commit_monotonic, durable_hard_state, vote_once) and the protocol-rule checks (vote_durable,
 * ack_durable, leader_commit_current_term) that catch a broken rule at once, before it turns into
 * a safety violation; --safety-only turns the rule checks off to measure the safety checks alone.
 * The first violation is kept with its name and a detail line. */
#ifndef SIM_CHECKS_H
#define SIM_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "sim_disk.h"
#include "sim_map.h"
#include "sim_member.h"
#include "sim_node.h"
#include "sim_rules.h"

struct sim_committed {
    craft_term term;
    uint32_t type;
    uint64_t data_hash;
    size_t len;
    uint64_t prefix;
    craft_term commit_term; /* the term of the node that applied it first */
    uint32_t durable; /* bit mask of the nodes whose durable log holds this index with this term */
};

/* The configurations an entry was committed under: the committing leader's before and after the
 * step that committed it (a step may append a CONFIG entry after committing, and a batch of
 * messages may commit on both sides of it). Its durable copies must hold a majority of each half
 * of one of them. */
struct sim_commit_cfg {
    struct sim_cfg_mask before;
    struct sim_cfg_mask after;
};

struct sim_checks {
    unsigned n_nodes;
    unsigned majority;
    struct sim_node *nodes;   /* borrowed; nodes[1..n_nodes] */
    struct sim_map prefix_at; /* (index, term) -> prefix hash */
    struct sim_map leader_of; /* (term, 0) -> leader id */
    struct sim_map vote_of;   /* (voter, term) -> candidate */
    struct sim_committed *committed; /* owned; committed[i - 1] is index i */
    size_t n_committed;
    size_t cap_committed;
    /* commit_cfg[i - 1]: the configurations index i was committed under (its first commit by a
     * leader); set from step_cfg, which the cluster fills around every step of a node. */
    struct sim_commit_cfg *commit_cfg; /* owned */
    size_t n_commit_cfg;
    size_t cap_commit_cfg;
    struct sim_commit_cfg step_cfg;
    uint64_t elections;
    uint64_t now_us; /* for messages; set by the cluster */
    bool rule_checks; /* vote_durable, ack_durable, leader_commit_current_term, sim_rules */
    struct sim_rules rules;
    const char *violation; /* NULL until the first one */
    craft_id violation_node;
    char detail[512];
};

void sim_checks_init(struct sim_checks *ck, struct sim_node *nodes, unsigned n_nodes);
void sim_checks_close(struct sim_checks *ck);
bool sim_checks_failed(const struct sim_checks *ck);
void sim_checks_fail(struct sim_checks *ck, craft_id node, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The log part of an output (before its events are handled): checks and updates the mirror. */
void sim_checks_output_log(struct sim_checks *ck, struct sim_node *n, const struct craft_output *out);
/* A CRAFT_EVENT_ROLE or CRAFT_EVENT_COMMIT event (after the log part). */
void sim_checks_event(struct sim_checks *ck, struct sim_node *n, const struct craft_event *ev);
void sim_checks_hard_state(struct sim_checks *ck, struct sim_node *n,
                           const struct craft_hard_state *hs);
/* One committed entry handed to the state machine of n. */
void sim_checks_apply(struct sim_checks *ck, struct sim_node *n, const struct craft_entry *e);
/* A message is leaving n now (vote_once, vote_durable, ack_durable). */
void sim_checks_send(struct sim_checks *ck, const struct sim_node *n, const struct craft_msg *m);
/* n restarted: rebuild the mirror from its durable log and check it. */
void sim_checks_restart(struct sim_checks *ck, struct sim_node *n);
/* The sim_rules report hook: ctx is the sim_checks. */
void sim_checks_rule_fail(void *ctx, craft_id node, const char *name, const char *detail);
/* An observer of durable changes, for sim_disk. */
struct sim_disk_observer sim_checks_observer(struct sim_checks *ck);

#endif
