/* The KV workload's clients: operations over a few keys at the node each client believes leads
 * (GETs also at any node), leader hints, timeouts, every operation recorded with its simulated
 * invoke and return times; the final read of every key and the linearizability check
 * (sim_kv.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kv/kv.h"
#include "sim_cluster.h"
#include "sim_hash.h"
#include "sim_kv.h"
#include "sim_mem.h"
#include "sim_quiet.h"

static const char *const cmd_names[] = {NULL, "get", "set", "append", "incr", "del"};

static int key_name(unsigned key, char *buf)
{
    return snprintf(buf, 8, "k%u", key);
}

static void schedule(struct sim_cluster *c, unsigned i, uint64_t delay_us)
{
    if (i != SIM_KV_FINAL_CLIENT) {
        sim_cluster_schedule(c, delay_us, SIM_EV_KV, 0, i);
    }
}

static uint64_t think_us(struct sim_cluster *c)
{
    return prng_range(&c->kv.rng, c->p.kv_us_min, (uint64_t)c->p.kv_us_max + 1);
}

static craft_id random_node(struct sim_cluster *c)
{
    return 1 + prng_below(&c->kv.rng, c->p.n_nodes);
}

/* Adds client i's op to the history: answered at now with out (val, n), or unanswered. */
static void record(struct sim_cluster *c, unsigned i, bool answered, uint32_t out, const char *val,
                   size_t val_len, int64_t n)
{
    struct sim_kv_client *cl = &c->kv.cl[i];
    char key[8];
    int k = key_name(cl->key, key);
    struct lin_op op = {
        .client = i + 1,
        .invoke = cl->invoke_us,
        .ret = answered ? c->now_us : LIN_PENDING,
        .cmd = cl->cmd,
        .out = answered ? out : LIN_OUT_UNKNOWN,
        .key = key,
        .key_len = (size_t)k,
        .arg = cl->arg,
        .arg_len = cl->arg_len,
        .val = val,
        .val_len = val_len,
        .n = n,
    };
    size_t at = lin_history_add(&c->kv.hist, &op);
    void *arr = c->kv.hist_ids;
    sim_grow(&arr, &c->kv.cap_hist_ids, at + 1, sizeof *c->kv.hist_ids);
    c->kv.hist_ids = arr;
    c->kv.hist_ids[at] = cl->cmd == LIN_GET ? 0 : cl->write_id;
}

/* The op of client i ends without an answer: a write may have happened (recorded unanswered;
 * sim_kv_final resolves it by the committed history, sim_kv.h), a read tells nothing. */
static void end_unanswered(struct sim_cluster *c, unsigned i)
{
    struct sim_kv_client *cl = &c->kv.cl[i];
    CRAFT_ASSERT(cl->busy);
    cl->busy = false;
    if (cl->cmd == LIN_GET) {
        c->kv.fig.refused++;
    } else {
        c->kv.fig.unanswered++;
        record(c, i, false, LIN_OUT_UNKNOWN, NULL, 0, 0);
    }
    cl->target = random_node(c);
    cl->read_next = false;
    schedule(c, i, prng_range(&c->kv.rng, 1000, 20000));
}

static unsigned find(const struct sim_cluster *c, const struct sim_node *n, uint64_t cookie)
{
    for (unsigned i = 0; i <= SIM_KV_CLIENTS_MAX; i++) {
        const struct sim_kv_client *cl = &c->kv.cl[i];
        if (cl->busy && cl->cookie == cookie && cl->node == n->id && cl->epoch == n->epoch) {
            return i;
        }
    }
    return SIM_KV_CLIENTS_MAX + 1;
}

void sim_kv_on_complete(struct sim_cluster *c, struct sim_node *n, uint64_t cookie, int status)
{
    if (!c->p.kv || c->kv.closed || status == 0) {
        return; /* done: the answer comes from the state machine */
    }
    unsigned i = find(c, n, cookie);
    if (i > SIM_KV_CLIENTS_MAX) {
        return;
    }
    if (c->kv.cl[i].in_call) {
        c->kv.cl[i].call_status = status; /* the submitting call decides (submit) */
        return;
    }
    end_unanswered(c, i);
}

