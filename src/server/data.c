/* Data commands through the node: a write becomes a kv entry proposed on the leader (or is
 * forwarded to it, or answered with -MOVED, or waits for a leader to be known); a read runs
 * kv_read on the apply side after a linearizable (or, after READONLY, stale) read barrier. The
 * node's outcomes come back through the completion queue. On the leader, the plain writes one
 * parse pass of a connection yields go into one entry together (a batch), whose reply is split
 * back per request. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "server/metrics.h"
#include "server/resp_scan.h"
#include "server/server.h"
#include "util/alloc.h"
#include "util/assert.h"

#define REQUEST_OF(e) ((struct request *)(void *)((char *)(e)-offsetof(struct request, ev)))

/* Node thread: hands the outcome to the loop. */
static void on_node_result(void *arg, const struct craft_result *res)
{
    struct request *r = arg;
    completion_push(&r->srv->cq, &r->ev, res);
}

/* Apply side: the state machine is at or past the read index, and nothing applies meanwhile. */
static void read_fn(void *arg, void *fsm_ctx)
{
    struct request *r = arg;
    const struct kv_store *store = fsm_ctx;
    uint64_t now = server_wall_ms();
    if (r->kind == REQ_INFO) {
        info_count_keys(r, store, now);
        return;
    }
    if (r->multi) {
        resp_reply_array(&r->result, (int64_t)r->n_cmds);
    }
    for (size_t i = 0; i < r->n_cmds; i++) {
        const struct cmd_args *a = &r->cmds[i];
        kv_read(store, a->argc, a->argv, a->lens, now, &r->result);
    }
}

void data_wait(struct server *s, struct request *r)
{
    CRAFT_ASSERT(!r->in_flight);
    r->in_flight = true;
    r->waiting = true;
    r->wait_next = NULL;
    if (s->waiting_tail != NULL) {
        s->waiting_tail->wait_next = r;
    } else {
        s->waiting = r;
    }
    s->waiting_tail = r;
}

/* Whether a refusal is worth a retry until the request's deadline rather than an error now:
 * no leader here, or a leader busy for a moment (a single voter whose term is not yet durable,
 * a transfer under way, the uncommitted-bytes bound reached). The command did not run. */
static bool retried(int status)
{
    return status == CRAFT_ENOTLEADER || status == CRAFT_EBUSY;
}

/* The error text for a node outcome other than 0 (and other than a retried one). */
static void reply_node_error(struct resp_reply *out, int status, bool write)
{
    switch (status) {
    case CRAFT_ENOTLEADER:
        resp_reply_error(out, "TRYAGAIN no leader");
        break;
    case CRAFT_EUNKNOWN:
        resp_reply_error(out, "TRYAGAIN leadership was lost before the write committed: its "
                              "outcome is unknown");
        break;
    case CRAFT_EBUSY:
        resp_reply_error(out, "TRYAGAIN the node is busy (a bounded queue is full): retry later");
        break;
    case CRAFT_ETOOBIG:
        resp_reply_error(out, "ERR the command is larger than a log entry may be");
        break;
    case CRAFT_ESHUTDOWN:
        resp_reply_error(out, "ERR the server is shutting down");
        break;
    case CRAFT_ENOMEM:
        resp_reply_error(out, "ERR out of memory");
        break;
    default:
        resp_reply_errorf(out, "ERR %s %s", write ? "write failed:" : "read failed:",
                          craft_strerror(status));
        break;
    }
}

int data_propose_args(struct server *s, struct request *r)
{
    struct kv_entry *e = &s->entry;
    int rv = kv_entry_begin(e, server_wall_ms(), r->client, r->seq, r->multi);
    for (size_t i = 0; rv == 0 && i < r->n_cmds; i++) {
        const struct cmd_args *a = &r->cmds[i];
        int skip = r->session ? 3 : 0; /* RAFT.REQ <client> <seq> */
        rv = kv_entry_add(e, a->argc - skip, a->argv + skip, a->lens + skip);
    }
    if (rv != 0) {
        return rv;
    }
    r->ev.what = COMPLETION_DATA;
    r->started_us = metrics_now_us();
    rv = craft_node_propose(s->node, e->data, e->len, on_node_result, r);
    if (rv == 0) {
        r->in_flight = true;
    }
    return rv;
}

