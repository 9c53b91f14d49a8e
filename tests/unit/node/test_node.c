/* The node's logic against a fake environment that records every call: answers wait for the
 * log, outcomes reach the right request, committed entries and reads go to apply in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "node/node.h"

#define FAKE_MAX 64

struct fake_done {
    uint64_t cookie;
    struct craft_result r;
};

struct fake_env {
    uint64_t now;
    uint64_t timer_at;
    struct craft_msg sent[FAKE_MAX];
    size_t n_sent;
    uint64_t seq;
    struct craft_persist persists[FAKE_MAX];
    size_t n_persists;
    struct node_apply_item items[FAKE_MAX];
    uint64_t item_cookies[FAKE_MAX]; /* first cookie of each entries item */
    craft_index item_last[FAKE_MAX];
    size_t n_items;
    struct fake_done done[FAKE_MAX];
    size_t n_done;
    int apply_rv;
    int failed;
    craft_index rolled_back;
    size_t n_pre_committed;
    struct craft_snapshot_meta snap_items[FAKE_MAX]; /* by item number, for snapshot items */
    struct craft_snapshot_meta taken;                /* the last env->snapshot_taken */
    size_t n_taken;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_env *)ctx)->now;
}

static void fake_timer(void *ctx, uint64_t at)
{
    ((struct fake_env *)ctx)->timer_at = at;
}

static void fake_send(void *ctx, const struct craft_msg *m)
{
    struct fake_env *e = ctx;
    assert_true(e->n_sent < FAKE_MAX);
    e->sent[e->n_sent] = *m;
    e->sent[e->n_sent].append.entries = NULL; /* borrowed: not kept */
    e->n_sent++;
}

static int fake_log(void *ctx, const struct craft_persist *p, uint64_t *seq)
{
    struct fake_env *e = ctx;
    assert_true(e->n_persists < FAKE_MAX);
    e->persists[e->n_persists] = *p;
    e->persists[e->n_persists].entries = NULL;
    e->n_persists++;
    *seq = ++e->seq;
    return 0;
}

static int fake_apply(void *ctx, const struct node_apply_item *items, size_t n)
{
    struct fake_env *e = ctx;
    if (e->apply_rv != 0) {
        return e->apply_rv;
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(e->n_items < FAKE_MAX);
        e->items[e->n_items] = items[i];
        e->items[e->n_items].entries = NULL;
        e->items[e->n_items].cookies = NULL;
        if (items[i].kind == NODE_APPLY_ENTRIES) {
            e->item_cookies[e->n_items] = items[i].cookies[items[i].n - 1];
            e->item_last[e->n_items] = items[i].entries[items[i].n - 1].index;
        } else if (items[i].kind == NODE_APPLY_SNAPSHOT) {
            e->snap_items[e->n_items] = *items[i].meta;
        }
        e->items[e->n_items].meta = NULL;
        e->n_items++;
    }
    return 0;
}

static void fake_complete(void *ctx, uint64_t cookie, const struct craft_result *r)
{
    struct fake_env *e = ctx;
    assert_true(e->n_done < FAKE_MAX);
    e->done[e->n_done].cookie = cookie;
    e->done[e->n_done].r = *r;
    e->n_done++;
}

static void fake_failed(void *ctx, int rv)
{
    ((struct fake_env *)ctx)->failed = rv;
}

static void fake_rollback(void *ctx, craft_index from)
{
    ((struct fake_env *)ctx)->rolled_back = from;
}

static void fake_pre_commit(void *ctx, const struct craft_entry *entries, size_t n)
{
    (void)entries;
    ((struct fake_env *)ctx)->n_pre_committed += n;
}

static void fake_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m)
{
    struct fake_env *e = ctx;
    e->taken = *m;
    e->n_taken++;
}

static struct node *make_node_cfg(struct fake_env *e, craft_id id, const craft_id *voters,
                                  unsigned k, uint64_t snapshot_every, uint64_t log_trailing);
static uint64_t next_apply_window; /* the window make_node_cfg gives (tests set it) */
static bool next_snapshots;        /* node_config.snapshots for the next make_node_cfg */

static struct node *make_node(struct fake_env *e, craft_id id, const craft_id *voters, unsigned k)
{
    return make_node_cfg(e, id, voters, k, 0, NODE_NEVER_COMPACT);
}