/* Parses one RESP2 reply: +OK, :n, -ERR..., $-1, $len\r\nbytes\r\n. */
static bool parse_reply(const char *p, size_t len, uint32_t *out, const char **val, size_t *val_len,
                        int64_t *n)
{
    if (len < 3 || p[len - 2] != '\r' || p[len - 1] != '\n') {
        return false;
    }
    switch (p[0]) {
    case '+':
        *out = LIN_OUT_OK;
        return true;
    case '-':
        *out = LIN_OUT_ERR;
        return true;
    case ':':
        *out = LIN_OUT_INT;
        *n = strtoll(p + 1, NULL, 10);
        return true;
    case '$': {
        char *end;
        long long k = strtoll(p + 1, &end, 10);
        if (k == -1) {
            *out = LIN_OUT_NIL;
            return true;
        }
        size_t head = (size_t)(end - p) + 2;
        if (k < 0 || head + (size_t)k + 2 != len) {
            return false;
        }
        *out = LIN_OUT_VALUE;
        *val = p + head;
        *val_len = (size_t)k;
        return true;
    }
    default:
        return false;
    }
}

void sim_kv_answer(struct sim_cluster *c, struct sim_node *n, uint64_t cookie, const char *resp,
                   size_t len)
{
    unsigned i = find(c, n, cookie);
    if (i > SIM_KV_CLIENTS_MAX) {
        return; /* its client gave up on it (timed out) */
    }
    struct sim_kv_client *cl = &c->kv.cl[i];
    uint32_t out = 0;
    const char *val = NULL;
    size_t val_len = 0;
    int64_t num = 0;
    if (!parse_reply(resp, len, &out, &val, &val_len, &num)) {
        sim_checks_fail(&c->checks, n->id, "kv_reply_malformed",
                        "n%" PRIu64 " answers %s k%u with %zu bytes that are not one RESP2 reply",
                        n->id, cmd_names[cl->cmd], cl->key, len);
        return;
    }
    cl->busy = false;
    record(c, i, true, out, val, val_len, num);
    if (i == SIM_KV_FINAL_CLIENT) {
        c->kv.fig.final_reads++;
        return;
    }
    /* Reads right after writes: the write's effect must be visible at once, anywhere. */
    cl->read_next = cl->cmd != LIN_GET && prng_below(&c->kv.rng, 100) < c->p.kv_read_after_pct;
    schedule(c, i, cl->read_next ? prng_range(&c->kv.rng, 1, 500) : think_us(c));
}

/* Hands client i's op (filled in) to node at: a proposal or a read. Returns the node's answer
 * to the submission (0: accepted). */
