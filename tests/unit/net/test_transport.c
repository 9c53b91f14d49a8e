/* Unit tests for the TCP transport: real transports on one libuv loop over 127.0.0.1 (ports
 * picked by the system), each wait bounded by a deadline that fails the test. */
#include "transport_harness.h"
#include "wire_helpers.h"

/* Sample i of wire_helpers, rerouted from node 1 to node 2. */
static struct wire_frame routed_sample(unsigned i)
{
    struct wire_frame f = sample_frame(i);
    f.from = 1;
    f.to = 2;
    if (f.type >= WIRE_FRAME_MSG) {
        f.msg.from = 1;
        f.msg.to = 2;
    }
    return f;
}

/* Two transports connect and carry every frame kind both ways, in order within a class (the
 * snapshot chunk, bulk, goes after the control frames queued in the same turn); the typed
 * helpers and the raw send are both used. */
static void test_transport_two_exchange_every_kind(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    wait_linked(a, b);

    struct wire_frame chunk = routed_sample(14);
    assert_int_equal(chunk.type, WIRE_FRAME_SNAP_CHUNK);
    for (unsigned i = 0; i < N_SAMPLES; i++) {
        struct wire_frame f = routed_sample(i);
        if (f.type == WIRE_FRAME_HELLO) {
            continue;
        }
        if (f.type != WIRE_FRAME_SNAP_CHUNK) {
            b->expect[b->n_expect++] = f;
        }
        if (f.type == WIRE_FRAME_SNAP_CHUNK) {
            assert_int_equal(net_transport_send_chunk(a->t, f.group, 2, &f.chunk), 0);
        } else if (f.type == WIRE_FRAME_SNAP_ACK) {
            assert_int_equal(net_transport_send_ack(a->t, f.group, 2, &f.ack), 0);
        } else {
            assert_int_equal(net_transport_send_msg(a->t, f.group, &f.msg), 0);
        }
    }
    /* A frame encoded by the caller. */
    struct wire_buf buf;
    wire_buf_init(&buf);
    struct wire_frame raw = routed_sample(5);
    assert_int_equal(sample_append(&buf, &raw), 0);
    assert_int_equal(net_transport_send(a->t, 2, buf.base, buf.len), 0);
    b->expect[b->n_expect++] = raw;
    b->expect[b->n_expect++] = chunk;
    wire_buf_close(&buf);
    wait_received(b, b->n_expect);
    assert_int_equal(b->n_mismatch, 0);
    for (unsigned i = 0; i < b->n_recv; i++) {
        assert_int_equal(b->recv_from[i], 1);
    }

    /* And back. */
    struct craft_msg m = routed_sample(7).msg;
    m.from = 2;
    m.to = 1;
    assert_int_equal(net_transport_send_msg(b->t, 9, &m), 0);
    wait_received(a, 1);
    assert_int_equal(a->recv[0].type, WIRE_FRAME_MSG + CRAFT_MSG_APPEND_RESP);
    assert_int_equal(a->recv[0].group, 9);
    assert_int_equal(a->recv_from[0], 2);

    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_frames_sent, b->n_expect);
    assert_int_equal(s.n_bad_frames, 0);
    world_close(&w);
}

struct all3 {
    struct node *n[3];
};

static bool all_linked(struct world *w, void *arg)
{
    (void)w;
    struct all3 *x = arg;
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = 0; j < 3; j++) {
            if (i != j && !net_transport_connected(x->n[i]->t, x->n[j]->id)) {
                return false;
            }
        }
    }
    return true;
}

