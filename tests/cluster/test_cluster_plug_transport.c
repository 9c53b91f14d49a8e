/* A plugged transport (craft/plug.h): three nodes in one process whose messages and snapshot
 * chunks go through a user-written in-memory hub, never TCP. Each send is handed to the
 * receiving node through its thread-safe delivery functions, from the sending node's loop
 * thread. The nodes listen on nothing (listen NULL is accepted), and the hub's counters show
 * that every message went through the ops. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

/* ---- the user's transport: an in-memory hub ---- */

#define HUB_PEERS_MAX 8

struct hub;

/* One node's end of the hub: its ctx. */
struct hub_end {
    struct hub *hub;
    craft_id id;
    bool started; /* under hub->mu: deliveries to it may be made */
    struct craft_transport_deliver deliver;
    /* The node's loop thread only. */
    craft_id peers[HUB_PEERS_MAX];
    char addresses[HUB_PEERS_MAX][CRAFT_ADDRESS_MAX];
    unsigned n_peers;
    /* Read by the test. */
    atomic_uint n_starts;
    atomic_uint n_stops;
    atomic_ullong n_sent;     /* messages handed to another node */
    atomic_ullong n_entries;  /* entries among them */
    atomic_ullong n_received; /* messages delivered to this node */
    atomic_ullong n_chunks;   /* snapshot chunks handed to another node */
    atomic_ullong n_acks;     /* snapshot answers handed to another node */
    atomic_ullong n_refused;  /* deliveries the receiver refused */
    bool cut;                 /* the test's partition: nothing to or from it */
};

struct hub {
    pthread_mutex_t mu;
    struct hub_end ends[CL_NODES_MAX];
    unsigned n;
};

static void hub_init(struct hub *h, unsigned n)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->n = n;
    for (unsigned i = 0; i < n; i++) {
        h->ends[i].hub = h;
        h->ends[i].id = i + 1;
    }
}

static void hub_close(struct hub *h)
{
    for (unsigned i = 0; i < h->n; i++) {
        assert_false(h->ends[i].started); /* every node stopped its transport */
    }
    pthread_mutex_destroy(&h->mu);
}

static int hub_start(void *ctx, const struct craft_transport_start *s, char *errmsg,
                     size_t errmsg_len)
{
    struct hub_end *e = ctx;
    if (s->node != e->id) {
        snprintf(errmsg, errmsg_len, "hub end %llu started for node %llu",
                 (unsigned long long)e->id, (unsigned long long)s->node);
        return CRAFT_EINVAL;
    }
    assert_null(s->listen); /* the harness gives none with a plugged transport */
    assert_non_null(s->deliver.msgs);
    pthread_mutex_lock(&e->hub->mu);
    e->deliver = s->deliver;
    e->started = true;
    e->n_peers = 0;
    pthread_mutex_unlock(&e->hub->mu);
    atomic_fetch_add(&e->n_starts, 1);
    return 0;
}

static int hub_add_peer(void *ctx, craft_id id, const char *address)
{
    struct hub_end *e = ctx;
    if (e->n_peers == HUB_PEERS_MAX) {
        return CRAFT_EBUSY;
    }
    e->peers[e->n_peers] = id;
    snprintf(e->addresses[e->n_peers], CRAFT_ADDRESS_MAX, "%s", address);
    e->n_peers++;
    return 0;
}

static bool knows(const struct hub_end *e, craft_id id)
{
    for (unsigned i = 0; i < e->n_peers; i++) {
        if (e->peers[i] == id) {
            return true;
        }
    }
    return false;
}

/* The started end of node `to`, with hub->mu held; NULL when it cannot receive. */
static struct hub_end *route(struct hub_end *from, craft_id to)
{
    struct hub *h = from->hub;
    if (to == CRAFT_ID_NONE || to > h->n || from->cut) {
        return NULL;
    }
    struct hub_end *dst = &h->ends[to - 1];
    return dst->started && !dst->cut ? dst : NULL;
}

static int hub_send(void *ctx, const struct craft_msg *m)
{
    struct hub_end *e = ctx;
    assert_int_equal(m->from, e->id);
    if (!knows(e, m->to)) {
        return CRAFT_ENOTFOUND; /* add_peer was never called for it */
    }
    pthread_mutex_lock(&e->hub->mu);
    struct hub_end *dst = route(e, m->to);
    int rv = CRAFT_ESHUTDOWN;
    if (dst != NULL) {
        rv = dst->deliver.msgs(dst->deliver.node, m, 1);
        if (rv == 0) {
            atomic_fetch_add(&dst->n_received, 1);
        } else {
            atomic_fetch_add(&e->n_refused, 1);
        }
    }
    pthread_mutex_unlock(&e->hub->mu);
    if (rv == 0) {
        atomic_fetch_add(&e->n_sent, 1);
        if (m->type == CRAFT_MSG_APPEND) {
            atomic_fetch_add(&e->n_entries, m->append.n_entries);
        }
    }
    return rv;
}