static struct node *make_node_cfg(struct fake_env *e, craft_id id, const craft_id *voters,
                                  unsigned k, uint64_t snapshot_every, uint64_t log_trailing)
{
    memset(e, 0, sizeof *e);
    e->now = 1000;
    struct node_env env = {
        .ctx = e,
        .now_ms = fake_now,
        .timer_arm = fake_timer,
        .send = fake_send,
        .log_submit = fake_log,
        .apply_submit = fake_apply,
        .complete = fake_complete,
        .failed = fake_failed,
        .rollback = fake_rollback,
        .pre_commit = fake_pre_commit,
        .snapshot_taken = fake_snapshot_taken,
    };
    struct node_config cfg;
    node_config_init(&cfg);
    cfg.core.id = id;
    cfg.core.voters = voters;
    cfg.core.n_voters = k;
    cfg.core.seed = 7;
    cfg.snapshot_every = snapshot_every;
    cfg.log_trailing = log_trailing;
    cfg.apply_window = next_apply_window;
    next_apply_window = 0;
    cfg.snapshots = next_snapshots;
    next_snapshots = false;
    struct node *n;
    assert_int_equal(node_create(&cfg, NULL, &env, &n), 0);
    assert_int_equal(e->timer_at, e->now); /* the first tick starts the core's clock */
    assert_int_equal(e->n_sent + e->n_persists + e->n_items, 0);
    node_on_timer(n);
    return n;
}

/* Fires the timer until the node leads (a single voter elects itself once its votes are
 * durable). */
static void become_sole_leader(struct node *n, struct fake_env *e)
{
    for (int i = 0; i < 100 && craft_core_leader(node_core(n)) != 1; i++) {
        assert_true(e->timer_at > 0);
        e->now = e->timer_at;
        node_on_timer(n);
        node_on_durable(n, e->seq);
    }
    assert_int_equal(craft_core_leader(node_core(n)), 1);
}

static void test_timer_armed_at_core_deadline(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1, 2, 3};
    struct node *n = make_node(&e, 1, voters, 3);
    assert_true(e.timer_at > e.now);
    assert_true(e.timer_at <= craft_core_next_deadline(node_core(n)));
    node_destroy(n);
}

static void test_proposal_result_goes_to_apply_with_cookie(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1};
    struct node *n = make_node(&e, 1, voters, 1);
    become_sole_leader(n, &e);
    node_on_applied(n, 1); /* the leader's no-op */
    size_t items_before = e.n_items;
    struct craft_buf cmd = {"x", 1};
    uint64_t cookie = 77;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0);
    /* Not durable yet: nothing is committed. */
    assert_int_equal(e.n_items, items_before);
    assert_int_equal(e.n_done, 0);
    assert_true(e.n_pre_committed >= 1);
    node_on_durable(n, e.seq);
    assert_int_equal(e.n_items, items_before + 1);
    assert_int_equal(e.items[items_before].kind, NODE_APPLY_ENTRIES);
    assert_int_equal(e.item_cookies[items_before], 77);
    assert_int_equal(e.item_last[items_before], 2);
    assert_int_equal(e.n_done, 0); /* apply completes it, with the state machine's result */
    node_destroy(n);
}

static struct craft_msg append_from_leader(craft_term term, craft_index prev, craft_term prev_term,
                                           const struct craft_entry *ents, uint32_t k)
{
    struct craft_msg m;
    memset(&m, 0, sizeof m);
    m.type = CRAFT_MSG_APPEND;
    m.from = 1;
    m.to = 2;
    m.term = term;
    m.append.prev_index = prev;
    m.append.prev_term = prev_term;
    m.append.entries = ents;
    m.append.n_entries = k;
    return m;
}

static size_t count_sent(const struct fake_env *e, uint32_t type)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n_sent; i++) {
        k += e->sent[i].type == type;
    }
    return k;
}

