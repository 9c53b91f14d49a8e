/* Nodes on the application's libuv loop (craft_node_config.loop): each node of the cluster runs
 * on a "host" thread's loop, as an embedding server's would. Requests made on that thread reach
 * their callbacks on it, never from inside the call; _wait calls there fail with
 * CRAFT_EDEADLOCK; other threads still propose, read and transfer through the queue; destroy on
 * the loop's thread ends what is pending and leaves nothing open once the loop ran on; a node
 * restarts on the same loop from its data. Also run under valgrind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "cluster.h"

/* ---- a host: a thread running a loop, and a way to run a job on it ---- */

struct host;
typedef void (*host_job_fn)(struct host *h, void *arg);

struct host {
    uv_loop_t loop;
    uv_async_t call; /* the test thread's jobs */
    pthread_t thread;
    pthread_t tid; /* set by the host thread itself, before its loop runs */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    host_job_fn job; /* under mu: the job waiting, NULL when none */
    void *job_arg;
    bool job_done;
    int loop_close_rv; /* uv_loop_close's, once the loop ran out of handles */
};

static void on_call(uv_async_t *a)
{
    struct host *h = a->data;
    pthread_mutex_lock(&h->mu);
    host_job_fn job = h->job;
    void *arg = h->job_arg;
    pthread_mutex_unlock(&h->mu);
    if (job == NULL) {
        return;
    }
    job(h, arg);
    pthread_mutex_lock(&h->mu);
    h->job = NULL;
    h->job_done = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

static void *host_main(void *arg)
{
    struct host *h = arg;
    h->tid = pthread_self();
    uv_run(&h->loop, UV_RUN_DEFAULT);
    /* Runs out once the call handle is closed and every node on it has closed its handles. */
    h->loop_close_rv = uv_loop_close(&h->loop);
    return NULL;
}

static void host_start(struct host *h)
{
    memset(h, 0, sizeof *h);
    assert_int_equal(uv_loop_init(&h->loop), 0);
    assert_int_equal(uv_async_init(&h->loop, &h->call, on_call), 0);
    h->call.data = h;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cond, NULL);
    h->loop_close_rv = -1;
    assert_int_equal(pthread_create(&h->thread, NULL, host_main, h), 0);
}

/* Runs job(h, arg) on the host's thread and waits (bounded) until it returned. */
static void host_run(struct host *h, host_job_fn job, void *arg)
{
    pthread_mutex_lock(&h->mu);
    assert_null(h->job);
    h->job = job;
    h->job_arg = arg;
    h->job_done = false;
    pthread_mutex_unlock(&h->mu);
    uv_async_send(&h->call);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += CL_WAIT_MS / 1000u;
    pthread_mutex_lock(&h->mu);
    int rv = 0;
    while (!h->job_done && rv == 0) {
        rv = pthread_cond_timedwait(&h->cond, &h->mu, &deadline);
    }
    bool done = h->job_done;
    pthread_mutex_unlock(&h->mu);
    assert_true(done);
}

static void job_close_call(struct host *h, void *arg)
{
    (void)arg;
    uv_close((uv_handle_t *)&h->call, NULL);
}

/* Ends the host: its loop must then run out (every node on it destroyed) and close cleanly. */
static void host_stop(struct host *h)
{
    host_run(h, job_close_call, NULL);
    assert_int_equal(pthread_join(h->thread, NULL), 0);
    assert_int_equal(h->loop_close_rv, 0);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->mu);
}

/* ---- the cluster on hosts ---- */

struct shared {
    struct cluster c;
    struct host hosts[CL_NODES_MAX];
};

struct node_job {
    struct cluster *c;
    unsigned i;
    int rv;
    char errmsg[256];
};

static void job_create(struct host *h, void *arg)
{
    struct node_job *j = arg;
    struct craft_node_config cfg;
    (void)h;
    cl_config(j->c, j->i, &cfg);
    j->rv = craft_node_create(&cfg, &cl_fsm_ops, &j->c->nodes[j->i].fsm, &j->c->nodes[j->i].node,
                              j->errmsg, sizeof j->errmsg);
}

static void job_destroy(struct host *h, void *arg)
{
    struct node_job *j = arg;
    (void)h;
    craft_node_destroy(j->c->nodes[j->i].node);
    j->c->nodes[j->i].node = NULL;
}

/* Starts node i on its host's loop; the running nodes learn its address from this (another)
 * thread, through their queues. */