/* Three transports, each dialing the two others: one connection per pair, all carrying frames. */
static void test_transport_three_all_connected(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct all3 x;
    for (unsigned i = 0; i < 3; i++) {
        x.n[i] = node_start(&w, i, i + 1, 0);
    }
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = 0; j < 3; j++) {
            if (i != j) {
                node_add_peer(x.n[i], x.n[j]);
            }
        }
    }
    run_until(&w, all_linked, &x);
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = 0; j < 3; j++) {
            if (i != j) {
                struct craft_msg m = routed_sample(9).msg; /* TimeoutNow */
                m.from = x.n[i]->id;
                m.to = x.n[j]->id;
                assert_int_equal(net_transport_send_msg(x.n[i]->t, 1, &m), 0);
            }
        }
    }
    for (unsigned i = 0; i < 3; i++) {
        wait_received(x.n[i], 2);
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(x.n[i]->n_recv, 2);
        assert_true(x.n[i]->recv_from[0] != x.n[i]->recv_from[1]);
    }
    world_close(&w);
}

static bool refused_once(struct world *w, void *arg)
{
    struct node *n = arg;
    struct net_transport_stats s;
    net_transport_get_stats(n->t, &s);
    return s.n_refused >= 1 && log_has(w, "cluster 8");
}

/* A peer of another cluster is refused and logged; the transport keeps serving the others. */
static void test_transport_other_cluster_refused(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    struct node *b = node_start(&w, 1, 2, 0);
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = 8;
    struct node *x = node_start_cfg(&w, 2, 3, 0, &c);
    node_add_peer(a, b);
    node_add_peer(b, a);
    node_add_peer(a, x);
    node_add_peer(x, a);
    run_until(&w, refused_once, a);
    wait_linked(a, b);
    assert_false(net_transport_connected(a->t, 3));
    assert_false(net_transport_connected(x->t, 1));
    assert_non_null(strstr(log_lines, "refused: hello of cluster 8"));

    struct craft_msg m = routed_sample(0).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    m.to = 3;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0); /* dropped: not connected */
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_true(s.n_frames_dropped >= 1);
    world_close(&w);
}

/* A hello from an unknown node is refused. */
static void test_transport_unknown_node_refused(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    struct node *b = node_start(&w, 1, 2, 0);
    node_add_peer(b, a); /* a does not know b */
    run_until(&w, log_has, "not a known peer");
    assert_false(net_transport_connected(b->t, 1));
    world_close(&w);
}

/* A hello whose version range does not meet ours is refused and logged. */
static void test_transport_version_mismatch_refused(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    assert_int_equal(net_transport_add_peer(a->t, 3, "127.0.0.1", 1), 0);
    static struct raw r;
    memset(&r, 0, sizeof r);
    struct wire_buf buf;
    wire_buf_init(&buf);
    struct wire_hello h = {.cluster = CLUSTER, .node = 3, .version_min = 2, .version_max = 9};
    assert_int_equal(wire_buf_append_hello(&buf, &h, 1), 0);
    memcpy(r.bytes, buf.base, buf.len);
    r.len = buf.len;
    wire_buf_close(&buf);
    raw_start(&w, &r, a->port);
    run_until(&w, raw_closed, &r);
    assert_true(r.eof);
    assert_non_null(strstr(log_lines, "versions [2, 9] do not meet ours [1, 1]"));
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_refused, 1);
    assert_int_equal(s.n_connected, 0);
    world_close(&w);
}

static bool peer_eof_logged(struct world *w, void *arg)
{
    (void)arg;
    return log_has(w, "node=1 group=0: connection from peer 0: closed by the peer");
}

/* A raw client writes half a frame and closes: the transport drops that connection and keeps
 * serving its peers. */
static void test_transport_killed_mid_frame(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    wait_linked(a, b);

    static struct raw r;
    memset(&r, 0, sizeof r);
    struct wire_buf buf;
    wire_buf_init(&buf);
    struct wire_hello h = {.cluster = CLUSTER, .node = 2, .version_min = 1, .version_max = 1};
    assert_int_equal(wire_buf_append_hello(&buf, &h, 1), 0);
    r.len = buf.len / 2;
    memcpy(r.bytes, buf.base, r.len);
    wire_buf_close(&buf);
    r.close_after_write = true;
    log_lines[0] = '\0'; /* the lines of the half frame's connection only */
    raw_start(&w, &r, a->port);
    run_until(&w, raw_closed, &r);
    run_until(&w, peer_eof_logged, NULL);

    assert_true(net_transport_connected(a->t, 2));
    struct craft_msg m = routed_sample(2).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    world_close(&w);
}