static void test_ack_waits_for_durable(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1, 2};
    struct node *n = make_node(&e, 2, voters, 2);
    struct craft_entry ents[2] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_NOOP},
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {"ab", 2}},
    };
    struct craft_msg m = append_from_leader(1, 0, 0, ents, 2);
    node_on_msgs(n, &m, 1);
    assert_int_equal(count_sent(&e, CRAFT_MSG_APPEND_RESP), 0);
    assert_true(e.n_persists >= 1);
    assert_int_equal(e.persists[e.n_persists - 1].n_entries, 2);
    node_on_durable(n, e.seq);
    assert_int_equal(count_sent(&e, CRAFT_MSG_APPEND_RESP), 1);
    const struct craft_msg *r = &e.sent[e.n_sent - 1];
    assert_true(r->append_resp.success);
    assert_int_equal(r->append_resp.index, 2);
    /* A heartbeat with nothing to persist, while nothing is in flight, is answered at once. */
    struct craft_msg hb = append_from_leader(1, 2, 1, NULL, 0);
    node_on_msgs(n, &hb, 1);
    assert_int_equal(count_sent(&e, CRAFT_MSG_APPEND_RESP), 2);
    node_destroy(n);
}

static void test_answer_without_persist_waits_for_earlier_write(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1, 2};
    struct node *n = make_node(&e, 2, voters, 2);
    struct craft_entry ents[1] = {{.term = 1, .index = 1, .type = CRAFT_ENTRY_NOOP}};
    struct craft_msg m = append_from_leader(1, 0, 0, ents, 1);
    node_on_msgs(n, &m, 1);
    uint64_t first = e.seq;
    /* The heartbeat's answer says "matched up to 1": it must wait for entry 1's write. */
    struct craft_msg hb = append_from_leader(1, 1, 1, NULL, 0);
    node_on_msgs(n, &hb, 1);
    assert_int_equal(count_sent(&e, CRAFT_MSG_APPEND_RESP), 0);
    node_on_durable(n, first);
    assert_int_equal(count_sent(&e, CRAFT_MSG_APPEND_RESP), 2);
    node_destroy(n);
}

static size_t count_sent_in_term(const struct fake_env *e, uint32_t type, craft_term term)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n_sent; i++) {
        k += e->sent[i].type == type && e->sent[i].term == term;
    }
    return k;
}

/* Node 2 of three, handed entries 1 and 2 of term 1 by leader 1 (not yet durable). */
static struct node *follower_with_two_entries_of_term_1(struct fake_env *e)
{
    static const craft_id voters[] = {1, 2, 3};
    struct node *n = make_node(e, 2, voters, 3);
    struct craft_entry old[2] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_NOOP},
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {"a", 1}},
    };
    struct craft_msg m = append_from_leader(1, 0, 0, old, 2);
    node_on_msgs(n, &m, 1);
    return n;
}

/* One batch makes an acknowledgement of term 1 durable together with a newer leader's
 * overwrite: the term-1 answer never held as such, and is dropped. */
static void test_answer_of_ended_term_dropped(void **state)
{
    (void)state;
    struct fake_env e;
    struct node *n = follower_with_two_entries_of_term_1(&e);
    struct craft_entry repl[2] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_NOOP},
        {.term = 2, .index = 2, .type = CRAFT_ENTRY_NOOP},
    };
    struct craft_msg m2 = append_from_leader(2, 0, 0, repl, 2);
    m2.from = 3;
    node_on_msgs(n, &m2, 1);
    assert_int_equal(count_sent(&e, CRAFT_MSG_APPEND_RESP), 0);
    node_on_durable(n, e.seq); /* both writes at once */
    assert_int_equal(count_sent_in_term(&e, CRAFT_MSG_APPEND_RESP, 1), 0);
    assert_int_equal(count_sent_in_term(&e, CRAFT_MSG_APPEND_RESP, 2), 1);
    node_destroy(n);
}

static void test_conflicting_suffix_rolled_back(void **state)
{
    (void)state;
    struct fake_env e;
    struct node *n = follower_with_two_entries_of_term_1(&e);
    node_on_durable(n, e.seq);
    assert_int_equal(e.rolled_back, 0);
    struct craft_entry repl[1] = {{.term = 2, .index = 2, .type = CRAFT_ENTRY_NOOP}};
    struct craft_msg m2 = append_from_leader(2, 1, 1, repl, 1);
    node_on_msgs(n, &m2, 1);
    assert_int_equal(e.rolled_back, 2);
    assert_int_equal(e.persists[e.n_persists - 1].truncate_from, 2);
    node_destroy(n);
}

static void test_follower_refuses_with_leader_hint(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1, 2};
    struct node *n = make_node(&e, 2, voters, 2);
    struct craft_msg hb = append_from_leader(1, 0, 0, NULL, 0);
    node_on_msgs(n, &hb, 1);
    struct craft_buf cmd = {"x", 1};
    uint64_t cookie = 5;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), CRAFT_ENOTLEADER);
    assert_int_equal(e.n_done, 1);
    assert_int_equal(e.done[0].cookie, 5);
    assert_int_equal(e.done[0].r.status, CRAFT_ENOTLEADER);
    assert_int_equal(e.done[0].r.leader, 1);
    node_destroy(n);
}