static void shared_start(struct shared *s, unsigned i)
{
    struct cl_node *cn = &s->c.nodes[i];
    bool first = cn->port == 0;
    struct node_job j = {.c = &s->c, .i = i};
    host_run(&s->hosts[i], job_create, &j);
    if (j.rv != 0) {
        fail_msg("node %u: craft_node_create: %s: %s", (unsigned)cn->id, craft_errname(j.rv),
                 j.errmsg);
    }
    cn->port = craft_node_listen_port(cn->node);
    assert_true(cn->port != 0);
    if (first) {
        struct craft_peer p = {.id = cn->id};
        snprintf(p.address, sizeof p.address, "127.0.0.1:%u", (unsigned)cn->port);
        for (unsigned k = 0; k < s->c.n; k++) {
            if (k != i && s->c.nodes[k].node != NULL) {
                int rv = craft_node_add_peer(s->c.nodes[k].node, &p);
                assert_true(rv == 0 || rv == CRAFT_EEXIST);
            }
        }
    }
}

static void shared_stop(struct shared *s, unsigned i)
{
    if (s->c.nodes[i].node != NULL) {
        struct node_job j = {.c = &s->c, .i = i};
        host_run(&s->hosts[i], job_destroy, &j);
        assert_null(s->c.nodes[i].node);
    }
}

static struct shared *shared_open(unsigned n)
{
    struct shared *s = calloc(1, sizeof *s);
    assert_non_null(s);
    struct craft_node_threads threads = {.log_writer = true, .apply = false}; /* the default */
    cl_init(&s->c, n, n, threads);
    for (unsigned i = 0; i < n; i++) {
        host_start(&s->hosts[i]);
        s->c.loops[i] = &s->hosts[i].loop;
    }
    for (unsigned i = 0; i < n; i++) {
        shared_start(s, i);
    }
    return s;
}

static void shared_free(struct shared *s)
{
    for (unsigned i = 0; i < s->c.n; i++) {
        shared_stop(s, i);
        host_stop(&s->hosts[i]);
    }
    cl_close(&s->c);
    free(s);
}

/* ---- requests made on the loop's thread ---- */

/* What the callbacks saw (they run on a host thread). */
struct seen {
    pthread_mutex_t mu;
    struct host *host;
    bool in_call; /* the submitting call is running */
    unsigned n_calls;
    unsigned n_ok;
    unsigned n_shutdown;
    unsigned n_other;
    unsigned n_in_call;  /* callbacks that ran inside the call that submitted them */
    unsigned n_off_loop; /* callbacks on a thread other than the host's */
    uint64_t read_sum;   /* what a read's fn saw */
    unsigned n_read_fn_off_loop;
    int last_status;
};

static void seen_init(struct seen *t, struct host *h)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->host = h;
}

static void on_result(void *arg, const struct craft_result *r)
{
    struct seen *t = arg;
    pthread_mutex_lock(&t->mu);
    t->n_calls++;
    t->n_in_call += t->in_call ? 1u : 0u;
    t->n_off_loop += pthread_equal(pthread_self(), t->host->tid) ? 0u : 1u;
    t->last_status = r->status;
    if (r->status == 0) {
        t->n_ok++;
    } else if (r->status == CRAFT_ESHUTDOWN) {
        t->n_shutdown++;
    } else {
        t->n_other++;
    }
    pthread_mutex_unlock(&t->mu);
    free(r->value);
}

static void read_sum(void *arg, void *fsm_ctx)
{
    struct seen *t = arg;
    struct cl_fsm_view v = cl_fsm_view(fsm_ctx);
    pthread_mutex_lock(&t->mu);
    t->read_sum = v.sum;
    t->n_read_fn_off_loop += pthread_equal(pthread_self(), t->host->tid) ? 0u : 1u;
    pthread_mutex_unlock(&t->mu);
}

static unsigned seen_calls(struct seen *t)
{
    pthread_mutex_lock(&t->mu);
    unsigned k = t->n_calls;
    pthread_mutex_unlock(&t->mu);
    return k;
}

struct req_job {
    struct craft_node *node;
    struct seen *seen;
    uint64_t first; /* proposals: first .. first + count - 1 */
    unsigned count;
    craft_id target;
    int rv;         /* the submitting calls' (0 when each was accepted) */
    int wait_rv[5]; /* the _wait forms', on the loop's thread */
};