static int hub_send_chunk(void *ctx, craft_id to, const struct craft_snap_chunk *c)
{
    struct hub_end *e = ctx;
    pthread_mutex_lock(&e->hub->mu);
    struct hub_end *dst = route(e, to);
    int rv = dst != NULL ? dst->deliver.chunk(dst->deliver.node, e->id, c) : CRAFT_EBUSY;
    pthread_mutex_unlock(&e->hub->mu);
    if (rv == 0) {
        atomic_fetch_add(&e->n_chunks, 1);
    }
    return rv;
}

static int hub_send_ack(void *ctx, craft_id to, const struct craft_snap_ack *a)
{
    struct hub_end *e = ctx;
    pthread_mutex_lock(&e->hub->mu);
    struct hub_end *dst = route(e, to);
    int rv = dst != NULL ? dst->deliver.ack(dst->deliver.node, e->id, a) : CRAFT_ESHUTDOWN;
    pthread_mutex_unlock(&e->hub->mu);
    if (rv == 0) {
        atomic_fetch_add(&e->n_acks, 1);
    }
    return rv;
}

/* Once it returns no delivery to this end runs: they all hold hub->mu. */
static void hub_stop(void *ctx)
{
    struct hub_end *e = ctx;
    pthread_mutex_lock(&e->hub->mu);
    e->started = false;
    pthread_mutex_unlock(&e->hub->mu);
    atomic_fetch_add(&e->n_stops, 1);
}

static const struct craft_transport_ops hub_ops = {
    .version = CRAFT_PLUG_VERSION,
    .start = hub_start,
    .add_peer = hub_add_peer,
    .send = hub_send,
    .send_chunk = hub_send_chunk,
    .send_ack = hub_send_ack,
    .stop = hub_stop,
};

static struct cluster *open_on_hub(struct hub *h, unsigned n, struct craft_node_threads threads)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, n, n, threads);
    hub_init(h, n);
    c->transport = &hub_ops;
    for (unsigned i = 0; i < n; i++) {
        c->transport_ctx[i] = &h->ends[i];
    }
    return c;
}

/* ---- tests ---- */

#define WRITES 40

static void elect_and_replicate(struct craft_node_threads threads)
{
    struct hub h;
    struct cluster *c = open_on_hub(&h, 3, threads);
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    for (uint64_t v = 1; v <= WRITES; v++) {
        struct craft_result r;
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
        assert_true(r.index > 0);
    }
    assert_true(cl_wait_applied(c, WRITES, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    for (unsigned i = 0; i < 3; i++) {
        struct hub_end *e = &h.ends[i];
        assert_int_equal(atomic_load(&e->n_starts), 1);
        assert_int_equal(e->n_peers, 2); /* the two others, from config.peers */
        assert_true(atomic_load(&e->n_sent) > 0);
        assert_true(atomic_load(&e->n_received) > 0);
        assert_int_equal(craft_node_listen_port(c->nodes[i].node), 0);
    }
    /* The leader's entries went through the hub: every write, to both followers. */
    assert_true(atomic_load(&h.ends[leader].n_entries) >= 2 * WRITES);
    cl_close(c);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(&h.ends[i].n_stops), 1);
    }
    hub_close(&h);
    free(c);
}

static void test_plug_transport_elects_and_replicates(void **state)
{
    (void)state;
    elect_and_replicate((struct craft_node_threads){.log_writer = true, .apply = false});
}

static void test_plug_transport_elects_and_replicates_one_thread(void **state)
{
    (void)state;
    elect_and_replicate((struct craft_node_threads){.log_writer = false, .apply = false});
}

/* A partitioned leader loses its place; the others elect a new one through the hub, and the
 * old one catches up once the partition heals. */
