/* The node among strangers: a node of another cluster is refused at the hello, and a
 * connection that sends garbage is closed while the node keeps serving. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../unit/scratch_dir.h"
#include "cluster.h"
#include "net/transport.h"

static const struct craft_node_threads default_threads = {.log_writer = true, .apply = true};

/* The transport's counters are internal: runtime.h exports them for tests. */
void craft_node_transport_stats(struct craft_node *n, struct net_transport_stats *out);

static struct net_transport_stats stats(struct cluster *c, unsigned i)
{
    struct net_transport_stats s;
    craft_node_transport_stats(c->nodes[i].node, &s);
    return s;
}

static void test_cluster_refuses_a_node_of_another_cluster(void **state)
{
    (void)state;
    int leader;
    struct cluster *c = cl_open(3, 3, default_threads, &leader);
    uint64_t refused_before = stats(c, 0).n_refused;

    /* A node that claims id 3 but belongs to another cluster dials node 1. */
    char dir[64] = "/tmp/craft-stranger-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct craft_node_config cfg;
    cl_config(c, 2, &cfg);
    cfg.cluster = c->cluster_id + 1;
    cfg.data_dir = dir;
    cfg.listen = "127.0.0.1:0";
    cfg.voters = NULL;
    cfg.n_voters = 0;
    struct craft_peer peer = {.id = 1};
    snprintf(peer.address, sizeof peer.address, "127.0.0.1:%u", (unsigned)c->nodes[0].port);
    cfg.peers = &peer;
    cfg.n_peers = 1;
    struct cl_fsm fsm;
    cl_fsm_init(&fsm);
    struct craft_node *stranger;
    char errmsg[256];
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &fsm, &stranger, errmsg, sizeof errmsg),
                     0);

    assert_true(CL_WAIT_UNTIL(stats(c, 0).n_refused > refused_before, CL_WAIT_MS));
    struct net_transport_stats s;
    craft_node_transport_stats(stranger, &s);
    assert_int_equal(s.n_connected, 0);
    assert_int_equal(s.n_frames_received, 0);
    /* The cluster goes on. */
    struct craft_result r;
    assert_int_equal(cl_propose_leader(c, 1, CL_WAIT_MS), 0);
    (void)r;
    assert_int_equal(cl_fsm_view(&fsm).n_applied, 0);

    craft_node_destroy(stranger);
    cl_fsm_close(&fsm);
    scratch_dir_remove(dir);
    cl_free(c);
}

static void test_cluster_survives_a_garbage_connection(void **state)
{
    (void)state;
    struct cluster *c = cl_open(3, 3, default_threads, NULL);
    assert_true(cl_wait_leader(c, CL_WAIT_MS) >= 0);
    assert_int_equal(cl_propose_leader(c, 1, CL_WAIT_MS), 0);
    struct net_transport_stats before = stats(c, 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10}; /* a bound on the read below, should the node not close */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(c->nodes[0].port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    unsigned char junk[256];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (unsigned char)(i * 37 + 11);
    }
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    /* The node closes that connection: the read sees its end. */
    char buf[64];
    ssize_t got = read(fd, buf, sizeof buf);
    assert_true(got <= 0);
    close(fd);
    assert_true(CL_WAIT_UNTIL(stats(c, 0).n_bad_frames + stats(c, 0).n_refused >
                                  before.n_bad_frames + before.n_refused,
                              CL_WAIT_MS));

    /* And serves on, over its real connections. */
    assert_int_equal(cl_propose_leader(c, 2, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(c, 2, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_refuses_a_node_of_another_cluster),
        cmocka_unit_test(test_cluster_survives_a_garbage_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