/* A raw client sending garbage is disconnected, and the reason logged. */
static void test_transport_garbage_disconnected(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    static struct raw r;
    memset(&r, 0, sizeof r);
    memset(r.bytes, 0xAB, 64);
    r.len = 64;
    raw_start(&w, &r, a->port);
    run_until(&w, raw_closed, &r);
    assert_true(r.eof);
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_bad_frames, 1);
    assert_non_null(strstr(log_lines, "magic"));
    world_close(&w);
}

/* The per-peer byte bound: sends past it give CRAFT_EBUSY; what was accepted arrives, and the
 * queue takes frames again once written. */
static void test_transport_send_queue_bound_busy(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = CLUSTER;
    c.send_queue_bytes_max = 1024;
    struct node *a = node_start_cfg(&w, 0, 1, 0, &c);
    struct node *b = node_start(&w, 1, 2, 0);
    node_add_peer(a, b);
    node_add_peer(b, a);
    wait_linked(a, b);

    struct craft_msg m = routed_sample(4).msg; /* a heartbeat */
    size_t size = wire_msg_size(&m);
    unsigned n_ok = 0;
    int rv;
    while ((rv = net_transport_send_msg(a->t, 1, &m)) == 0) {
        n_ok++;
        assert_true(n_ok <= 1024 / size);
    }
    assert_int_equal(rv, CRAFT_EBUSY);
    assert_int_equal(n_ok, 1024 / size);
    wait_received(b, n_ok);
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, n_ok + 1);
    world_close(&w);
}

/* Snapshot chunks queue apart from control frames: a full chunk queue (CRAFT_EBUSY) does not
 * refuse a heartbeat, and the heartbeat is written before the chunks queued ahead of it. */
static void test_transport_heartbeat_not_behind_chunks(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = CLUSTER;
    c.send_queue_bytes_max = 1024;
    struct node *a = node_start_cfg(&w, 0, 1, 0, &c);
    struct node *b = node_start(&w, 1, 2, 0);
    node_add_peer(a, b);
    node_add_peer(b, a);
    wait_linked(a, b);

    struct wire_frame chunk = routed_sample(14);
    unsigned n_chunks = 0;
    int rv;
    while ((rv = net_transport_send_chunk(a->t, 1, 2, &chunk.chunk)) == 0) {
        n_chunks++;
        assert_true(n_chunks <= 1024 / wire_chunk_size(&chunk.chunk));
    }
    assert_int_equal(rv, CRAFT_EBUSY);
    struct craft_msg hb = routed_sample(4).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &hb), 0);
    wait_received(b, n_chunks + 1);
    assert_int_equal(b->recv[0].type, WIRE_FRAME_MSG + CRAFT_MSG_APPEND);
    for (unsigned i = 1; i <= n_chunks; i++) {
        assert_int_equal(b->recv[i].type, WIRE_FRAME_SNAP_CHUNK);
    }
    world_close(&w);
}

/* For the test below: what the receiver saw. */
struct split_seen {
    unsigned n_chunks;      /* in order, intact */
    unsigned n_bad;         /* a chunk out of order or altered, or a control frame out of order */
    unsigned n_control;     /* control frames seen */
    unsigned first_control; /* chunks seen before the first control frame */
};

#define SPLIT_CHUNK_BYTES (64u << 10)
#define SPLIT_CHUNKS 64u /* 4 MiB: many bulk writes */

static unsigned char split_byte(uint64_t at)
{
    return (unsigned char)((at * 2654435761u) >> 13);
}

static void split_hook(struct node *n, craft_id peer, const struct wire_frame *f)
{
    (void)peer;
    struct split_seen *seen = n->hook_arg;
    if (f->type == WIRE_FRAME_SNAP_CHUNK) {
        const unsigned char *d = f->chunk.data;
        bool ok = f->chunk.offset == (uint64_t)seen->n_chunks * SPLIT_CHUNK_BYTES &&
                  f->chunk.len == SPLIT_CHUNK_BYTES;
        for (uint32_t i = 0; ok && i < f->chunk.len; i++) {
            ok = d[i] == split_byte(f->chunk.offset + i);
        }
        seen->n_bad += !ok;
        seen->n_chunks++;
        return;
    }
    if (f->msg.term != 100 + seen->n_control) {
        seen->n_bad++;
    }
    if (seen->n_control++ == 0) {
        seen->first_control = seen->n_chunks;
    }
}