static void test_plug_transport_partition_heals(void **state)
{
    (void)state;
    struct hub h;
    struct cluster *c = open_on_hub(&h, 3, (struct craft_node_threads){.log_writer = true});
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    assert_int_equal(cl_propose_leader(c, 1, CL_WAIT_MS), 0);
    pthread_mutex_lock(&h.mu);
    h.ends[leader].cut = true;
    pthread_mutex_unlock(&h.mu);
    unsigned other = (unsigned)(leader + 1) % 3;
    struct craft_node_status st;
    assert_true(CL_WAIT_UNTIL(
        (cl_status(c, other, &st), st.leader != CRAFT_ID_NONE && st.leader != (craft_id)leader + 1),
        CL_WAIT_MS));
    pthread_mutex_lock(&h.mu);
    h.ends[leader].cut = false;
    pthread_mutex_unlock(&h.mu);
    assert_int_equal(cl_propose_leader(c, 2, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(c, 2, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_close(c);
    hub_close(&h);
    free(c);
}

/* A follower that fell behind the leader's log catches up from a snapshot streamed in chunks
 * through the hub's send_chunk and send_ack. */
static void test_plug_transport_streams_a_snapshot(void **state)
{
    (void)state;
    struct hub h;
    struct cluster *c = open_on_hub(&h, 3, (struct craft_node_threads){.log_writer = true});
    c->snapshot_every = 10;
    c->log_trailing = 0;
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned lagging = (unsigned)(leader + 1) % 3;
    cl_stop(c, lagging);
    for (uint64_t v = 1; v <= 35; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
    struct craft_node_status st;
    leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    assert_true(
        CL_WAIT_UNTIL((cl_status(c, (unsigned)leader, &st), st.snapshot_index >= 30), CL_WAIT_MS));
    cl_start(c, lagging); /* the same hub end, started again */
    assert_int_equal(atomic_load(&h.ends[lagging].n_starts), 2);
    assert_true(cl_wait_applied(c, 35, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_status(c, lagging, &st);
    assert_true(st.snapshot_index >= 10);
    assert_true(atomic_load(&h.ends[leader].n_chunks) > 0);
    assert_true(atomic_load(&h.ends[lagging].n_acks) > 0);
    cl_close(c);
    hub_close(&h);
    free(c);
}

static int create_expect(struct craft_node_config *cfg, const char *needle)
{
    struct cl_fsm fsm;
    struct craft_node *node = NULL;
    char errmsg[256];
    cl_fsm_init(&fsm);
    int rv = craft_node_create(cfg, &cl_fsm_ops, &fsm, &node, errmsg, sizeof errmsg);
    assert_null(node);
    if (strstr(errmsg, needle) == NULL) {
        fail_msg("errmsg \"%s\" lacks \"%s\"", errmsg, needle);
    }
    cl_fsm_close(&fsm);
    return rv;
}

/* Incomplete ops are refused with a clear message; without a plugged transport listen is still
 * required. */
static void test_plug_transport_config_checked(void **state)
{
    (void)state;
    struct hub h;
    struct cluster *c = open_on_hub(&h, 1, (struct craft_node_threads){.log_writer = true});
    struct craft_node_config cfg;
    struct craft_transport_ops ops = hub_ops;

    ops.send = NULL;
    cl_config(c, 0, &cfg);
    cfg.transport = &ops;
    assert_int_equal(create_expect(&cfg, "transport: start, add_peer, send and stop"),
                     CRAFT_EINVAL);

    ops = hub_ops;
    ops.version = CRAFT_PLUG_VERSION + 1; /* a table of a version this library does not speak */
    cl_config(c, 0, &cfg);
    cfg.transport = &ops;
    assert_int_equal(create_expect(&cfg, "transport: ops version"), CRAFT_EINVAL);

    ops = hub_ops;
    ops.send_chunk = NULL;
    cl_config(c, 0, &cfg);
    cfg.transport = &ops;
    cfg.snapshot_every = 10;
    struct cl_fsm fsm;
    struct craft_node *node = NULL;
    char errmsg[256];
    cl_fsm_init(&fsm);
    assert_int_equal(
        craft_node_create(&cfg, &cl_fsm_snapshot_ops, &fsm, &node, errmsg, sizeof errmsg),
        CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "send_chunk and send_ack"));
    /* Without snapshot_every such a transport is taken, but a snapshot on request is refused:
     * the node could not stream it to a follower behind it. */
    cfg.snapshot_every = 0;
    assert_int_equal(
        craft_node_create(&cfg, &cl_fsm_snapshot_ops, &fsm, &node, errmsg, sizeof errmsg), 0);
    struct craft_result r;
    assert_int_equal(craft_node_snapshot_wait(node, &r), CRAFT_ENOTSUP);
    craft_node_destroy(node);
    cl_fsm_close(&fsm);

    cl_config(c, 0, &cfg);
    cfg.transport = NULL;
    cfg.transport_ctx = &h.ends[0];
    assert_int_equal(create_expect(&cfg, "transport_ctx"), CRAFT_EINVAL);

    cl_config(c, 0, &cfg);
    cfg.transport = NULL;
    cfg.transport_ctx = NULL;
    cfg.listen = NULL;
    assert_int_equal(create_expect(&cfg, "listen"), CRAFT_EINVAL);

    /* A transport that fails to start fails the create, and is not stopped. */
    h.ends[0].id = 99;
    cl_config(c, 0, &cfg);
    unsigned stops = atomic_load(&h.ends[0].n_stops); /* the node above stopped it once */
    assert_int_equal(create_expect(&cfg, "hub end 99"), CRAFT_EINVAL);
    assert_int_equal(atomic_load(&h.ends[0].n_stops), stops);
    cl_close(c);
    hub_close(&h);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plug_transport_elects_and_replicates),
        cmocka_unit_test(test_plug_transport_elects_and_replicates_one_thread),
        cmocka_unit_test(test_plug_transport_partition_heals),
        cmocka_unit_test(test_plug_transport_streams_a_snapshot),
        cmocka_unit_test(test_plug_transport_config_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