static void test_stale_read_goes_to_apply(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1, 2};
    struct node *n = make_node(&e, 2, voters, 2);
    assert_int_equal(node_read(n, 9, CRAFT_NODE_READ_STALE, false), 0);
    assert_int_equal(e.n_items, 1);
    assert_int_equal(e.items[0].kind, NODE_APPLY_READ);
    assert_int_equal(e.items[0].cookie, 9);
    assert_int_equal(e.n_done, 0);
    node_destroy(n);
}

/* Grants node 1's latest (pre-)vote request from node 2. */
static void grant_from_2(struct node *n, struct fake_env *e, uint32_t req, uint32_t resp)
{
    for (size_t i = e->n_sent; i-- > 0;) {
        if (e->sent[i].type == req && e->sent[i].to == 2) {
            struct craft_msg m;
            memset(&m, 0, sizeof m);
            m.type = resp;
            m.from = 2;
            m.to = 1;
            m.term = e->sent[i].term;
            m.vote_resp.granted = true;
            node_on_msgs(n, &m, 1);
            return;
        }
    }
    fail_msg("no request of type %u to node 2", req);
}

static void test_outcome_unknown_when_leadership_lost(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1, 2, 3};
    struct node *n = make_node(&e, 1, voters, 3);
    for (int i = 0; i < 100 && count_sent(&e, CRAFT_MSG_PREVOTE) == 0; i++) {
        e.now = e.timer_at;
        node_on_timer(n);
    }
    grant_from_2(n, &e, CRAFT_MSG_PREVOTE, CRAFT_MSG_PREVOTE_RESP);
    node_on_durable(n, e.seq); /* the vote for itself */
    grant_from_2(n, &e, CRAFT_MSG_VOTE, CRAFT_MSG_VOTE_RESP);
    assert_int_equal(craft_core_leader(node_core(n)), 1);
    craft_term term = e.sent[e.n_sent - 1].term;
    struct craft_buf cmd = {"x", 1};
    uint64_t cookie = 11;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0);
    assert_int_equal(e.n_done, 0);
    /* A newer leader appears before the entry committed. */
    struct craft_msg hb;
    memset(&hb, 0, sizeof hb);
    hb.type = CRAFT_MSG_APPEND;
    hb.from = 3;
    hb.to = 1;
    hb.term = term + 1;
    node_on_msgs(n, &hb, 1);
    assert_int_equal(e.n_done, 1);
    assert_int_equal(e.done[0].cookie, 11);
    assert_int_equal(e.done[0].r.status, CRAFT_EUNKNOWN);
    node_destroy(n);
}

/* With snapshot_every 4: a snapshot item right behind entry 4, told to the core (and storage)
 * only once saved and applied, then the memory log compacted to it. */
static void test_snapshot_item_at_multiple(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1};
    struct node *n = make_node_cfg(&e, 1, voters, 1, 4, 0);
    become_sole_leader(n, &e);
    struct craft_buf cmds[5] = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}};
    uint64_t cookies[5] = {1, 2, 3, 4, 5};
    assert_int_equal(node_propose(n, cookies, cmds, 5), 0); /* entries 2..6 */
    node_on_durable(n, e.seq);
    /* Items: ..., entries up to 4, the snapshot of 4, entries 5..6. */
    size_t snap = FAKE_MAX;
    for (size_t i = 0; i < e.n_items; i++) {
        if (e.items[i].kind == NODE_APPLY_SNAPSHOT) {
            assert_int_equal(snap, FAKE_MAX); /* only one */
            snap = i;
        }
    }
    assert_true(snap > 0 && snap + 1 < e.n_items);
    assert_int_equal(e.snap_items[snap].index, 4);
    assert_int_equal(e.item_last[snap - 1], 4);
    assert_int_equal(e.item_last[snap + 1], 6);
    /* Saved before the state machine reported entry 4: the core waits for the applied index. */
    struct craft_snapshot_meta m = e.snap_items[snap];
    node_on_snapshot_saved(n, &m, 0);
    assert_int_equal(e.n_taken, 0);
    node_on_applied(n, 6);
    assert_int_equal(e.n_taken, 1);
    assert_int_equal(e.taken.index, 4);
    struct craft_core_status st;
    craft_core_status(node_core(n), &st);
    assert_int_equal(st.snapshot_index, 4);
    assert_int_equal(st.first_index, 5); /* compacted, no trailing entries kept */
    node_destroy(n);
}

