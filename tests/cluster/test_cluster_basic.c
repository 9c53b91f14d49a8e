/* A 3-node cluster over TCP with real WALs: election, replication with the state machine's
 * results, proposals from several threads at once, a follower's answer, size limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static const struct craft_node_threads default_threads = {.log_writer = true, .apply = true};

static int setup3(void **state)
{
    struct cluster *c = cl_open(3, 3, default_threads, NULL);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct cluster *c = *state;
    cl_free(c);
    return 0;
}

static void test_cluster_elects_one_leader(void **state)
{
    struct cluster *c = *state;
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned n_leaders = 0;
    for (unsigned i = 0; i < c->n; i++) {
        struct craft_node_status st;
        cl_status(c, i, &st);
        assert_int_equal(st.id, c->nodes[i].id);
        assert_int_equal(st.membership.n_voters, 3);
        n_leaders += st.role == CRAFT_NODE_LEADER;
        assert_int_equal(st.leader, c->nodes[leader].id);
    }
    assert_int_equal(n_leaders, 1);
    struct craft_node_status st;
    cl_status(c, (unsigned)leader, &st);
    assert_true(st.term >= 1);
    assert_int_equal(st.n_followers, 2); /* the leader reports its followers' progress */
}

static void test_cluster_replicates_with_results(void **state)
{
    struct cluster *c = *state;
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    craft_index last = 0;
    for (uint64_t v = 1; v <= 20; v++) {
        unsigned char buf[8] = {(unsigned char)v};
        struct craft_result r;
        int rv = craft_node_propose_wait(c->nodes[leader].node, buf, sizeof buf, &r);
        assert_int_equal(rv, 0);
        assert_int_equal(r.status, 0);
        assert_true(r.index > last);
        last = r.index;
        assert_true(r.term >= 1);
        /* The state machine's result: the count of commands after this one. */
        assert_non_null(r.value);
        assert_int_equal(*(uint64_t *)r.value, v);
        free(r.value);
    }
    assert_true(cl_wait_applied(c, 20, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    struct cl_fsm_view v = cl_fsm_view(&c->nodes[0].fsm);
    assert_int_equal(v.sum, 20 * 21 / 2);
    /* Every replica's status has caught up with the commit. */
    for (unsigned i = 0; i < c->n; i++) {
        struct craft_node_status st;
        assert_true(CL_WAIT_UNTIL((cl_status(c, i, &st), st.applied >= last), CL_WAIT_MS));
        assert_true(st.commit >= last);
        assert_true(st.last_index >= last);
    }
}

/* ---- proposals from several threads at once ---- */

#define N_THREADS 4
#define PER_THREAD 50

struct async_state {
    pthread_mutex_t mu;
    unsigned n_done;
    unsigned n_ok;
    unsigned n_other;
    unsigned n_dup; /* (cmocka's asserts belong to the test's thread: failures are counted) */
    bool seen[N_THREADS * PER_THREAD + 1]; /* by the fsm's count: each result once */
};

struct proposer {
    struct craft_node *node;
    struct async_state *st;
    unsigned base;
    unsigned n_submitted;
    int err; /* a submission's unexpected error */
};

static void async_done(void *arg, const struct craft_result *r)
{
    struct async_state *st = arg;
    pthread_mutex_lock(&st->mu);
    st->n_done++;
    if (r->status == 0) {
        uint64_t count = *(uint64_t *)r->value;
        if (count <= N_THREADS * PER_THREAD) {
            st->n_dup += st->seen[count];
            st->seen[count] = true;
        }
        st->n_ok++;
        free(r->value);
    } else {
        st->n_other++;
    }
    pthread_mutex_unlock(&st->mu);
}

static void *propose_thread(void *arg)
{
    struct proposer *p = arg;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        uint64_t v = p->base + i;
        unsigned char buf[8];
        for (int b = 0; b < 8; b++) {
            buf[b] = (unsigned char)(v >> (8 * b));
        }
        int rv;
        while ((rv = craft_node_propose(p->node, buf, sizeof buf, async_done, p->st)) ==
               CRAFT_EBUSY) {
            cl_pause_ms(1);
        }
        if (rv != 0) {
            p->err = rv;
            return NULL;
        }
        p->n_submitted++;
    }
    return NULL;
}

static bool all_done(struct async_state *st, unsigned n)
{
    pthread_mutex_lock(&st->mu);
    bool done = st->n_done == n;
    pthread_mutex_unlock(&st->mu);
    return done;
}

static void test_cluster_async_proposals_from_threads(void **state)
{
    struct cluster *c = *state;
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct async_state *st = calloc(1, sizeof *st);
    assert_non_null(st);
    pthread_mutex_init(&st->mu, NULL);
    pthread_t threads[N_THREADS];
    struct proposer ps[N_THREADS];
    for (unsigned t = 0; t < N_THREADS; t++) {
        ps[t] = (struct proposer){
            .node = c->nodes[leader].node, .st = st, .base = 1000 * (t + 1), .n_submitted = 0};
        assert_int_equal(pthread_create(&threads[t], NULL, propose_thread, &ps[t]), 0);
    }
    for (unsigned t = 0; t < N_THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(ps[t].err, 0);
        assert_int_equal(ps[t].n_submitted, PER_THREAD);
    }
    assert_true(CL_WAIT_UNTIL(all_done(st, N_THREADS * PER_THREAD), CL_WAIT_MS));
    assert_int_equal(st->n_ok, N_THREADS * PER_THREAD);
    assert_int_equal(st->n_other, 0);
    assert_int_equal(st->n_dup, 0);
    assert_true(cl_wait_applied(c, N_THREADS * PER_THREAD, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    for (unsigned t = 0; t < N_THREADS; t++) {
        for (unsigned i = 0; i < PER_THREAD; i++) {
            assert_true(cl_fsm_has(&c->nodes[0].fsm, ps[t].base + i));
        }
    }
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void test_cluster_follower_answers_not_leader(void **state)
{
    struct cluster *c = *state;
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned follower = ((unsigned)leader + 1) % c->n;
    struct craft_result r;
    assert_int_equal(cl_propose(c, follower, 7, &r), CRAFT_ENOTLEADER);
    assert_int_equal(r.status, CRAFT_ENOTLEADER);
    assert_int_equal(r.leader, c->nodes[leader].id);
    char want[CRAFT_ADDRESS_MAX];
    snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)c->nodes[leader].port);
    assert_string_equal(r.leader_address, want);
    assert_null(r.value);
}

static void test_cluster_proposal_size_limit(void **state)
{
    struct cluster *c = *state;
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    size_t len = (size_t)c->entry_bytes_max + 1;
    char *big = calloc(1, len);
    assert_non_null(big);
    struct craft_result r;
    assert_int_equal(craft_node_propose_wait(c->nodes[leader].node, big, len, &r), CRAFT_ETOOBIG);
    assert_int_equal(r.status, CRAFT_ETOOBIG);
    /* At the limit it goes through. */
    assert_int_equal(craft_node_propose_wait(c->nodes[leader].node, big, len - 1, &r), 0);
    free(r.value);
    free(big);
    assert_true(cl_wait_applied(c, 1, CL_WAIT_MS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cluster_elects_one_leader, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_replicates_with_results, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_async_proposals_from_threads, setup3,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cluster_follower_answers_not_leader, setup3,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cluster_proposal_size_limit, setup3, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