static bool split_started(struct world *w, void *arg)
{
    (void)w;
    return ((struct split_seen *)arg)->n_chunks > 0;
}

static bool split_done(struct world *w, void *arg)
{
    (void)w;
    const struct split_seen *seen = arg;
    return seen->n_chunks == SPLIT_CHUNKS && seen->n_control == 3;
}

/* Megabytes of snapshot chunks go out in bounded writes: control frames queued once the chunks
 * are being written (the receiver has the first) go in the next write, so they arrive long
 * before the last chunk (with one write of every queued chunk they would come after all of
 * them); every frame arrives intact and in order within its class. */
static void test_transport_large_write_split(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    wait_linked(a, b);
    struct split_seen seen = {0};
    b->hook = split_hook;
    b->hook_arg = &seen;

    static unsigned char data[SPLIT_CHUNK_BYTES];
    struct wire_snap_chunk c = routed_sample(14).chunk;
    c.total = (uint64_t)SPLIT_CHUNKS * SPLIT_CHUNK_BYTES;
    c.data = data;
    c.len = SPLIT_CHUNK_BYTES;
    for (unsigned i = 0; i < SPLIT_CHUNKS; i++) {
        c.offset = (uint64_t)i * SPLIT_CHUNK_BYTES;
        for (uint32_t j = 0; j < SPLIT_CHUNK_BYTES; j++) {
            data[j] = split_byte(c.offset + j);
        }
        assert_int_equal(net_transport_send_chunk(a->t, 1, 2, &c), 0);
    }
    run_until(&w, split_started, &seen);
    struct craft_msg hb = routed_sample(4).msg; /* a heartbeat */
    for (unsigned i = 0; i < 3; i++) {
        hb.term = 100 + i;
        assert_int_equal(net_transport_send_msg(a->t, 1, &hb), 0);
    }
    run_until(&w, split_done, &seen);
    assert_int_equal(seen.n_bad, 0);
    assert_true(seen.first_control < SPLIT_CHUNKS);
    /* Within a few bulk writes of the first chunk, not only before the last one. */
    assert_true(seen.first_control * SPLIT_CHUNK_BYTES <= 8 * NET_BULK_WRITE_BYTES_MAX);
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_frames_sent, SPLIT_CHUNKS + 3);
    assert_int_equal(s.n_frames_dropped, 0);
    world_close(&w);
}

static bool unlinked(struct world *w, void *arg)
{
    (void)w;
    struct link *l = arg;
    return !net_transport_connected(l->a->t, l->b->id);
}

/* The peer's transport is closed and created again on the same port: the connection comes back
 * (dialed again after a backoff) and carries frames. */
static void test_transport_reconnect_after_restart(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    wait_linked(a, b);
    uint16_t port = b->port;
    node_close(b);
    struct link l = {a, b};
    run_until(&w, unlinked, &l);

    b = node_start(&w, 1, 2, port);
    node_add_peer(b, a);
    wait_linked(a, b);
    struct craft_msg m = routed_sample(10).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_true(s.n_connected >= 2);
    world_close(&w);
}

/* Fills r with a hello of node 3 (a peer of node 1 in these tests) followed by the first
 * cut bytes of f (all of it when cut is 0). */
static void raw_hello_then(struct raw *r, const struct wire_frame *f, size_t cut)
{
    struct wire_buf buf;
    wire_buf_init(&buf);
    struct wire_hello h = {.cluster = CLUSTER, .node = 3, .version_min = 1, .version_max = 1};
    assert_int_equal(wire_buf_append_hello(&buf, &h, 1), 0);
    size_t hello_len = buf.len;
    assert_int_equal(sample_append(&buf, f), 0);
    size_t len = cut ? hello_len + cut : buf.len;
    assert_true(len <= sizeof r->bytes);
    memcpy(r->bytes, buf.base, len);
    r->len = len;
    wire_buf_close(&buf);
}

