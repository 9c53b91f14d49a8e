/* Self-test of the simulator pieces that do not need the core: event heap order, the hash map,
 * the disk's FIFO, crash and torn writes, the network's copies, routing and shapes, the trace. */
#include <stdio.h>
#include <string.h>

#include "sim_disk.h"
#include "sim_hash.h"
#include "sim_heap.h"
#include "sim_map.h"
#include "sim_network.h"
#include "sim_trace.h"
#include "util/alloc.h"

static int failures;

#include "sim_expect.h"

static void test_sim_heap_orders_by_time_then_sequence(void)
{
    struct sim_heap h;
    sim_heap_init(&h);
    struct prng r;
    prng_seed(&r, 7);
    for (uint64_t i = 0; i < 1000; i++) {
        sim_heap_push(&h, prng_below(&r, 50), SIM_EV_TICK, 0, i, NULL);
    }
    struct sim_event prev = {0};
    struct sim_event e;
    int n = 0;
    while (sim_heap_pop(&h, &e)) {
        if (n > 0) {
            EXPECT(prev.time_us < e.time_us || (prev.time_us == e.time_us && prev.seq < e.seq));
        }
        prev = e;
        n++;
    }
    EXPECT(n == 1000);
    sim_heap_close(&h);
}

static void test_sim_map_puts_and_gets(void)
{
    struct sim_map m;
    sim_map_init(&m);
    for (uint64_t i = 0; i < 5000; i++) {
        sim_map_put(&m, i, i * 7, i + 1);
    }
    sim_map_put(&m, 3, 21, 99);
    uint64_t v = 0;
    EXPECT(sim_map_get(&m, 3, 21, &v) && v == 99);
    EXPECT(sim_map_get(&m, 4999, 4999 * 7, &v) && v == 5000);
    EXPECT(!sim_map_get(&m, 3, 22, &v));
    EXPECT(m.n == 5000);
    sim_map_close(&m);
}

struct counts {
    int appends;
    int truncates;
    int hard_states;
};

static void c_truncate(void *ctx, const struct sim_disk *d, craft_index from)
{
    (void)d;
    (void)from;
    ((struct counts *)ctx)->truncates++;
}

static void c_append(void *ctx, const struct sim_disk *d, craft_index index)
{
    (void)d;
    (void)index;
    ((struct counts *)ctx)->appends++;
}

static void c_hs(void *ctx, const struct sim_disk *d, const struct craft_hard_state *hs)
{
    (void)d;
    (void)hs;
    ((struct counts *)ctx)->hard_states++;
}

static struct craft_persist output(struct craft_entry *ents, size_t n, craft_index trunc,
                                   craft_term term)
{
    struct craft_persist out;
    memset(&out, 0, sizeof(out));
    out.hard_state_changed = term != 0;
    out.hard_state.term = term;
    out.truncate_from = trunc;
    out.entries = ents;
    out.n_entries = n;
    return out;
}