static int submit(struct sim_cluster *c, unsigned i, craft_id at)
{
    struct sim_kv_client *cl = &c->kv.cl[i];
    struct sim_node *n = &c->nodes[at];
    if (!n->up) {
        return CRAFT_ENOTLEADER;
    }
    cl->busy = true;
    cl->in_call = true;
    cl->call_status = 0;
    cl->serial++;
    cl->invoke_us = c->now_us;
    cl->node = at;
    cl->epoch = n->epoch;
    uint64_t now_ms = sim_node_local_us(n, c->now_us) / 1000;
    int rv;
    if (cl->cmd == LIN_GET) {
        cl->cookie = SIM_COOKIE_KV_READ_BASE + ++c->kv.next_read;
        struct craft_input in = {.type = CRAFT_IN_READ};
        in.read.cookie = cl->cookie;
        in.read.mode = c->p.read_lease && prng_chance(&c->kv.rng, 500000) ? CRAFT_READ_LEASE
                                                                          : CRAFT_READ_INDEX;
        in.read.now_ms = now_ms;
        in.read.more = (cl->cookie & 1) == 0; /* as sim_reads.c: a batch's round comes later */
        rv = sim_cluster_feed(c, n, &in, NULL);
    } else {
        char key[8];
        int k = key_name(cl->key, key);
        const char *argv[3] = {cmd_names[cl->cmd], key, cl->arg};
        size_t lens[3] = {strlen(cmd_names[cl->cmd]), (size_t)k, cl->arg_len};
        int argc = cl->cmd == LIN_SET || cl->cmd == LIN_APPEND ? 3 : 2;
        struct kv_entry e;
        kv_entry_init(&e);
        rv = kv_entry_begin(&e, now_ms, 0, 0, false);
        rv = rv != 0 ? rv : kv_entry_add(&e, argc, argv, lens);
        CRAFT_ASSERT(rv == 0); /* out of memory in a test tool */
        char *data = sim_xmalloc(e.len + SIM_KV_HEAD);
        data[0] = SIM_KV_TAG;
        cl->write_id = ++c->kv.next_write_id;
        for (int b = 0; b < 8; b++) {
            data[1 + b] = (char)(cl->write_id >> (8 * b));
        }
        memcpy(data + SIM_KV_HEAD, e.data, e.len);
        /* The cookie sim_outcomes_propose gives it: an answer may come inside the call. */
        cl->cookie = c->next_cookie + 1;
        rv = sim_cluster_propose(c, at, data, e.len + SIM_KV_HEAD, NULL);
        CRAFT_ASSERT(c->next_cookie == cl->cookie);
        craft_free(data);
        kv_entry_close(&e);
    }
    cl->in_call = false;
    sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)at, SIM_NOTE_KV, cl->cookie,
                  (uint64_t)(int64_t)rv);
    return rv;
}

static void pick_op(struct sim_cluster *c, struct sim_kv_client *cl)
{
    struct prng *r = &c->kv.rng;
    if (cl->read_next) {
        cl->cmd = LIN_GET; /* the key just written */
        return;
    }
    cl->key = (unsigned)prng_below(r, c->p.kv_keys);
    uint64_t x = prng_below(r, 100);
    cl->cmd = x < 40   ? LIN_GET
              : x < 60 ? LIN_SET
              : x < 80 ? LIN_APPEND
              : x < 95 ? LIN_INCR
                       : LIN_DEL;
    cl->arg_len = 0;
    if (cl->cmd == LIN_SET && prng_chance(r, 500000)) {
        /* An integer, canonical (INCR takes it): -5..50. */
        cl->arg_len = (size_t)snprintf(cl->arg, sizeof cl->arg, "%d", (int)prng_below(r, 56) - 5);
    } else if (cl->cmd == LIN_SET || cl->cmd == LIN_APPEND) {
        /* Letters only: a value is an integer only as SET or INCR made it. */
        cl->arg_len = 1 + prng_below(r, 2);
        for (size_t k = 0; k < cl->arg_len; k++) {
            cl->arg[k] = (char)('a' + prng_below(r, 26));
        }
    }
}

void sim_kv_on_event(struct sim_cluster *c, const struct sim_event *ev)
{
    unsigned i = (unsigned)ev->arg;
    struct sim_kv_client *cl = &c->kv.cl[i];
    if (c->kv.stopped || !c->faults_on || cl->busy) {
        return; /* the fault phase is over: the final reads come later */
    }
    pick_op(c, cl);
    craft_id at = cl->target;
    /* Reads go anywhere now and then (a follower asks its leader for the read index), and
     * always right after a write. */
    if (cl->cmd == LIN_GET &&
        (cl->read_next || prng_below(&c->kv.rng, 100) < c->p.kv_follower_pct)) {
        craft_id any = random_node(c);
        if (!sim_pause_active(c, any)) {
            at = any;
        }
    }
    cl->read_next = false;
    int rv = submit(c, i, at);
    if (rv != 0) {
        /* Refused: it never happened (not in the history). */
        if (cl->busy) {
            cl->busy = false;
        }
        c->kv.fig.refused++;
        craft_id hint = CRAFT_ID_NONE;
        if (rv == CRAFT_ENOTLEADER && c->nodes[at].up) {
            hint = craft_core_leader(c->nodes[at].core);
        }
        if (rv == CRAFT_ENOTLEADER && hint != CRAFT_ID_NONE && hint != at) {
            cl->target = hint;
            schedule(c, i, 100);
        } else if (rv == CRAFT_ENOTLEADER) {
            cl->target = random_node(c);
            schedule(c, i, prng_range(&c->kv.rng, 1000, 20000));
        } else {
            schedule(c, i, think_us(c) + prng_range(&c->kv.rng, 10000, 50000));
        }
        return;
    }
    if (!cl->busy) {
        return; /* answered inside the call */
    }
    if (cl->call_status != 0) {
        end_unanswered(c, i);
        return;
    }
    sim_cluster_schedule(c, c->p.kv_timeout_us, SIM_EV_KV_TIMEOUT, 0, i | cl->serial << 8);
}