static bool peer3_down(struct world *w, void *arg)
{
    (void)arg;
    return log_has(w, "node=1 group=0: peer 3: down");
}

/* A peer past its hello dies in the middle of a frame: that connection goes, the transport
 * keeps serving its other peer. */
static void test_transport_peer_killed_mid_frame_after_hello(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    assert_int_equal(net_transport_add_peer(a->t, 3, "127.0.0.1", 1), 0); /* the raw client */
    wait_linked(a, b);

    static struct raw r;
    memset(&r, 0, sizeof r);
    struct wire_frame f = routed_sample(5);
    f.from = f.msg.from = 3;
    f.to = f.msg.to = 1;
    raw_hello_then(&r, &f, 50);
    r.close_after_write = true;
    raw_start(&w, &r, a->port);
    run_until(&w, peer3_down, NULL);
    assert_int_equal(a->n_recv, 0);
    assert_non_null(strstr(log_lines, "peer 3: up (accepted)"));

    struct craft_msg m = routed_sample(2).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    world_close(&w);
}

/* After the hello, a frame from another node than the hello named closes the connection. */
static void test_transport_misrouted_frame_disconnected(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    assert_int_equal(net_transport_add_peer(a->t, 3, "127.0.0.1", 1), 0);
    static struct raw r;
    memset(&r, 0, sizeof r);
    struct wire_frame f = routed_sample(0);
    f.from = f.msg.from = 4; /* the hello said 3 */
    f.to = f.msg.to = 1;
    raw_hello_then(&r, &f, 0);
    raw_start(&w, &r, a->port);
    run_until(&w, raw_closed, &r);
    assert_true(r.eof);
    assert_int_equal(a->n_recv, 0);
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_bad_frames, 1);
    assert_int_equal(s.n_connected, 1);
    world_close(&w);
}

/* After the hello, a frame whose checksum fails closes the connection and nothing of it is
 * delivered. */
static void test_transport_bad_checksum_disconnected(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    assert_int_equal(net_transport_add_peer(a->t, 3, "127.0.0.1", 1), 0);
    static struct raw r;
    memset(&r, 0, sizeof r);
    struct wire_frame f = routed_sample(11);
    f.from = f.msg.from = 3;
    f.to = f.msg.to = 1;
    raw_hello_then(&r, &f, 0);
    r.bytes[r.len - 1] ^= 0x40; /* a bit of the body: only the checksum can tell */
    raw_start(&w, &r, a->port);
    run_until(&w, raw_closed, &r);
    assert_true(r.eof);
    assert_int_equal(a->n_recv, 0);
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_bad_frames, 1);
    assert_non_null(strstr(log_lines, "connection from peer 3"));
    world_close(&w);
}

static bool bad_frame_seen(struct world *w, void *arg)
{
    (void)w;
    struct net_transport_stats s;
    net_transport_get_stats(((struct node *)arg)->t, &s);
    return s.n_bad_frames >= 1;
}

/* A frame longer than the receiver's body_max closes the connection before its body is read;
 * the sender dials again and smaller frames get through. */
static void test_transport_oversized_frame_disconnected(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a = node_start(&w, 0, 1, 0);
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = CLUSTER;
    c.body_max = 64;
    struct node *b = node_start_cfg(&w, 1, 2, 0, &c);
    node_add_peer(a, b);
    node_add_peer(b, a);
    wait_linked(a, b);
    struct wire_frame f = routed_sample(14); /* a chunk: 48 + 43 body bytes */
    assert_int_equal(net_transport_send_chunk(a->t, f.group, 2, &f.chunk), 0);
    run_until(&w, bad_frame_seen, b);
    assert_non_null(strstr(log_lines, "node=2 group=0"));
    assert_int_equal(b->n_recv, 0);

    struct link l = {a, b};
    run_until(&w, unlinked, &l);
    wait_linked(a, b);
    struct craft_msg m = routed_sample(9).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    world_close(&w);
}

