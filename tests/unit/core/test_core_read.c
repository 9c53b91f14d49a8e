/* Reads through the core's API (src/core/read.c): ReadIndex confirmed by a heartbeat round that
 * all reads waiting at once share, the leader's own term committed first, a deposed leader never
 * serving, follower reads through the leader, lease reads, stale reads. */
#include "core_harness.h"

static int read_at(struct harness *h, craft_id at, uint64_t cookie, uint32_t mode)
{
    struct craft_input in = {.type = CRAFT_IN_READ, .read = {.cookie = cookie, .mode = mode}};
    return h_step(h, at, &in, NULL);
}

/* The outcome of cookie at node at, or NULL while it waits. */
static const struct craft_read_result *outcome(struct harness *h, craft_id at, uint64_t cookie)
{
    struct h_node *n = &h->nodes[at - 1];
    for (size_t i = 0; i < n->n_reads; i++) {
        if (n->reads[i].cookie == cookie) {
            return &n->reads[i];
        }
    }
    return NULL;
}

static void lease_on(struct craft_core_config *cfg)
{
    cfg->lease_reads = true;
    cfg->clock_drift_ppm = 10000;
}

static void test_core_read_index_waits_for_a_round(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    assert_int_equal(h_propose(h, 1, "w1", NULL), 0);
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 1, &st);
    size_t hb_before = h->n_sent_empty[2] + h->n_sent_empty[3];
    for (uint64_t k = 1; k <= 10; k++) {
        assert_int_equal(read_at(h, 1, k, CRAFT_READ_INDEX), 0);
    }
    assert_null(outcome(h, 1, 1)); /* not before a majority confirmed the leadership */
    /* Ten reads, one round: one heartbeat to each follower. */
    assert_int_equal(h->n_sent_empty[2] + h->n_sent_empty[3] - hb_before, 2);
    h_stabilize(h);
    for (uint64_t k = 1; k <= 10; k++) {
        const struct craft_read_result *r = outcome(h, 1, k);
        assert_non_null(r);
        assert_int_equal(r->status, 0);
        assert_int_equal(r->index, st.commit);
    }
    h_free(h);
}

static int read_more(struct harness *h, craft_id at, uint64_t cookie, bool more)
{
    struct craft_input in = {.type = CRAFT_IN_READ,
                             .read = {.cookie = cookie, .mode = CRAFT_READ_INDEX, .more = more}};
    return h_step(h, at, &in, NULL);
}

/* Heartbeats the leader (node 1) sent to its two followers until reads 1..k were all served. */
static size_t rounds_for_reads(bool batch, uint64_t k)
{
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    assert_int_equal(h_propose(h, 1, "w1", NULL), 0);
    h_stabilize(h);
    size_t hb_before = h->n_sent_empty[2] + h->n_sent_empty[3];
    for (uint64_t i = 1; i <= k; i++) {
        assert_int_equal(read_more(h, 1, i, batch && i < k), 0);
        if (batch && i < k) {
            /* Nothing goes out for a read that says more follow. */
            assert_int_equal(h->n_sent_empty[2] + h->n_sent_empty[3], hb_before);
        }
    }
    h_stabilize(h);
    for (uint64_t i = 1; i <= k; i++) {
        const struct craft_read_result *r = outcome(h, 1, i);
        assert_non_null(r);
        assert_int_equal(r->status, 0);
    }
    size_t sent = h->n_sent_empty[2] + h->n_sent_empty[3] - hb_before;
    h_free(h);
    return sent;
}

/* Reads handed over one step each: the first starts a round, the rest arrived after it started
 * and wait for the next, two rounds in all. As one batch (more on all but the last) they share
 * the one round the last read's step starts. */
static void test_core_read_batch_shares_one_round(void **state)
{
    (void)state;
    assert_int_equal(rounds_for_reads(false, 10), 4); /* two rounds to two followers */
    assert_int_equal(rounds_for_reads(true, 10), 2);  /* one */
}

/* A read that says more follow, with none coming, still gets its round: from the next step of
 * any kind (here a tick short of the heartbeat interval), never from one started before it. */
static void test_core_read_more_without_a_batch(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    assert_int_equal(h_propose(h, 1, "w1", NULL), 0);
    h_stabilize(h);
    size_t hb_before = h->n_sent_empty[2] + h->n_sent_empty[3];
    assert_int_equal(read_more(h, 1, 1, true), 0);
    h_stabilize(h); /* nothing to deliver: no round went out, so the read waits */
    assert_null(outcome(h, 1, 1));
    assert_int_equal(h->n_sent_empty[2] + h->n_sent_empty[3], hb_before);
    assert_int_equal(h_tick(h, 1, 1), 0);
    assert_int_equal(h->n_sent_empty[2] + h->n_sent_empty[3], hb_before + 2);
    h_stabilize(h);
    const struct craft_read_result *r = outcome(h, 1, 1);
    assert_non_null(r);
    assert_int_equal(r->status, 0);
    h_free(h);
}