/* A write (or an admin command): here on the leader, else to the leader, else wait for one. */
static void route(struct server *s, struct request *r)
{
    struct craft_node_status st;
    server_status(s, &st);
    if (st.role == CRAFT_NODE_LEADER) {
        if (r->kind == REQ_ADMIN) {
            admin_start(s, r);
            return;
        }
        int rv = data_propose_args(s, r);
        if (retried(rv)) {
            data_wait(s, r);
        } else if (rv != 0) {
            reply_node_error(&r->reply, rv, true);
            request_complete(r);
        }
        return;
    }
    char addr[SERVER_ADDR_MAX];
    if (st.leader != CRAFT_ID_NONE && st.leader != s->cfg.id &&
        leader_client_address(s, st.leader, addr, sizeof addr)) {
        if (r->conn->redirect) {
            resp_reply_errorf(&r->reply, "MOVED 0 %s", addr);
            request_complete(r);
            return;
        }
        int rv = forward_request(&s->fwd, addr, r);
        if (rv == CRAFT_EIO) {
            data_wait(s, r); /* no connection to the leader yet: nothing was sent */
        } else if (rv != 0) {
            reply_node_error(&r->reply, rv, true);
            request_complete(r);
        }
        return;
    }
    data_wait(s, r);
}

static void start_read(struct server *s, struct request *r)
{
    int mode = r->stale ? CRAFT_NODE_READ_STALE : CRAFT_NODE_READ_LINEARIZABLE;
    r->ev.what = COMPLETION_DATA;
    resp_reply_clear(&r->result);
    r->started_us = metrics_now_us();
    int rv = craft_node_read(s->node, mode, read_fn, on_node_result, r);
    if (rv == 0) {
        r->in_flight = true;
    } else if (retried(rv)) {
        data_wait(s, r);
    } else {
        reply_node_error(&r->reply, rv, false);
        request_complete(r);
    }
}

/* --- batches: a connection's pipelined plain writes as one entry -------------------------- */

/* The bytes r's command takes in an entry (kv_entry_add's layout: argc, then each argument's
 * length and bytes). */
static size_t entry_bytes(const struct request *r)
{
    size_t n = 4;
    for (int i = 0; i < r->one.argc; i++) {
        n += 4 + r->one.lens[i];
    }
    return n;
}

/* Whether r waits in its connection's batch: a plain write (one command, no MULTI, no
 * session) that the connection's parse pass started, on the leader. Anything else (a write
 * released from behind a read, a retry, a follower's forwarding) goes on its own. */
static bool batchable(struct server *s, const struct request *r)
{
    const struct conn *c = r->conn;
    if (r->kind != REQ_WRITE || r->multi || r->session || r->cmds != &r->one || r->n_cmds != 1 ||
        c == NULL || !c->processing || c->releasing || c->closing) {
        return false;
    }
    struct craft_node_status st;
    server_status(s, &st);
    return st.role == CRAFT_NODE_LEADER;
}

/* Appends r to c's open batch, proposing the batch first when r would take it past a bound. */
static void batch_add(struct conn *c, struct request *r)
{
    size_t n = entry_bytes(r);
    if (c->batch_head != NULL &&
        (c->batch_n == SERVER_BATCH_MAX || n > SERVER_BATCH_BYTES_MAX - c->batch_bytes)) {
        data_batch_flush(c);
    }
    CRAFT_ASSERT(r->batch_next == NULL);
    if (c->batch_tail != NULL) {
        c->batch_tail->batch_next = r;
    } else {
        c->batch_head = r;
    }
    c->batch_tail = r;
    c->batch_n++;
    c->batch_bytes += n < SERVER_BATCH_BYTES_MAX ? n : SERVER_BATCH_BYTES_MAX;
    CRAFT_ASSERT(c->batch_n <= SERVER_BATCH_MAX);
}

static void start(struct server *s, struct request *r);

/* Gives each request of the batch from head (all in flight) its share of one outcome: with
 * status 0 its own reply, split from the entry's (one RESP value per command, in order: a
 * plain entry's reply, docs/KV_FORMAT.md); else what a write alone would get, a retry
 * included (each is routed again on its own, in order). Takes res. */