/* A save that failed is retried at the next multiple; nothing is told meanwhile. */
static void test_snapshot_failed_save_retried(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1};
    struct node *n = make_node_cfg(&e, 1, voters, 1, 2, NODE_NEVER_COMPACT);
    become_sole_leader(n, &e);
    struct craft_buf cmd = {"a", 1};
    uint64_t cookie = 1;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0); /* entry 2 */
    node_on_durable(n, e.seq);
    assert_int_equal(e.items[e.n_items - 1].kind, NODE_APPLY_SNAPSHOT);
    struct craft_snapshot_meta m = e.snap_items[e.n_items - 1];
    node_on_applied(n, 2);
    node_on_snapshot_saved(n, &m, CRAFT_EIO);
    assert_int_equal(e.n_taken, 0);
    cookie = 2;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0); /* entry 3: no multiple */
    node_on_durable(n, e.seq);
    assert_int_equal(e.items[e.n_items - 1].kind, NODE_APPLY_ENTRIES);
    cookie = 3;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0); /* entry 4 */
    node_on_durable(n, e.seq);
    assert_int_equal(e.items[e.n_items - 1].kind, NODE_APPLY_SNAPSHOT);
    assert_int_equal(e.snap_items[e.n_items - 1].index, 4);
    struct craft_core_status st;
    craft_core_status(node_core(n), &st);
    assert_int_equal(st.first_index, 1); /* never compacts on its own here */
    node_destroy(n);
}

/* The last entry index handed to apply so far. */
static craft_index last_handed(const struct fake_env *e)
{
    craft_index last = 0;
    for (size_t i = 0; i < e->n_items; i++) {
        if (e->items[i].kind == NODE_APPLY_ENTRIES) {
            last = e->item_last[i];
        }
    }
    return last;
}

/* With an apply window of 2, committed entries reach apply 2 ahead of what it reported; the
 * rest follow as it reports progress, each with its proposal's cookie; and a leader whose state
 * machine is two windows behind refuses proposals. */
static void test_apply_window(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1};
    next_apply_window = 2;
    struct node *n = make_node(&e, 1, voters, 1);
    become_sole_leader(n, &e);
    node_on_applied(n, 1);
    struct craft_buf cmds[5] = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}};
    uint64_t cookies[5] = {11, 12, 13, 14, 15};
    assert_int_equal(node_propose(n, cookies, cmds, 5), 0); /* entries 2..6 */
    node_on_durable(n, e.seq);
    assert_int_equal(last_handed(&e), 3);
    /* Committed 6, applied 1: two windows behind, so a new proposal is refused. */
    struct craft_buf more = {"f", 1};
    uint64_t cookie = 16;
    assert_int_equal(node_propose(n, &cookie, &more, 1), CRAFT_EBUSY);
    assert_int_equal(e.done[e.n_done - 1].cookie, 16);
    node_on_applied(n, 3);
    assert_int_equal(last_handed(&e), 5);
    assert_int_equal(e.item_cookies[e.n_items - 1], 14); /* entry 5 carries proposal 14 */
    node_on_applied(n, 5);
    assert_int_equal(last_handed(&e), 6);
    assert_int_equal(e.item_cookies[e.n_items - 1], 15);
    node_on_applied(n, 6);
    assert_int_equal(node_propose(n, &cookie, &more, 1), 0);
    node_destroy(n);
}

static void test_apply_failure_stops_node(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1};
    struct node *n = make_node(&e, 1, voters, 1);
    e.apply_rv = CRAFT_EIO;
    become_sole_leader(n, &e);
    assert_int_equal(e.failed, CRAFT_EIO);
    assert_true(node_stopped(n));
    struct craft_buf cmd = {"x", 1};
    uint64_t cookie = 3;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), CRAFT_ESHUTDOWN);
    assert_int_equal(e.done[e.n_done - 1].r.status, CRAFT_ESHUTDOWN);
    struct craft_node_status st;
    node_status(n, &st);
    assert_int_equal(st.role, CRAFT_NODE_STOPPED);
    node_destroy(n);
}

