/* Checking the outcomes of proposals against the committed history. */
#include "sim_outcomes.h"

#include <inttypes.h>

#include "sim_cluster.h"
#include "sim_hash.h"
#include "sim_mem.h"

void sim_outcomes_propose(struct sim_cluster *c, struct sim_node *n, const struct craft_buf *cmds,
                          size_t k, uint64_t *cookies)
{
    void *arr = n->waits;
    sim_grow(&arr, &n->cap_waits, n->n_waits + k, sizeof *n->waits);
    n->waits = arr;
    for (size_t i = 0; i < k; i++) {
        cookies[i] = ++c->next_cookie;
        n->waits[n->n_waits++] = (struct sim_outcome_wait){
            .cookie = cookies[i], .data_hash = sim_hash_bytes(cmds[i].base, cmds[i].len)};
    }
}


/* Removes the wait for cookie; false when there is none. Outcomes come in index order, so the
 * one looked for is nearly always first. */
static bool take(struct sim_node *n, uint64_t cookie, struct sim_outcome_wait *out)
{
    for (size_t i = 0; i < n->n_waits; i++) {
        if (n->waits[i].cookie == cookie) {
            *out = n->waits[i];
            for (size_t j = i + 1; j < n->n_waits; j++) {
                n->waits[j - 1] = n->waits[j];
            }
            n->n_waits--;
            return true;
        }
    }
    return false;
}

static struct sim_outcome_wait *find(struct sim_node *n, uint64_t cookie)
{
    for (size_t i = 0; i < n->n_waits; i++) {
        if (n->waits[i].cookie == cookie) {
            return &n->waits[i];
        }
    }
    return NULL;
}

void sim_outcomes_complete(struct sim_cluster *c, struct sim_node *n, uint64_t cookie, int status)
{
    if (cookie >= SIM_COOKIE_READ_BASE || status == CRAFT_EUNKNOWN) {
        return; /* not a proposal, or an outcome of the core's (sim_outcomes_on_output) */
    }
    struct sim_outcome_wait w;
    if (status == 0) {
        sim_checks_fail(&c->checks, n->id, "proposal_result_unrouted",
                        "n%" PRIu64 " ends proposal %" PRIu64 " as done outside the state "
                        "machine: its result never reaches the proposer",
                        n->id, cookie);
    } else if (!take(n, cookie, &w)) {
        sim_checks_fail(&c->checks, n->id, "proposal_outcome_unasked",
                        "n%" PRIu64 " refuses proposal %" PRIu64 " (%s) it has no proposal "
                        "waiting for",
                        n->id, cookie, craft_errname(status));
    }
}

void sim_outcomes_check_result(struct sim_cluster *c, struct sim_node *n,
                               const struct craft_entry *e, uint64_t cookie)
{
    if (cookie == 0) {
        return;
    }
    struct sim_outcome_wait *w = find(n, cookie);
    if (w == NULL || w->applied || w->data_hash != sim_hash_bytes(e->data.base, e->data.len)) {
        sim_checks_fail(&c->checks, n->id, "proposal_result_misrouted",
                        "n%" PRIu64 " hands entry %" PRIu64 " to the state machine for proposal %"
                        PRIu64 ", %s",
                        n->id, e->index, cookie,
                        w == NULL      ? "which waits for nothing"
                        : w->applied   ? "which got a result already"
                                       : "which proposed another command");
        return;
    }
    w->applied = true;
    if (w->done) {
        struct sim_outcome_wait gone;
        (void)take(n, cookie, &gone);
    }
}

/* The entry (r->index, r->term) holds the command hashed data_hash and is committed: by the
 * committed history where it reaches that far; else (no node has applied it yet: apply runs
 * behind commit) by the node's log and commit index, which the other checks hold to that
 * history once anything applies it. */
static bool committed_as(const struct sim_checks *ck, const struct sim_node *n,
                         const struct craft_propose_result *r, uint64_t data_hash)
{
    if (r->index < 1) {
        return false;
    }
    if (r->index <= ck->n_committed) {
        const struct sim_committed *e = &ck->committed[r->index - 1];
        return e->term == r->term && e->data_hash == data_hash;
    }
    return r->index <= n->commit && r->index <= n->n_log && n->log[r->index - 1].term == r->term &&
           n->log[r->index - 1].data_hash == data_hash;
}

void sim_outcomes_on_output(struct sim_cluster *c, struct sim_node *n,
                            const struct craft_output *out)
{
    struct sim_checks *ck = &c->checks;
    for (size_t i = 0; i < out->n_proposals && !sim_checks_failed(ck); i++) {
        const struct craft_propose_result *r = &out->proposals[i];
        struct sim_outcome_wait *wp = find(n, r->cookie);
        if (wp == NULL || wp->done) {
            sim_checks_fail(ck, n->id, "proposal_outcome_unasked",
                            "n%" PRIu64 " reports an outcome for cookie %" PRIu64
                            " it has no proposal waiting for (twice, or never asked)",
                            n->id, r->cookie);
            return;
        }
        struct sim_outcome_wait w = *wp;
        if (r->status == CRAFT_EUNKNOWN) {
            (void)take(n, r->cookie, &w);
            c->work.outcomes_unknown++;
            continue;
        }
        if (r->status != 0 || !committed_as(ck, n, r, w.data_hash)) {
            sim_checks_fail(ck, n->id, "proposal_outcome_wrong",
                            "n%" PRIu64 " reports cookie %" PRIu64 " %s at (%" PRIu64
                            ", term %" PRIu64 "), which the committed history (%zu entries) "
                            "does not hold for that command",
                            n->id, r->cookie, craft_errname(r->status), r->index, r->term,
                            ck->n_committed);
            return;
        }
        if (w.applied) {
            (void)take(n, r->cookie, &w);
        } else {
            wp->done = true;
        }
        c->work.outcomes_done++;
    }
}

void sim_outcomes_crash(struct sim_node *n)
{
    n->n_waits = 0;
}
