/* Outcomes when leadership goes: a leader that lost its quorum answers CRAFT_EUNKNOWN for what
 * it appended, and under proposals from several threads across leadership changes every
 * callback runs exactly once and the replicas stay equal. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static const struct craft_node_threads default_threads = {.log_writer = true, .apply = true};

static void test_cluster_lost_quorum_answers_unknown(void **state)
{
    (void)state;
    int leader;
    struct cluster *c = cl_open(3, 3, default_threads, &leader);
    struct craft_result r;
    assert_int_equal(cl_propose(c, (unsigned)leader, 1, &r), 0);
    for (unsigned i = 0; i < c->n; i++) {
        if (i != (unsigned)leader) {
            cl_stop(c, i);
        }
    }
    /* Appended, never committed: check-quorum steps the leader down and the outcome is unknown. */
    unsigned char cmd[8] = {2};
    assert_int_equal(craft_node_propose_wait(c->nodes[leader].node, cmd, sizeof cmd, &r),
                     CRAFT_EUNKNOWN);
    assert_null(r.value);
    struct craft_node_status st;
    cl_status(c, (unsigned)leader, &st);
    assert_int_not_equal(st.role, CRAFT_NODE_LEADER);
    assert_int_equal(craft_node_propose_wait(c->nodes[leader].node, cmd, sizeof cmd, &r),
                     CRAFT_ENOTLEADER);
    cl_free(c);
}

/* ---- proposals through leadership changes ---- */

#define N_THREADS 3

struct tally {
    pthread_mutex_t mu;
    unsigned n_calls;
    unsigned n_ok;
    unsigned n_failed;
};

struct proposer {
    struct cluster *c;
    struct tally *t;
    atomic_bool *stop;
    unsigned n_submitted;
    uint64_t next;
};

static void count(void *arg, const struct craft_result *r)
{
    struct tally *t = arg;
    pthread_mutex_lock(&t->mu);
    t->n_calls++;
    if (r->status == 0) {
        t->n_ok++;
        free(r->value);
    } else {
        t->n_failed++;
    }
    pthread_mutex_unlock(&t->mu);
}

/* Proposes to every node in turn (followers answer CRAFT_ENOTLEADER): all callbacks count. */
static void *propose_loop(void *arg)
{
    struct proposer *p = arg;
    unsigned at = 0;
    while (!atomic_load(p->stop)) {
        unsigned char cmd[8];
        uint64_t v = p->next++;
        for (int b = 0; b < 8; b++) {
            cmd[b] = (unsigned char)(v >> (8 * b));
        }
        if (craft_node_propose(p->c->nodes[at].node, cmd, sizeof cmd, count, p->t) == 0) {
            p->n_submitted++;
        }
        at = (at + 1) % p->c->n;
        if (p->n_submitted % 64 == 0) {
            cl_pause_ms(1);
        }
    }
    return NULL;
}

static unsigned calls(struct tally *t)
{
    pthread_mutex_lock(&t->mu);
    unsigned n = t->n_calls;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static void test_cluster_callbacks_once_through_leader_changes(void **state)
{
    (void)state;
    int leader;
    struct cluster *c = cl_open(3, 3, default_threads, &leader);

    struct tally t;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.mu, NULL);
    atomic_bool stop;
    atomic_init(&stop, false);
    pthread_t threads[N_THREADS];
    struct proposer ps[N_THREADS];
    for (unsigned i = 0; i < N_THREADS; i++) {
        ps[i] = (struct proposer){.c = c, .t = &t, .stop = &stop, .next = 1000000u * (i + 1)};
        assert_int_equal(pthread_create(&threads[i], NULL, propose_loop, &ps[i]), 0);
    }
    /* Hand leadership around twice while they propose. */
    for (unsigned round = 0; round < 2; round++) {
        leader = cl_wait_leader(c, CL_WAIT_MS);
        assert_true(leader >= 0);
        unsigned target = ((unsigned)leader + 1) % c->n;
        struct craft_result r;
        int rv = craft_node_transfer_wait(c->nodes[leader].node, c->nodes[target].id, &r);
        assert_true(rv == 0 || rv == CRAFT_EBUSY || rv == CRAFT_ENOTLEADER);
        assert_true(cl_wait_leader(c, CL_WAIT_MS) >= 0);
    }
    atomic_store(&stop, true);
    unsigned submitted = 0;
    for (unsigned i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
        submitted += ps[i].n_submitted;
    }
    assert_true(CL_WAIT_UNTIL(calls(&t) >= submitted, CL_WAIT_MS));
    assert_int_equal(calls(&t), submitted);
    assert_true(t.n_ok > 0);

    /* The replicas agree once they have applied the same log: one more write settles it. */
    assert_int_equal(cl_propose_leader(c, 7, CL_WAIT_MS), 0);
    struct craft_node_status st;
    leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    cl_status(c, (unsigned)leader, &st);
    for (unsigned i = 0; i < c->n; i++) {
        struct craft_node_status s;
        assert_true(CL_WAIT_UNTIL((cl_status(c, i, &s), s.applied >= st.commit), CL_WAIT_MS));
    }
    assert_true(CL_WAIT_UNTIL(cl_replicas_equal(c), CL_WAIT_MS));
    assert_true(cl_fsm_view(&c->nodes[0].fsm).n_applied >= t.n_ok);
    /* Nothing more arrives later: each callback ran once. */
    cl_close(c);
    assert_int_equal(t.n_calls, submitted);
    pthread_mutex_destroy(&t.mu);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_lost_quorum_answers_unknown),
        cmocka_unit_test(test_cluster_callbacks_once_through_leader_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