static void batch_finish(struct server *s, struct request *head, int status, craft_id leader,
                         struct kv_result *res, bool count)
{
    const char *p = res != NULL ? res->data : NULL;
    size_t left = res != NULL ? res->len : 0;
    bool split = res != NULL;
    struct request *r = head;
    while (r != NULL) {
        struct request *next = r->batch_next;
        r->batch_next = NULL;
        CRAFT_ASSERT(r->in_flight);
        size_t n = 0;
        if (status == 0 && split) {
            long long k = resp_scan(p, left);
            split = k > 0;
            n = split ? (size_t)k : 0;
        }
        if (count && !r->done) { /* a request past its deadline was counted then */
            metrics_request_done(s, r, status);
        }
        if (!r->queued || r->done) {
            request_release(r);
        } else if (status == 0) {
            if (split) {
                resp_reply_raw(&r->reply, p, n);
            } else {
                resp_reply_error(&r->reply, "ERR craftd: the entry's reply does not split into "
                                            "one reply per request");
            }
            request_complete(r);
        } else if (retried(status) && !s->stopping) {
            r->in_flight = false;
            if (status == CRAFT_ENOTLEADER && leader != CRAFT_ID_NONE && leader != s->cfg.id) {
                start(s, r);
            } else {
                data_wait(s, r);
            }
        } else {
            reply_node_error(&r->reply, status, true);
            request_complete(r);
        }
        if (n > 0) {
            p += n;
            left -= n;
        }
        r = next;
    }
    if (res != NULL) {
        kv_result_free(res);
    }
}

/* One entry of every command of the batch from head (two or more plain writes, no session):
 * its reply is theirs one after the other. */
static void batch_propose(struct server *s, struct request *head)
{
    struct kv_entry *e = &s->entry;
    int rv = kv_entry_begin(e, server_wall_ms(), 0, 0, false);
    for (const struct request *r = head; rv == 0 && r != NULL; r = r->batch_next) {
        rv = kv_entry_add(e, r->one.argc, r->one.argv, r->one.lens);
    }
    uint64_t now_us = metrics_now_us();
    for (struct request *r = head; r != NULL; r = r->batch_next) {
        CRAFT_ASSERT(!r->in_flight);
        r->in_flight = true;
        r->started_us = now_us;
    }
    if (rv == 0) {
        head->ev.what = COMPLETION_DATA;
        rv = craft_node_propose(s->node, e->data, e->len, on_node_result, head);
    }
    if (rv != 0) {
        /* No leader named: refused for want of leadership, each request waits for one rather
         * than starting now, inside a parse pass, where it could join a new batch behind the
         * request whose start flushed this one. */
        batch_finish(s, head, rv, CRAFT_ID_NONE, NULL, false);
    }
}

void data_batch_flush(struct conn *c)
{
    struct request *head = c->batch_head;
    c->batch_head = NULL;
    c->batch_tail = NULL;
    c->batch_n = 0;
    c->batch_bytes = 0;
    if (head == NULL) {
        return;
    }
    if (c->closing) {
        /* Never started: the connection's close frees them with the rest of its queue. */
        while (head != NULL) {
            struct request *next = head->batch_next;
            head->batch_next = NULL;
            head = next;
        }
        return;
    }
    if (head->batch_next == NULL) {
        route(c->srv, head); /* a batch of one is an ordinary write */
    } else {
        batch_propose(c->srv, head);
    }
}

static void start(struct server *s, struct request *r)
{
    if (batchable(s, r)) {
        batch_add(r->conn, r);
        return;
    }
    /* The batch holds earlier requests of r's connection: they go first. */
    if (r->conn != NULL && r->conn->batch_head != NULL) {
        data_batch_flush(r->conn);
    }
    if (r->kind == REQ_SNAPSHOT) {
        admin_snapshot_start(s, r);
    } else if (r->kind == REQ_READ || r->kind == REQ_INFO) {
        start_read(s, r);
    } else {
        route(s, r);
    }
}

static bool is_read(const struct request *r)
{
    return r->kind == REQ_READ || r->kind == REQ_INFO || r->kind == REQ_SNAPSHOT;
}

/* A connection's commands take effect in the order it sent them, as in Redis: a read waits
 * for the writes sent before it to be answered (so it sees them), a write for the reads sent
 * before it (so they do not see it), and anything waits behind a request that is itself held
 * back or waiting for a leader. Reads pipeline with reads, writes with writes (the leader, or
 * the one forwarding connection, keeps their order). */
static bool held_back(const struct conn *c, const struct request *r)
{
    for (const struct request *q = c->head; q != NULL && q != r; q = q->next) {
        if (q->done || q->kind == REQ_NONE) {
            continue;
        }
        if (q->deferred || q->waiting || is_read(q) != is_read(r)) {
            return true;
        }
    }
    return false;
}