static void job_propose(struct host *h, void *arg)
{
    struct req_job *j = arg;
    (void)h;
    j->rv = 0;
    for (unsigned k = 0; k < j->count && j->rv == 0; k++) {
        unsigned char buf[8];
        uint64_t v = j->first + k;
        for (int b = 0; b < 8; b++) {
            buf[b] = (unsigned char)(v >> (8 * b));
        }
        pthread_mutex_lock(&j->seen->mu);
        j->seen->in_call = true;
        pthread_mutex_unlock(&j->seen->mu);
        j->rv = craft_node_propose(j->node, buf, sizeof buf, on_result, j->seen);
        pthread_mutex_lock(&j->seen->mu);
        j->seen->in_call = false;
        pthread_mutex_unlock(&j->seen->mu);
    }
}

static void job_read(struct host *h, void *arg)
{
    struct req_job *j = arg;
    (void)h;
    pthread_mutex_lock(&j->seen->mu);
    j->seen->in_call = true;
    pthread_mutex_unlock(&j->seen->mu);
    j->rv = craft_node_read(j->node, CRAFT_NODE_READ_LINEARIZABLE, read_sum, on_result, j->seen);
    pthread_mutex_lock(&j->seen->mu);
    j->seen->in_call = false;
    pthread_mutex_unlock(&j->seen->mu);
}

static void job_transfer(struct host *h, void *arg)
{
    struct req_job *j = arg;
    (void)h;
    j->rv = craft_node_transfer(j->node, j->target, on_result, j->seen);
}

static void job_waits(struct host *h, void *arg)
{
    struct req_job *j = arg;
    struct craft_result r;
    struct craft_membership m;
    (void)h;
    memset(&m, 0, sizeof m);
    unsigned char buf[8] = {1};
    j->wait_rv[0] = craft_node_propose_wait(j->node, buf, sizeof buf, &r);
    j->wait_rv[1] = craft_node_read_wait(j->node, CRAFT_NODE_READ_STALE, NULL, NULL, &r);
    j->wait_rv[2] = craft_node_change_wait(j->node, &m, &r);
    j->wait_rv[3] = craft_node_transfer_wait(j->node, CRAFT_ID_NONE, &r);
    j->wait_rv[4] = craft_node_snapshot_wait(j->node, &r);
}