/* The outcomes env->complete gave cookie: how many, and the last one into *r. */
static size_t outcomes_of(const struct fake_env *e, uint64_t cookie, struct craft_result *r)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n_done; i++) {
        if (e->done[i].cookie == cookie) {
            *r = e->done[i].r;
            k++;
        }
    }
    return k;
}

/* The number of snapshot items queued, and the last one's meta into *m. */
static size_t snap_items(const struct fake_env *e, struct craft_snapshot_meta *m)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n_items; i++) {
        if (e->items[i].kind == NODE_APPLY_SNAPSHOT) {
            *m = e->snap_items[i];
            k++;
        }
    }
    return k;
}

/* A sole leader with entries 1..last committed and handed to apply (not reported applied). */
static struct node *leader_with_entries(struct fake_env *e, uint64_t snapshot_every,
                                        craft_index last)
{
    static craft_id voters[] = {1};
    next_snapshots = true;
    struct node *n = make_node_cfg(e, 1, voters, 1, snapshot_every, 0);
    become_sole_leader(n, e);
    for (craft_index i = 2; i <= last; i++) {
        struct craft_buf cmd = {"x", 1};
        uint64_t cookie = 1000 + i;
        assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0);
        node_on_durable(n, e->seq);
    }
    assert_int_equal(last_handed(e), last);
    return n;
}

/* Without snapshots (no snapshot_every, node_config.snapshots false): CRAFT_ENOTSUP at once. */
static void test_snapshot_now_not_supported(void **state)
{
    (void)state;
    struct fake_env e;
    craft_id voters[] = {1};
    struct node *n = make_node(&e, 1, voters, 1);
    become_sole_leader(n, &e);
    struct craft_result r;
    assert_int_equal(node_snapshot(n, 5), CRAFT_ENOTSUP);
    assert_int_equal(outcomes_of(&e, 5, &r), 1);
    assert_int_equal(r.status, CRAFT_ENOTSUP);
    struct craft_snapshot_meta m;
    assert_int_equal(snap_items(&e, &m), 0);
    node_destroy(n);
}

/* A request saves a snapshot at the index handed to apply when it came, and ends only once the
 * state machine applied up to it, the save is durable and the core knows it; a second request
 * with nothing new ends at once with the same snapshot. */
static void test_snapshot_now_saved_then_reported(void **state)
{
    (void)state;
    struct fake_env e;
    struct node *n = leader_with_entries(&e, 0, 4);
    struct craft_result r;
    assert_int_equal(node_snapshot(n, 7), 0);
    struct craft_snapshot_meta m;
    assert_int_equal(snap_items(&e, &m), 1);
    assert_int_equal(m.index, 4);
    assert_int_equal(e.items[e.n_items - 1].kind, NODE_APPLY_SNAPSHOT); /* behind entry 4 */
    assert_int_equal(outcomes_of(&e, 7, &r), 0);
    node_on_snapshot_saved(n, &m, 0); /* durable, but entry 4 not reported applied yet */
    assert_int_equal(outcomes_of(&e, 7, &r), 0);
    assert_int_equal(e.n_taken, 0);
    node_on_applied(n, 4);
    assert_int_equal(e.n_taken, 1); /* storage told before the request ends */
    assert_int_equal(outcomes_of(&e, 7, &r), 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.index, 4);
    assert_int_equal(r.term, m.term);
    struct craft_core_status st;
    craft_core_status(node_core(n), &st);
    assert_int_equal(st.snapshot_index, 4);
    assert_int_equal(st.first_index, 5); /* compacted behind it (log_trailing 0) */
    /* Nothing applied since: the same snapshot at once, no new save. */
    assert_int_equal(node_snapshot(n, 8), 0);
    assert_int_equal(outcomes_of(&e, 8, &r), 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.index, 4);
    assert_int_equal(snap_items(&e, &m), 1);
    node_destroy(n);
}

/* A request that a threshold snapshot under way covers joins it (no second save); one it does
 * not cover waits for it, then gets a save of its own. */