void data_start(struct server *s, struct request *r)
{
    CRAFT_ASSERT(!r->in_flight);
    CRAFT_ASSERT(r->conn != NULL);
    if (r->conn->head != r && held_back(r->conn, r)) {
        r->deferred = true;
        r->conn->n_deferred++;
        return;
    }
    start(s, r);
}

/* Starts the held-back requests whose turn came. Requests answered meanwhile stay in the queue
 * (conn_flush does nothing while c->releasing), so the walk never meets freed memory. */
void data_release_deferred(struct conn *c)
{
    if (c->releasing || c->closing) {
        return;
    }
    c->releasing = true;
    for (struct request *r = c->head; r != NULL && c->n_deferred > 0; r = r->next) {
        if (!r->deferred) {
            continue;
        }
        if (!r->done && held_back(c, r)) {
            break; /* and so is every later one */
        }
        r->deferred = false;
        c->n_deferred--;
        if (!r->done) {
            start(c->srv, r);
        }
    }
    c->releasing = false;
}

void data_command(struct conn *c, struct request *r, int kind, int argc,
                  const char *const *argv, const size_t *lens)
{
    if (!request_take_args(r, argc, argv, lens)) {
        return;
    }
    r->kind = kind;
    r->stale = c->readonly || kind == REQ_INFO; /* INFO's key count needs no barrier */
    data_start(c->srv, r);
}

void data_retry_waiting(struct server *s)
{
    struct request *list = s->waiting;
    s->waiting = NULL;
    s->waiting_tail = NULL;
    while (list != NULL) {
        struct request *r = list;
        list = r->wait_next;
        r->wait_next = NULL;
        r->waiting = false;
        if (!r->queued || r->done || s->stopping) {
            request_release(r);
            continue;
        }
        r->in_flight = false;
        struct conn *c = r->conn;
        start(s, r);
        conn_flush(c); /* r may be answered, and what it held back may go */
    }
}

void data_on_completion(struct server *s, struct completion *e)
{
    struct request *r = REQUEST_OF(e);
    if (r->batch_next != NULL) {
        /* The first of a batch carries its outcome; e lives in it, and it may be freed. */
        int status = e->status;
        struct kv_result *res = e->value;
        if (status != 0 && res != NULL) {
            kv_result_free(res);
            res = NULL;
        }
        batch_finish(s, r, status, e->leader, res, true);
        return;
    }
    if (!r->done) { /* a request past its deadline was counted then */
        metrics_request_done(s, r, e->status);
    }
    if (!r->queued || r->done) {
        if (e->value != NULL) {
            kv_result_free(e->value);
        }
        request_release(r);
        return;
    }
    r->in_flight = false;
    if (e->status == 0) {
        if (r->kind == REQ_WRITE) {
            struct kv_result *res = e->value;
            if (res != NULL) {
                resp_reply_raw(&r->reply, res->data, res->len);
                kv_result_free(res);
            } else {
                resp_reply_error(&r->reply, "ERR craftd: the state machine gave no reply");
            }
        } else if (r->kind == REQ_INFO) {
            cmd_info_finish(s, r);
        } else {
            struct resp_reply tmp = r->reply;
            r->reply = r->result;
            r->result = tmp;
        }
        request_complete(r);
        return;
    }
    if (e->value != NULL) {
        kv_result_free(e->value);
    }
    /* Not the leader (any more), or busy for a moment: a write was not appended, a read not
     * started; try again through the leader the node names, or at the next tick. */
    if (retried(e->status) && !s->stopping) {
        if (e->status == CRAFT_ENOTLEADER && r->kind == REQ_WRITE && e->leader != CRAFT_ID_NONE &&
            e->leader != s->cfg.id) {
            start(s, r);
        } else {
            data_wait(s, r);
        }
        return;
    }
    reply_node_error(&r->reply, e->status, r->kind == REQ_WRITE);
    request_complete(r);
}

void data_release_waiting(struct server *s)
{
    s->waiting_tail = NULL;
    while (s->waiting != NULL) {
        struct request *r = s->waiting;
        s->waiting = r->wait_next;
        r->waiting = false;
        if (r->queued && !r->done) {
            reply_node_error(&r->reply, CRAFT_ESHUTDOWN, false);
            r->done = true;
        }
        request_release(r);
    }
}