void sim_kv_on_timeout(struct sim_cluster *c, const struct sim_event *ev)
{
    unsigned i = (unsigned)(ev->arg & 0xff);
    struct sim_kv_client *cl = &c->kv.cl[i];
    if (cl->busy && cl->serial == ev->arg >> 8) {
        end_unanswered(c, i);
    }
}

craft_id sim_kv_client_target(const struct sim_cluster *c, uint64_t arg)
{
    return c->kv.cl[arg].target;
}

void sim_kv_start(struct sim_cluster *c)
{
    if (!c->p.kv) {
        return;
    }
    prng_seed(&c->kv.rng, sim_hash_combine(sim_mix64(c->p.seed), 13));
    for (unsigned i = 0; i < c->p.kv_clients; i++) {
        c->kv.cl[i].target = random_node(c);
        schedule(c, i, think_us(c));
    }
}

/* Steps until client i's op ended (i > SIM_KV_CLIENTS_MAX: never) or until_us. */
static void wait_for(struct sim_cluster *c, unsigned i, uint64_t until_us)
{
    while ((i > SIM_KV_CLIENTS_MAX || c->kv.cl[i].busy) && !sim_cluster_failed(c) &&
           c->heap.n > 0 && c->heap.ev[0].time_us <= until_us) {
        (void)sim_quiet_step(c);
    }
    if (i > SIM_KV_CLIENTS_MAX && c->now_us < until_us) {
        c->now_us = until_us;
    }
}

/* Reads key at the leader of the healed cluster until one read is answered or time is up. */
static void final_read(struct sim_cluster *c, unsigned key, uint64_t deadline_us)
{
    const unsigned i = SIM_KV_FINAL_CLIENT;
    struct sim_kv_client *cl = &c->kv.cl[i];
    uint64_t before = c->kv.fig.final_reads;
    while (c->kv.fig.final_reads == before && c->now_us < deadline_us && !sim_cluster_failed(c)) {
        craft_id leader = sim_cluster_leader(c);
        if (leader == CRAFT_ID_NONE || sim_pause_active(c, leader)) {
            wait_for(c, SIM_KV_CLIENTS_MAX + 1, c->now_us + 20000); /* runs 20 ms */
            continue;
        }
        cl->cmd = LIN_GET;
        cl->key = key;
        cl->arg_len = 0;
        int rv = submit(c, i, leader);
        if (rv != 0 || (cl->busy && cl->call_status != 0)) {
            cl->busy = false;
            wait_for(c, SIM_KV_CLIENTS_MAX + 1, c->now_us + 20000);
            continue;
        }
        wait_for(c, i, c->now_us + 1000000);
        if (cl->busy) {
            cl->busy = false; /* no answer within a second: ask again */
        }
    }
    if (c->kv.fig.final_reads == before) {
        c->kv.fig.final_missing++;
    }
}