static void test_snapshot_now_joins_threshold(void **state)
{
    (void)state;
    struct fake_env e;
    struct node *n = leader_with_entries(&e, 4, 4); /* the threshold item at 4 is out */
    struct craft_snapshot_meta m4;
    assert_int_equal(snap_items(&e, &m4), 1);
    assert_int_equal(m4.index, 4);
    assert_int_equal(node_snapshot(n, 21), 0); /* covered by 4: joins */
    struct craft_buf cmd = {"y", 1};
    uint64_t cookie = 99;
    assert_int_equal(node_propose(n, &cookie, &cmd, 1), 0);
    node_on_durable(n, e.seq); /* entry 5 handed */
    assert_int_equal(node_snapshot(n, 22), 0); /* needs 5: waits, no save while one is out */
    struct craft_snapshot_meta m;
    assert_int_equal(snap_items(&e, &m), 1);
    node_on_snapshot_saved(n, &m4, 0);
    node_on_applied(n, 5);
    struct craft_result r;
    assert_int_equal(outcomes_of(&e, 21, &r), 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.index, 4);
    assert_int_equal(outcomes_of(&e, 22, &r), 0);
    assert_int_equal(snap_items(&e, &m), 2); /* its own save, at 5 */
    assert_int_equal(m.index, 5);
    node_on_snapshot_saved(n, &m, 0);
    assert_int_equal(outcomes_of(&e, 22, &r), 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.index, 5);
    node_destroy(n);
}

/* A failed save ends the requests waiting with its error; one still waiting at destroy ends
 * with CRAFT_ESHUTDOWN. */
static void test_snapshot_now_failure_and_shutdown(void **state)
{
    (void)state;
    struct fake_env e;
    struct node *n = leader_with_entries(&e, 0, 3);
    struct craft_result r;
    assert_int_equal(node_snapshot(n, 31), 0);
    struct craft_snapshot_meta m;
    assert_int_equal(snap_items(&e, &m), 1);
    node_on_applied(n, 3);
    node_on_snapshot_saved(n, &m, CRAFT_EIO);
    assert_int_equal(outcomes_of(&e, 31, &r), 1);
    assert_int_equal(r.status, CRAFT_EIO);
    assert_int_equal(e.n_taken, 0);
    assert_int_equal(node_snapshot(n, 32), 0); /* tried again: a new save */
    assert_int_equal(snap_items(&e, &m), 2);
    node_destroy(n);
    assert_int_equal(outcomes_of(&e, 32, &r), 1);
    assert_int_equal(r.status, CRAFT_ESHUTDOWN);
}

/* A save overtaken by a restore (CRAFT_ESTALE) that does not cover the request: the node saves
 * again for it, at what it has handed over, instead of failing it. */
static void test_snapshot_now_stale_save_saved_again(void **state)
{
    (void)state;
    struct fake_env e;
    struct node *n = leader_with_entries(&e, 0, 3);
    assert_int_equal(node_snapshot(n, 41), 0);
    struct craft_snapshot_meta m;
    assert_int_equal(snap_items(&e, &m), 1);
    node_on_applied(n, 3);
    node_on_snapshot_saved(n, &m, CRAFT_ESTALE);
    struct craft_result r;
    assert_int_equal(outcomes_of(&e, 41, &r), 0);
    assert_int_equal(snap_items(&e, &m), 2);
    assert_int_equal(m.index, 3);
    node_on_snapshot_saved(n, &m, 0);
    assert_int_equal(outcomes_of(&e, 41, &r), 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.index, 3);
    node_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_armed_at_core_deadline),
        cmocka_unit_test(test_proposal_result_goes_to_apply_with_cookie),
        cmocka_unit_test(test_ack_waits_for_durable),
        cmocka_unit_test(test_answer_without_persist_waits_for_earlier_write),
        cmocka_unit_test(test_answer_of_ended_term_dropped),
        cmocka_unit_test(test_conflicting_suffix_rolled_back),
        cmocka_unit_test(test_follower_refuses_with_leader_hint),
        cmocka_unit_test(test_stale_read_goes_to_apply),
        cmocka_unit_test(test_outcome_unknown_when_leadership_lost),
        cmocka_unit_test(test_snapshot_item_at_multiple),
        cmocka_unit_test(test_snapshot_failed_save_retried),
        cmocka_unit_test(test_apply_window),
        cmocka_unit_test(test_apply_failure_stops_node),
        cmocka_unit_test(test_snapshot_now_not_supported),
        cmocka_unit_test(test_snapshot_now_saved_then_reported),
        cmocka_unit_test(test_snapshot_now_joins_threshold),
        cmocka_unit_test(test_snapshot_now_failure_and_shutdown),
        cmocka_unit_test(test_snapshot_now_stale_save_saved_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