/* A client that connects and never finishes its hello is closed once the hello is late; the
 * transport serves on. */
static void test_transport_silent_client_closed(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = CLUSTER;
    c.hello_timeout_ms = 50;
    struct node *a = node_start_cfg(&w, 0, 1, 0, &c);
    struct node *b = node_start(&w, 1, 2, 0);
    node_add_peer(a, b);
    node_add_peer(b, a);
    static struct raw r;
    memset(&r, 0, sizeof r);
    memcpy(r.bytes, "CRFW\x01\x01", 6); /* the start of a header, then silence */
    r.len = 6;
    raw_start(&w, &r, a->port);
    run_until(&w, raw_closed, &r);
    assert_true(r.eof);
    assert_non_null(strstr(log_lines, "no hello in time"));
    wait_linked(a, b);
    world_close(&w);
}

/* The frame callback may close its own transport: the rest of the read is dropped and the
 * memory freed once the handles are closed. */
static void test_transport_close_from_callback(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    wait_linked(a, b);
    b->close_on_frame = true;
    struct craft_msg m = routed_sample(0).msg;
    for (int i = 0; i < 3; i++) { /* likely in one read */
        assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    }
    run_until(&w, node_closed, b);
    assert_int_equal(b->n_recv, 1);
    world_close(&w);
}

/* Close with connections up, a dial failing and frames queued: everything is freed (the loop
 * closes with no handle left; valgrind sees no leak). */
static void test_transport_close_frees_everything(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    /* A peer nobody listens for: its dials fail and back off. */
    assert_int_equal(net_transport_add_peer(a->t, 3, "127.0.0.1", 1), 0);
    wait_linked(a, b);
    struct craft_msg m = routed_sample(5).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    world_close(&w); /* a closes with frames queued */
}

/* Peers named by a host name: "localhost" is resolved at the dial (and the listen address by
 * name too); the connection comes up and carries frames both ways. */
static void test_transport_dials_localhost(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = CLUSTER;
    strcpy(c.listen_host, "localhost");
    struct node *a = node_start_cfg(&w, 0, 1, 0, &c);
    struct node *b = node_start(&w, 1, 2, 0);
    assert_int_equal(net_transport_add_peer(a->t, 2, "localhost", b->port), 0);
    assert_int_equal(net_transport_add_peer(b->t, 1, "localhost", a->port), 0);
    wait_linked(a, b);
    struct craft_msg m = routed_sample(4).msg;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    m.from = 2;
    m.to = 1;
    assert_int_equal(net_transport_send_msg(b->t, 1, &m), 0);
    wait_received(a, 1);
    assert_int_equal(a->recv_from[0], 2);
    assert_int_equal(b->recv_from[0], 1);
    world_close(&w);
}

static bool resolve_failed_twice(struct world *w, void *arg)
{
    (void)w;
    const char *first = strstr(log_lines, arg);
    return first != NULL && strstr(first + 1, arg) != NULL;
}

/* A peer whose name does not resolve is a failed dial, logged and retried after the backoff;
 * the transport keeps serving its other peers meanwhile, and closes cleanly. */
static void test_transport_unresolvable_peer_retried(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct node *a;
    struct node *b;
    two_nodes(&w, &a, &b);
    assert_int_equal(net_transport_add_peer(a->t, 3, "no-such-host.invalid", 7), 0);
    run_until(&w, resolve_failed_twice, "peer 3: cannot resolve no-such-host.invalid");
    assert_false(net_transport_connected(a->t, 3));
    struct craft_msg m = routed_sample(4).msg;
    m.to = 3;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0); /* dropped: not connected */
    wait_linked(a, b);
    m.to = 2;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), 0);
    wait_received(b, 1);
    assert_int_equal(b->recv[0].type, WIRE_FRAME_MSG + CRAFT_MSG_APPEND);
    struct net_transport_stats s;
    net_transport_get_stats(a->t, &s);
    assert_int_equal(s.n_frames_dropped, 1);
    /* Closed while a lookup may be in flight: it is cancelled or awaited, nothing leaks. */
    world_close(&w);
}