static void test_core_read_waits_for_the_leaders_term(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(h_step(h, 1, &campaign, NULL), 0);
    struct craft_core_status st;
    for (int i = 0; i < 64; i++) {
        h_status(h, 1, &st);
        if (st.role == CRAFT_LEADER) {
            break;
        }
        h_deliver_one(h);
        for (craft_id id = 1; id <= 3; id++) {
            h_persist(h, id);
        }
    }
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_true(st.commit < st.last_index); /* its no-op is not committed yet */
    assert_int_equal(read_at(h, 1, 7, CRAFT_READ_INDEX), 0);
    h_stabilize(h);
    const struct craft_read_result *r = outcome(h, 1, 7);
    assert_non_null(r);
    assert_int_equal(r->status, 0);
    assert_true(r->index >= st.last_index); /* at least its own no-op */
    h_free(h);
}

/* Plain elections: no pre-vote, no lease, so a second leader rises while the first is cut off. */
static void plain(struct craft_core_config *cfg)
{
    cfg->pre_vote = false;
    cfg->check_quorum = false;
}

static void test_core_read_deposed_leader_never_serves(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, plain);
    h_elect(h, 1);
    for (craft_id v = 2; v <= 3; v++) { /* node 1 is cut off */
        h->cut[1][v] = true;
        h->cut[v][1] = true;
    }
    h_elect(h, 2);
    struct craft_core_status st;
    h_status(h, 2, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER); /* node 1 has not heard */
    assert_int_equal(h_propose(h, 2, "newer", NULL), 0);
    h_stabilize(h);
    assert_int_equal(read_at(h, 1, 5, CRAFT_READ_INDEX), 0); /* it still thinks it leads */
    h_stabilize(h);
    assert_null(outcome(h, 1, 5));
    for (craft_id v = 2; v <= 3; v++) {
        h->cut[1][v] = false;
        h->cut[v][1] = false;
    }
    assert_int_equal(h_tick(h, 2, 60), 0); /* the new leader's heartbeat deposes it */
    h_stabilize(h);
    const struct craft_read_result *r = outcome(h, 1, 5);
    assert_non_null(r);
    assert_int_equal(r->status, CRAFT_ENOTLEADER);
    h_free(h);
}

static void test_core_read_through_a_follower(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    h->cut[1][3] = true; /* node 3 lags behind the commit */
    assert_int_equal(h_propose(h, 1, "w", NULL), 0);
    h_stabilize(h);
    h->cut[1][3] = false;
    struct craft_core_status lead;
    h_status(h, 1, &lead);
    assert_int_equal(read_at(h, 3, 9, CRAFT_READ_INDEX), 0);
    for (int i = 0; i < 2; i++) { /* heartbeats repair node 3's log */
        assert_int_equal(h_tick(h, 1, 60), 0);
        h_stabilize(h);
    }
    const struct craft_read_result *r = outcome(h, 3, 9);
    assert_non_null(r);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->index, lead.commit);
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_true(st.applied >= r->index);
    h_free(h);
}

static void test_core_read_lease(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, lease_on);
    h_elect(h, 1);
    assert_int_equal(h_tick(h, 1, 50), 0); /* a heartbeat round, answered */
    h_stabilize(h);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_READ, .read = {.cookie = 3, .mode = CRAFT_READ_LEASE}};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    assert_int_equal(out.n_reads, 1); /* served at once, no round */
    assert_int_equal(out.reads[0].status, 0);
    assert_int_equal(out.n_msgs, 0);
    /* Long after the last answered round the lease is gone: a round again. */
    for (craft_id v = 2; v <= 3; v++) {
        h->cut[1][v] = true;
    }
    assert_int_equal(h_tick(h, 1, 160), 0); /* its heartbeats go nowhere */
    h_stabilize(h);
    in.read.cookie = 4;
    in.read.now_ms = h->nodes[0].now;
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    assert_int_equal(out.n_reads, 0);
    /* A read that brings a fresher clock than the last tick judges the lease by it. */
    struct harness *g = h_new();
    h_init(g, 3, lease_on);
    h_elect(g, 1);
    assert_int_equal(h_tick(g, 1, 50), 0);
    h_stabilize(g);
    in.read.cookie = 5;
    in.read.now_ms = g->nodes[0].now + 500; /* paused for half a second, not ticked yet */
    assert_int_equal(h_step(g, 1, &in, &out), 0);
    assert_int_equal(out.n_reads, 0);
    h_free(g);
    h_free(h);
}

/* A leader that sent TimeoutNow has no lease for the rest of its term: voters in its lease answer
 * the campaign it starts (seed 9318: the old leader served a lease read after its target had
 * won and committed). Lease reads then wait for a round like ReadIndex. */