/* --kv-history: the history as checked, in craft-lincheck's format. A failure is reported. */
static void write_history(const struct lin_history *h, const char *path, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "craft-sim: cannot write %s\n", path);
        return;
    }
    fprintf(f,
            "# craft-sim seed %" PRIu64 ": the KV history (CLIENT INVOKE RETURN KEY CMD [ARG] "
            "OUTPUT; times in ns of simulated time)\n",
            seed);
    for (size_t q = 0; q < h->n; q++) {
        char line[512];
        (void)lin_format_op(&h->ops[q], line, sizeof line);
        fprintf(f, "%s\n", line);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "craft-sim: cannot write %s\n", path);
        return;
    }
    fprintf(stderr, "craft-sim: the KV history of seed %" PRIu64 " written to %s\n", seed, path);
}

void sim_kv_final(struct sim_cluster *c)
{
    struct sim_kv *kv = &c->kv;
    if (!c->p.kv || sim_cluster_failed(c)) {
        return;
    }
    kv->stopped = true;
    uint64_t deadline = c->now_us + SIM_KV_FINAL_US;
    for (unsigned k = 0; k < c->p.kv_keys; k++) {
        final_read(c, k, deadline);
    }
    if (sim_cluster_failed(c)) {
        return;
    }
    for (unsigned i = 0; i < SIM_KV_CLIENTS_MAX; i++) {
        if (kv->cl[i].busy && kv->cl[i].cmd != LIN_GET) {
            kv->fig.unanswered++;
            record(c, i, false, LIN_OUT_UNKNOWN, NULL, 0, 0);
        }
        kv->cl[i].busy = false;
    }
    /* Unanswered writes: left out if no node applied them, else taking effect when one first
     * did (sim_kv.h). */
    struct lin_history h;
    lin_history_init(&h);
    for (size_t q = 0; q < kv->hist.n; q++) {
        struct lin_op op = kv->hist.ops[q];
        uint64_t id = kv->hist_ids[q];
        op.invoke *= 1000; /* in ns: the start of the invocation's us, the end of the answer's */
        op.ret = op.ret == LIN_PENDING ? LIN_PENDING : op.ret * 1000 + 999;
        if (op.ret == LIN_PENDING && id != 0) {
            uint64_t at = id < kv->n_write_point ? kv->write_point_ns[id] : UINT64_MAX;
            if (at == UINT64_MAX) {
                kv->fig.dropped++;
                continue;
            }
            CRAFT_ASSERT(at >= op.invoke);
            op.invoke = at; /* it took effect then (sim_kv.h) */
            op.ret = at;
            kv->fig.bounded++;
        }
        (void)lin_history_add(&h, &op);
    }
    if (kv->history_path != NULL) {
        write_history(&h, kv->history_path, c->p.seed);
    }
    struct lin_result res;
    int v = lin_check(&h, SIM_KV_MAX_STATES, &res);
    kv->fig.ops = res.n_ops;
    kv->fig.states = res.states;
    kv->fig.unknown = v == LIN_UNKNOWN;
    if (v == LIN_UNKNOWN) {
        /* Neither a pass nor a violation: named, so the seed can be looked at. */
        fprintf(stderr,
                "craft-sim: seed %" PRIu64 ": the KV history's check is unknown (%zu keys "
                "of %zu passed %d states)\n",
                c->p.seed, res.n_keys_unknown, res.n_keys, SIM_KV_MAX_STATES);
    }
    if (v != LIN_VIOLATION) {
        lin_history_close(&h);
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f != NULL) {
        lin_print_violation(&h, &res, f, "    ", 8, 40);
        fclose(f);
        kv->printout = sim_xmalloc(len + 1);
        memcpy(kv->printout, buf, len);
        kv->printout[len] = '\0';
        free(buf);
    }
    lin_history_close(&h);
    sim_checks_fail(&c->checks, 0, "kv_not_linearizable",
                    "key %s: no order of its operations explains what the KV clients saw "
                    "(%zu ops over %zu keys; the search placed at most %zu); times in ns, "
                    "the ops below (craft-lincheck's format)",
                    res.key, res.n_ops, res.n_keys, res.depth);
}

void sim_kv_print(const struct sim_cluster *c, FILE *f)
{
    if (c->kv.printout != NULL) {
        fputs(c->kv.printout, f);
    }
}