static void test_sim_disk_applies_in_fifo_order_and_copies(void)
{
    struct sim_disk d;
    sim_disk_init(&d, 1);
    struct counts cn = {0};
    struct sim_disk_observer obs = {&cn, c_truncate, c_append, c_hs, NULL};
    char data[3][4] = {"aaa", "bbb", "ccc"};
    struct craft_entry e[3];
    for (int i = 0; i < 3; i++) {
        e[i].term = 1;
        e[i].index = (craft_index)i + 1;
        e[i].type = CRAFT_ENTRY_NORMAL;
        e[i].data.base = data[i];
        e[i].data.len = 3;
    }
    struct craft_persist o1 = output(e, 3, 0, 1);
    bool starts1, starts2, starts3;
    struct sim_disk_write *w1 = sim_disk_queue(&d, &o1, 1, &starts1);
    struct craft_entry e2 = {2, 2, CRAFT_ENTRY_NORMAL, {"zz", 2}};
    struct craft_persist o2 = output(&e2, 1, 2, 2);
    struct sim_disk_write *w2 = sim_disk_queue(&d, &o2, 2, &starts2);
    struct sim_disk_write *w3 = sim_disk_queue(&d, &o2, 3, &starts3);
    /* Group commit: the first starts a batch; those queued while it is written form the next. */
    EXPECT(starts1 && !starts2 && !starts3);
    EXPECT(w2->batch == w1->batch + 1 && w3->batch == w2->batch);
    EXPECT(d.n_pending == 3);
    struct sim_disk_write *w = sim_disk_pop_batch(&d);
    EXPECT(w == w1);
    memset(data, 'x', sizeof(data)); /* popped: the write holds copies now */
    EXPECT(d.n_payloads_changed == 0);
    EXPECT(sim_disk_pop_batch(&d) == NULL);
    sim_disk_apply(&d, w, &obs);
    sim_disk_write_free(w);
    EXPECT(d.n_log == 3 && d.log[0].data_hash == sim_hash_bytes("aaa", 3));
    EXPECT(sim_disk_next_batch(&d));
    w = sim_disk_pop_batch(&d);
    EXPECT(w == w2);
    sim_disk_apply(&d, w, &obs);
    sim_disk_write_free(w);
    w = sim_disk_pop_batch(&d);
    EXPECT(w == w3);
    EXPECT(!sim_disk_next_batch(&d));
    sim_disk_apply(&d, w, &obs);
    sim_disk_write_free(w);
    EXPECT(d.n_log == 2 && d.log[1].term == 2 && d.hs.term == 2);
    EXPECT(cn.appends == 5 && cn.truncates == 2 && cn.hard_states == 3);
    sim_disk_close(&d);
}

/* A queued write borrows the node's payloads (zero-copy): a change before it is written is
 * counted (check payload_reused), once it is popped it has its own copy. */
static void test_sim_disk_counts_payloads_changed_while_queued(void)
{
    struct sim_disk d;
    sim_disk_init(&d, 1);
    char data[] = "abc";
    struct craft_entry e = {1, 1, CRAFT_ENTRY_NORMAL, {data, 3}};
    struct craft_persist o = output(&e, 1, 0, 1);
    bool starts;
    sim_disk_queue(&d, &o, 1, &starts);
    data[1] = 'X';
    struct sim_disk_write *w = sim_disk_pop_batch(&d);
    EXPECT(d.n_payloads_changed == 1);
    data[1] = 'Y';
    EXPECT(memcmp(w->entries[0].data.base, "aXc", 3) == 0);
    sim_disk_write_free(w);
    sim_disk_close(&d);
}

static void test_sim_disk_crash_keeps_completed_and_at_most_written(void)
{
    for (uint64_t seed = 1; seed < 200; seed++) {
        struct sim_disk d;
        sim_disk_init(&d, 1);
        struct prng r;
        prng_seed(&r, seed);
        struct craft_entry e[4];
        for (int i = 0; i < 4; i++) {
            e[i] = (struct craft_entry){1, (craft_index)i + 1, CRAFT_ENTRY_NORMAL, {"d", 1}};
        }
        struct craft_persist o1 = output(e, 2, 0, 1);
        bool starts;
        struct sim_disk_write *w = sim_disk_queue(&d, &o1, 1, &starts);
        w = sim_disk_pop_batch(&d);
        EXPECT(!sim_disk_next_batch(&d));
        sim_disk_apply(&d, w, NULL);
        sim_disk_write_free(w);
        struct craft_persist o2 = output(e + 2, 2, 0, 1);
        sim_disk_queue(&d, &o2, 2, &starts);
        struct sim_disk_crash_report rep;
        sim_disk_crash(&d, &r, seed % 2 == 0, NULL, &rep);
        EXPECT(d.n_log >= 2 && d.n_log <= 4); /* completed survives; never more than written */
        if (seed % 2 == 1) {
            EXPECT(d.n_log == 2);
        }
        EXPECT(d.n_pending == 0 && rep.lost == 1);
        sim_disk_close(&d);
    }
}