static void test_cluster_shared_loop_requests_on_the_loop(void **state)
{
    (void)state;
    struct shared *s = shared_open(3);
    int leader = cl_wait_leader(&s->c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct host *h = &s->hosts[leader];
    struct seen t;
    seen_init(&t, h);

    /* 20 proposals made on the leader's loop: each answered once, on that loop, later. */
    struct req_job j = {.node = s->c.nodes[leader].node, .seen = &t, .first = 1, .count = 20};
    host_run(h, job_propose, &j);
    assert_int_equal(j.rv, 0);
    assert_true(CL_WAIT_UNTIL(seen_calls(&t) == 20, CL_WAIT_MS));
    assert_int_equal(t.n_ok, 20);
    assert_int_equal(t.n_in_call, 0);
    assert_int_equal(t.n_off_loop, 0);
    assert_true(cl_wait_applied(&s->c, 20, CL_WAIT_MS));
    assert_true(cl_replicas_equal(&s->c));

    /* A linearizable read on each node's loop sees all of them (sum 1..20 = 210): on the
     * leader and, through ReadIndex, on the followers; fn and callback on that loop. */
    for (unsigned i = 0; i < s->c.n; i++) {
        struct seen u;
        seen_init(&u, &s->hosts[i]);
        struct req_job r = {.node = s->c.nodes[i].node, .seen = &u};
        host_run(&s->hosts[i], job_read, &r);
        assert_int_equal(r.rv, 0);
        assert_true(CL_WAIT_UNTIL(seen_calls(&u) == 1, CL_WAIT_MS));
        assert_int_equal(u.n_ok, 1);
        assert_int_equal(u.read_sum, 210);
        assert_int_equal(u.n_in_call, 0);
        assert_int_equal(u.n_off_loop, 0);
        assert_int_equal(u.n_read_fn_off_loop, 0);
        pthread_mutex_destroy(&u.mu);
    }

    /* A follower refuses a proposal made on its loop: the refusal, known at once, still comes
     * after the call returned, on that loop. */
    unsigned follower = ((unsigned)leader + 1) % s->c.n;
    struct seen f;
    seen_init(&f, &s->hosts[follower]);
    struct req_job fj = {.node = s->c.nodes[follower].node, .seen = &f, .first = 99, .count = 1};
    host_run(&s->hosts[follower], job_propose, &fj);
    assert_int_equal(fj.rv, 0);
    assert_true(CL_WAIT_UNTIL(seen_calls(&f) == 1, CL_WAIT_MS));
    assert_int_equal(f.last_status, CRAFT_ENOTLEADER);
    assert_int_equal(f.n_in_call, 0);
    assert_int_equal(f.n_off_loop, 0);
    pthread_mutex_destroy(&f.mu);

    /* The _wait forms would block the loop that answers them: refused at once, nothing done. */
    struct req_job w = {.node = s->c.nodes[leader].node, .seen = &t};
    host_run(h, job_waits, &w);
    for (unsigned k = 0; k < 5; k++) {
        assert_int_equal(w.wait_rv[k], CRAFT_EDEADLOCK);
    }
    assert_int_equal(cl_fsm_view(&s->c.nodes[leader].fsm).n_applied, 20);

    /* A transfer made on the loop: another node leads afterwards. */
    unsigned target = follower;
    struct seen tt;
    seen_init(&tt, h);
    struct req_job x = {.node = s->c.nodes[leader].node, .seen = &tt, .target = target + 1};
    host_run(h, job_transfer, &x);
    assert_int_equal(x.rv, 0);
    assert_true(CL_WAIT_UNTIL(seen_calls(&tt) == 1, CL_WAIT_MS));
    assert_int_equal(tt.last_status, 0);
    assert_int_equal(tt.n_off_loop, 0);
    assert_int_equal(cl_wait_leader(&s->c, CL_WAIT_MS), (int)target);

    pthread_mutex_destroy(&tt.mu);
    pthread_mutex_destroy(&t.mu);
    shared_free(s);
}

/* ---- requests from other threads ---- */

static void read_view(void *arg, void *fsm_ctx)
{
    *(struct cl_fsm_view *)arg = cl_fsm_view(fsm_ctx);
}

static void test_cluster_shared_loop_requests_from_other_threads(void **state)
{
    (void)state;
    struct shared *s = shared_open(3);
    int leader = cl_wait_leader(&s->c, CL_WAIT_MS);
    assert_true(leader >= 0);
    /* This thread is none of the loops': the _wait forms work, through the queue. */
    struct craft_result r;
    for (uint64_t v = 1; v <= 10; v++) {
        unsigned char cmd[8] = {(unsigned char)v};
        assert_int_equal(craft_node_propose_wait(s->c.nodes[leader].node, cmd, sizeof cmd, &r), 0);
        assert_non_null(r.value);
        assert_int_equal(*(uint64_t *)r.value, v); /* the state machine's count after it */
        free(r.value);
    }
    for (unsigned i = 0; i < s->c.n; i++) {
        struct cl_fsm_view v = {0};
        assert_int_equal(craft_node_read_wait(s->c.nodes[i].node, CRAFT_NODE_READ_LINEARIZABLE,
                                              read_view, &v, &r),
                         0);
        assert_int_equal(v.sum, 55);
    }
    /* A follower refuses a proposal, naming the leader. */
    unsigned follower = ((unsigned)leader + 1) % s->c.n;
    unsigned char buf[8] = {7};
    assert_int_equal(craft_node_propose_wait(s->c.nodes[follower].node, buf, sizeof buf, &r),
                     CRAFT_ENOTLEADER);
    assert_int_equal(r.leader, s->c.nodes[leader].id);
    assert_int_equal(craft_node_transfer_wait(s->c.nodes[leader].node, s->c.nodes[follower].id, &r),
                     0);
    assert_int_equal(cl_wait_leader(&s->c, CL_WAIT_MS), (int)follower);
    assert_int_equal(cl_propose_leader(&s->c, 11, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(&s->c, 11, CL_WAIT_MS));
    assert_true(cl_replicas_equal(&s->c));
    shared_free(s);
}

/* ---- destroy on the loop, and restart there ---- */

static void test_cluster_shared_loop_destroy_and_restart(void **state)
{
    (void)state;
    struct shared *s = shared_open(3);
    int leader = cl_wait_leader(&s->c, CL_WAIT_MS);
    assert_true(leader >= 0);
    assert_int_equal(cl_propose_leader(&s->c, 5, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(&s->c, 1, CL_WAIT_MS));

    /* Without its followers the leader cannot commit: what it is given now stays pending, and
     * its destroy (on its loop) ends each with CRAFT_ESHUTDOWN before it returns. */
    for (unsigned i = 0; i < s->c.n; i++) {
        if (i != (unsigned)leader) {
            shared_stop(s, i);
        }
    }
    struct host *h = &s->hosts[leader];
    struct seen t;
    seen_init(&t, h);
    struct craft_node_status before;
    cl_status(&s->c, (unsigned)leader, &before);
    struct req_job j = {.node = s->c.nodes[leader].node, .seen = &t, .first = 100, .count = 30};
    host_run(h, job_propose, &j);
    assert_int_equal(j.rv, 0);
    /* The proposals reached the node (they are in the leader's log), and none ended. */
    assert_true(CL_WAIT_UNTIL(({
                                  struct craft_node_status st;
                                  cl_status(&s->c, (unsigned)leader, &st);
                                  st.last_index >= before.last_index + 30;
                              }),
                              CL_WAIT_MS));
    assert_int_equal(seen_calls(&t), 0);
    shared_stop(s, (unsigned)leader);
    assert_int_equal(seen_calls(&t), 30);
    assert_int_equal(t.n_shutdown, 30);
    assert_int_equal(t.n_off_loop, 0);

    /* All three come back on the same loops from their data: the first write is there, and
     * the cluster takes new ones. */
    for (unsigned i = 0; i < s->c.n; i++) {
        cl_fsm_close(&s->c.nodes[i].fsm);
        cl_fsm_init(&s->c.nodes[i].fsm);
        shared_start(s, i);
    }
    assert_true(cl_wait_leader(&s->c, CL_WAIT_MS) >= 0);
    assert_true(cl_wait_applied(&s->c, 1, CL_WAIT_MS));
    assert_true(cl_fsm_has(&s->c.nodes[0].fsm, 5));
    assert_int_equal(cl_propose_leader(&s->c, 6, CL_WAIT_MS), 0);
    assert_true(CL_WAIT_UNTIL(cl_fsm_has(&s->c.nodes[0].fsm, 6) &&
                                  cl_fsm_has(&s->c.nodes[1].fsm, 6) &&
                                  cl_fsm_has(&s->c.nodes[2].fsm, 6),
                              CL_WAIT_MS));
    pthread_mutex_destroy(&t.mu);
    shared_free(s); /* every host's loop must close with nothing left open */
}

static void *a_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *a_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return realloc(p, size);
}

static void a_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

/* A node on a shared loop whose creation fails leaves nothing open on that loop either. */
static void test_cluster_shared_loop_create_fails_cleanly(void **state)
{
    (void)state;
    struct cluster *c = calloc(1, sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true};
    cl_init(c, 2, 2, threads);
    struct host h;
    host_start(&h);
    c->loops[0] = &h.loop;
    struct node_job j = {.c = c, .i = 0};
    host_run(&h, job_create, &j);
    assert_int_equal(j.rv, 0);
    /* Node 2 asks for node 1's port, taken: creation fails after the loop's handles exist. */
    c->nodes[1].port = craft_node_listen_port(c->nodes[0].node);
    c->loops[1] = &h.loop;
    struct node_job k = {.c = c, .i = 1};
    host_run(&h, job_create, &k);
    assert_int_not_equal(k.rv, 0);
    assert_null(c->nodes[1].node);
    host_run(&h, job_destroy, &j);
    host_stop(&h); /* the loop closes: neither node left a handle open */
    /* A shared loop with an allocator of the node's own is refused. */
    struct craft_allocator a = {.malloc = a_malloc, .realloc = a_realloc, .free = a_free};
    struct craft_node_config cfg;
    cl_config(c, 0, &cfg);
    cfg.loop = &h.loop;
    cfg.allocator = &a;
    struct craft_node *n = NULL;
    char errmsg[256];
    assert_int_equal(
        craft_node_create(&cfg, &cl_fsm_ops, &c->nodes[0].fsm, &n, errmsg, sizeof errmsg),
        CRAFT_EINVAL);
    assert_null(n);
    assert_non_null(strstr(errmsg, "allocator"));
    cl_close(c);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_shared_loop_requests_on_the_loop),
        cmocka_unit_test(test_cluster_shared_loop_requests_from_other_threads),
        cmocka_unit_test(test_cluster_shared_loop_destroy_and_restart),
        cmocka_unit_test(test_cluster_shared_loop_create_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