static void test_core_read_no_lease_after_timeout_now(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, lease_on);
    h_elect(h, 1);
    assert_int_equal(h_tick(h, 1, 50), 0);
    h_stabilize(h);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_TRANSFER, .transfer.target = 2};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_TIMEOUT_NOW, false), 1);
    for (size_t k = 0; k < h->n_net; k++) {
        h_free_msg(&h->net[k]); /* the TimeoutNow is on its way, late */
    }
    h->n_net = 0;
    in = (struct craft_input){.type = CRAFT_IN_READ, .read = {.cookie = 7, .mode = CRAFT_READ_LEASE}};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    assert_int_equal(out.n_reads, 0); /* not served on the lease */
    h_free(h);
}

static void test_core_read_stale_and_refusals(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    assert_int_equal(read_at(h, 2, 1, CRAFT_READ_INDEX), CRAFT_ENOTLEADER); /* no leader known */
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_READ, .read = {.cookie = 2, .mode = CRAFT_READ_STALE}};
    assert_int_equal(h_step(h, 2, &in, &out), 0);
    assert_int_equal(out.n_reads, 1);
    assert_int_equal(out.reads[0].status, 0);
    assert_int_equal(read_at(h, 2, 3, 99), CRAFT_EINVAL);
    assert_int_equal(read_at(h, 2, 3, CRAFT_READ_LEASE), CRAFT_EINVAL); /* not configured */
    craft_id voters[] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 1, voters, 3);
    cfg.lease_reads = true;
    cfg.check_quorum = false;
    struct craft_core *c = NULL;
    assert_int_equal(craft_core_create(&cfg, NULL, &c), CRAFT_EINVAL);
    h_free(h);
}

/* An answer to another read (an earlier life's, a stray copy) is not taken for this one. */
static void test_core_read_answer_must_match(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_READ, .read = {.cookie = 11, .mode = CRAFT_READ_INDEX}};
    assert_int_equal(craft_core_step(h_core(h, 2), &in, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_READ_INDEX, false), 1);
    struct craft_msg ask = out.msgs[0];
    struct craft_msg wrong = {.type = CRAFT_MSG_READ_INDEX_RESP, .from = 1, .to = 2,
                              .term = ask.term,
                              .read = {.id = ask.read.id + 1, .index = 0, .ok = true}};
    assert_int_equal(h_feed(h_core(h, 2), &wrong, &out), 0);
    assert_int_equal(out.n_reads, 0); /* index 0 would have been ready at once */
    wrong.read.id = ask.read.id;
    assert_int_equal(h_feed(h_core(h, 2), &wrong, &out), 0);
    assert_int_equal(out.n_reads, 1);
    /* Two lives of one node (other seeds) name their reads apart. */
    craft_id voters[] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 2, voters, 3);
    cfg.seed = 1000;
    struct craft_core *life = NULL;
    assert_int_equal(craft_core_create(&cfg, NULL, &life), 0);
    struct craft_msg app = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 2, .term = ask.term};
    assert_int_equal(h_feed(life, &app, &out), 0); /* learns its leader */
    assert_int_equal(craft_core_step(life, &in, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_READ_INDEX, false), 1);
    assert_int_not_equal(out.msgs[0].read.id, ask.read.id);
    craft_core_destroy(life);
    h_free(h);
}

static void reads_max_one(struct craft_core_config *cfg)
{
    cfg->reads_max = 1;
}

static void test_core_read_bounds_and_refusal(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, reads_max_one);
    h_elect(h, 1);
    assert_int_equal(read_at(h, 1, 1, CRAFT_READ_INDEX), 0);
    assert_int_equal(read_at(h, 1, 2, CRAFT_READ_INDEX), CRAFT_EBUSY); /* one waits already */
    h_stabilize(h);
    assert_non_null(outcome(h, 1, 1));
    /* A follower's READ_INDEX reaching a node that no longer leads is refused, and the read ends. */
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_READ, .read = {.cookie = 7, .mode = CRAFT_READ_INDEX}};
    assert_int_equal(craft_core_step(h_core(h, 2), &in, &out), 0);
    struct craft_msg ask = out.msgs[0];
    ask.to = 3; /* as if node 2 still took node 3 for its leader */
    assert_int_equal(h_feed(h_core(h, 3), &ask, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_READ_INDEX_RESP, false), 1);
    struct craft_msg refusal = out.msgs[0];
    assert_false(refusal.read.ok);
    assert_int_equal(h_feed(h_core(h, 2), &refusal, &out), 0);
    assert_int_equal(out.n_reads, 1);
    assert_int_equal(out.reads[0].status, CRAFT_ENOTLEADER);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_read_index_waits_for_a_round),
        cmocka_unit_test(test_core_read_batch_shares_one_round),
        cmocka_unit_test(test_core_read_more_without_a_batch),
        cmocka_unit_test(test_core_read_waits_for_the_leaders_term),
        cmocka_unit_test(test_core_read_deposed_leader_never_serves),
        cmocka_unit_test(test_core_read_through_a_follower),
        cmocka_unit_test(test_core_read_lease),
        cmocka_unit_test(test_core_read_no_lease_after_timeout_now),
        cmocka_unit_test(test_core_read_stale_and_refusals),
        cmocka_unit_test(test_core_read_answer_must_match),
        cmocka_unit_test(test_core_read_bounds_and_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