/* Config and argument checks. */
static void test_transport_config_checked(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct net_transport_config c;
    net_transport_config_init(&c);
    struct net_transport *t;
    assert_int_equal(net_transport_create(&w.loop, &c, NULL, on_frame, &t), CRAFT_EINVAL);
    struct node *a = node_start(&w, 0, 1, 0);
    assert_int_equal(net_transport_add_peer(a->t, 1, "127.0.0.1", 9), CRAFT_EINVAL);
    assert_int_equal(net_transport_add_peer(a->t, 2, "no such host", 9), CRAFT_EINVAL);
    assert_int_equal(net_transport_add_peer(a->t, 2, "bad_host", 9), CRAFT_EINVAL);
    assert_int_equal(net_transport_add_peer(a->t, 2, "-a.example", 9), CRAFT_EINVAL);
    assert_int_equal(net_transport_add_peer(a->t, 2, "1.2.3.256", 9), CRAFT_EINVAL);
    assert_int_equal(net_transport_add_peer(a->t, 2, "127.0.0.1", 9), 0);
    assert_int_equal(net_transport_add_peer(a->t, 2, "127.0.0.1", 9), CRAFT_EEXIST);
    struct craft_msg m = routed_sample(0).msg;
    m.to = 5;
    assert_int_equal(net_transport_send_msg(a->t, 1, &m), CRAFT_ENOTFOUND);
    /* A port in use: CRAFT_EIO, and what was made is freed by the loop (world_close). */
    struct net_transport_config c2;
    net_transport_config_init(&c2);
    c2.node = 2;
    c2.listen_port = a->port;
    assert_int_equal(net_transport_create(&w.loop, &c2, NULL, on_frame, &t), CRAFT_EIO);
    assert_non_null(strstr(log_lines, "listen on 127.0.0.1"));
    /* A listen name that does not resolve: CRAFT_EIO, logged; one that is not a name: EINVAL. */
    c2.listen_port = 0;
    strcpy(c2.listen_host, "no-such-host.invalid");
    assert_int_equal(net_transport_create(&w.loop, &c2, NULL, on_frame, &t), CRAFT_EIO);
    assert_non_null(strstr(log_lines, "listen on no-such-host.invalid:0: cannot resolve"));
    strcpy(c2.listen_host, "bad_host");
    assert_int_equal(net_transport_create(&w.loop, &c2, NULL, on_frame, &t), CRAFT_EINVAL);
    world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_two_exchange_every_kind),
        cmocka_unit_test(test_transport_three_all_connected),
        cmocka_unit_test(test_transport_other_cluster_refused),
        cmocka_unit_test(test_transport_unknown_node_refused),
        cmocka_unit_test(test_transport_version_mismatch_refused),
        cmocka_unit_test(test_transport_killed_mid_frame),
        cmocka_unit_test(test_transport_garbage_disconnected),
        cmocka_unit_test(test_transport_send_queue_bound_busy),
        cmocka_unit_test(test_transport_heartbeat_not_behind_chunks),
        cmocka_unit_test(test_transport_large_write_split),
        cmocka_unit_test(test_transport_reconnect_after_restart),
        cmocka_unit_test(test_transport_peer_killed_mid_frame_after_hello),
        cmocka_unit_test(test_transport_misrouted_frame_disconnected),
        cmocka_unit_test(test_transport_bad_checksum_disconnected),
        cmocka_unit_test(test_transport_oversized_frame_disconnected),
        cmocka_unit_test(test_transport_silent_client_closed),
        cmocka_unit_test(test_transport_close_from_callback),
        cmocka_unit_test(test_transport_close_frees_everything),
        cmocka_unit_test(test_transport_dials_localhost),
        cmocka_unit_test(test_transport_unresolvable_peer_retried),
        cmocka_unit_test(test_transport_config_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
