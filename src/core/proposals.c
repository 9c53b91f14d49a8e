/* Outcomes of the leader's proposals that carried a cookie, so a node can answer each requester:
 * done once its entry commits, unknown once the leadership that appended it ends first. */
#include "proposals.h"

#include <string.h>

#include "core_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

int proposals_track(struct craft_core *c, const uint64_t *cookies, size_t n, craft_index first)
{
    struct proposals *p = &c->proposals;
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    if (p->n > 0 && p->term != c->term) {
        proposals_advance(c); /* an earlier leadership's ends first */
    }
    if (p->head > 0 && p->head + p->n + n > p->cap) {
        memmove(p->wait, p->wait + p->head, p->n * sizeof *p->wait);
        p->head = 0;
    }
    if (!craft_grow((void **)&p->wait, &p->cap, p->head + p->n + n, sizeof *p->wait)) {
        return CRAFT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        p->wait[p->head + p->n + i] = (struct proposal_wait){.cookie = cookies[i],
                                                             .index = first + i};
    }
    p->n += n;
    p->term = c->term;
    return 0;
}

static void emit(struct craft_core *c, const struct proposal_wait *w, int status)
{
    struct proposals *p = &c->proposals;
    if (!craft_grow((void **)&p->done, &p->cap_done, p->n_done + 1, sizeof *p->done)) {
        c->out_of_memory = true; /* the outcome is lost: the caller sees CRAFT_ENOMEM */
        return;
    }
    p->done[p->n_done++] = (struct craft_propose_result){
        .cookie = w->cookie, .status = status, .index = w->index, .term = p->term};
}

void proposals_advance(struct craft_core *c)
{
    struct proposals *p = &c->proposals;
    bool leading = c->role == CRAFT_LEADER && c->term == p->term;
    craft_index done_upto = c->commit;
#ifdef CRAFT_MUTATION_PROPOSAL_DONE_EARLY
    done_upto = log_last_index(&c->log); /* mutation: done once appended, not once committed */
#endif
    while (p->n > 0) {
        const struct proposal_wait *w = &p->wait[p->head];
        if (w->index <= done_upto && (leading || log_term_at(&c->log, w->index) == p->term)) {
            emit(c, w, 0); /* committed, with the term it was appended in */
        } else if (!leading) {
            emit(c, w, CRAFT_EUNKNOWN); /* the leadership ended first */
        } else {
            break;
        }
        p->head++;
        p->n--;
    }
    if (p->n == 0) {
        p->head = 0;
    }
}

void proposals_close(struct proposals *p)
{
    craft_free(p->wait);
    craft_free(p->done);
    memset(p, 0, sizeof *p);
}
