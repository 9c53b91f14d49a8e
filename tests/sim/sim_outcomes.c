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

void sim_outcomes_refused(struct sim_node *n, size_t k)
{
    CRAFT_ASSERT(n->n_waits >= k);
    n->n_waits -= k;
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

void sim_outcomes_on_output(struct sim_cluster *c, struct sim_node *n,
                            const struct craft_output *out)
{
    struct sim_checks *ck = &c->checks;
    for (size_t i = 0; i < out->n_proposals && !sim_checks_failed(ck); i++) {
        const struct craft_propose_result *r = &out->proposals[i];
        struct sim_outcome_wait w;
        if (!take(n, r->cookie, &w)) {
            sim_checks_fail(ck, n->id, "proposal_outcome_unasked",
                            "n%" PRIu64 " reports an outcome for cookie %" PRIu64
                            " it has no proposal waiting for (twice, or never asked)",
                            n->id, r->cookie);
            return;
        }
        if (r->status == CRAFT_EUNKNOWN) {
            c->work.outcomes_unknown++;
            continue;
        }
        const struct sim_committed *e =
            r->index >= 1 && r->index <= ck->n_committed ? &ck->committed[r->index - 1] : NULL;
        if (r->status != 0 || e == NULL || e->term != r->term || e->data_hash != w.data_hash) {
            sim_checks_fail(ck, n->id, "proposal_outcome_wrong",
                            "n%" PRIu64 " reports cookie %" PRIu64 " %s at (%" PRIu64
                            ", term %" PRIu64 "), which the committed history (%zu entries) "
                            "does not hold for that command",
                            n->id, r->cookie, craft_errname(r->status), r->index, r->term,
                            ck->n_committed);
            return;
        }
        c->work.outcomes_done++;
    }
}

void sim_outcomes_crash(struct sim_node *n)
{
    n->n_waits = 0;
}