static void test_sim_network_copies_routes_and_partitions(void)
{
    struct sim_net_params p = {1000, 2000, 0, 0, 0, 0, false, false};
    struct sim_network net;
    sim_network_init(&net, 5, 1, &p);
    char bytes[] = "payload";
    struct craft_entry e = {3, 9, CRAFT_ENTRY_NORMAL, {bytes, 7}};
    struct craft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = CRAFT_MSG_APPEND;
    m.from = 1;
    m.to = 2;
    m.append.entries = &e;
    m.append.n_entries = 1;
    struct sim_net_msg *nm = sim_net_msg_copy(&m);
    bytes[0] = 'X';
    EXPECT(nm->m.append.entries != &e);
    EXPECT(memcmp(nm->m.append.entries[0].data.base, "payload", 7) == 0);
    EXPECT(sim_net_msg_bytes(&nm->m) == SIM_MSG_HEADER_BYTES + 7);
    sim_net_msg_free(nm);
    uint64_t lat[2];
    EXPECT(sim_network_route(&net, &m, lat) == 1 && lat[0] >= 1000 && lat[0] < 2000);
    sim_network_split(&net, (1u << 1) | (1u << 3));
    EXPECT(sim_network_link_up(&net, 1, 3) && !sim_network_link_up(&net, 1, 2));
    EXPECT(sim_network_route(&net, &m, lat) == 0);
    sim_network_bridge(&net, (1u << 1) | (1u << 2), 3);
    EXPECT(sim_network_link_up(&net, 3, 5) && sim_network_link_up(&net, 1, 3));
    EXPECT(!sim_network_link_up(&net, 1, 4));
    craft_id order[5] = {1, 2, 3, 4, 5};
    sim_network_ring(&net, order);
    EXPECT(sim_network_link_up(&net, 5, 1) && !sim_network_link_up(&net, 1, 3));
    sim_network_leader_only(&net, 4, 2);
    EXPECT(sim_network_link_up(&net, 4, 2) && !sim_network_link_up(&net, 4, 1));
    EXPECT(sim_network_link_up(&net, 1, 3));
    EXPECT(net.stats.msgs[CRAFT_MSG_APPEND] == 2 && net.stats.dropped == 1);
}

static void test_sim_trace_hash_is_deterministic(void)
{
    struct sim_trace a;
    struct sim_trace b;
    sim_trace_init(&a, false, stdout);
    sim_trace_init(&b, false, stdout);
    for (int i = 0; i < 100; i++) {
        sim_trace_add(&a, (uint64_t)i, SIM_TR_TICK, 1, (uint64_t)i, 0, 0);
        sim_trace_add(&b, (uint64_t)i, SIM_TR_TICK, 1, (uint64_t)i, 0, 0);
    }
    EXPECT(a.hash == b.hash);
    sim_trace_add(&b, 100, SIM_TR_TICK, 2, 0, 0, 0);
    sim_trace_add(&a, 100, SIM_TR_TICK, 1, 0, 0, 0);
    EXPECT(a.hash != b.hash);
}

int main(void)
{
    test_sim_heap_orders_by_time_then_sequence();
    test_sim_map_puts_and_gets();
    test_sim_disk_applies_in_fifo_order_and_copies();
    test_sim_disk_counts_payloads_changed_while_queued();
    test_sim_disk_crash_keeps_completed_and_at_most_written();
    test_sim_network_copies_routes_and_partitions();
    test_sim_trace_hash_is_deterministic();
    printf("craft-sim-selftest: %s (%d failures)\n", failures == 0 ? "PASS" : "FAIL", failures);
    return failures == 0 ? 0 : 1;
}
