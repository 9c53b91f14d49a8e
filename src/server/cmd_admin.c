/* Cluster administration: RAFT.ADDNODE <id> <peer-addr> (tells the node the address, adds it as
 * a learner, and promotes it to voter once it has caught up), RAFT.REMOVENODE <id>,
 * RAFT.TRANSFER [id], and RAFT.SNAPSHOT (a snapshot of this node, now: answers its index).
 * Leader-only commands sent to a follower are forwarded like writes; RAFT.SNAPSHOT is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/commands.h"
#include "server/server.h"
#include "util/log.h"

#define REQUEST_OF(e) ((struct request *)(void *)((char *)(e)-offsetof(struct request, ev)))

static void on_admin_result(void *arg, const struct craft_result *res)
{
    struct request *r = arg;
    completion_push(&r->srv->cq, &r->ev, res);
}

static void on_promoted(void *arg, const struct craft_result *res)
{
    struct server *s = arg;
    completion_push(&s->cq, &s->promote_ev, res);
}

static bool parse_id(const char *p, size_t n, craft_id *out)
{
    return arg_u64(p, n, out) && *out != CRAFT_ID_NONE && *out <= SERVER_NODE_ID_MAX;
}

static bool has(const craft_id *ids, unsigned n, craft_id id)
{
    for (unsigned i = 0; i < n; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

static void drop(craft_id *ids, unsigned *n, craft_id id)
{
    for (unsigned i = 0; i < *n; i++) {
        if (ids[i] == id) {
            ids[i] = ids[--*n];
            return;
        }
    }
}

/* RAFT.SNAPSHOT's answer: the snapshot's index, or why there is none. */
static void snapshot_reply(struct request *r, const struct completion *e)
{
    switch (e->status) {
    case 0:
        resp_reply_integer(&r->reply, (int64_t)e->index);
        break;
    case CRAFT_ENOTSUP:
        resp_reply_error(&r->reply, "ERR this node cannot take snapshots (its state machine "
                                    "does not save them)");
        break;
    case CRAFT_EBUSY:
        resp_reply_error(&r->reply, "TRYAGAIN the node cannot take a snapshot now (too many "
                                    "requests waiting, or it has not applied its own "
                                    "configuration yet): retry");
        break;
    case CRAFT_ESHUTDOWN:
        resp_reply_error(&r->reply, "ERR the server is shutting down");
        break;
    default:
        resp_reply_errorf(&r->reply, "ERR snapshot failed: %s", craft_strerror(e->status));
        break;
    }
}

void cmd_admin(struct conn *c, struct request *r, int argc, const char *const *argv,
               const size_t *lens)
{
    craft_id id;
    r->done = true;
    if (argc >= 2 && !parse_id(argv[1], lens[1], &id)) {
        resp_reply_error(&r->reply, "ERR node ids are integers from 1 to 2^62 - 1");
        return;
    }
    if (name_is(argv[0], lens[0], "raft.transfer") && argc > 2) {
        reply_arity(&r->reply, "raft.transfer");
        return;
    }
    if (name_is(argv[0], lens[0], "raft.addnode") &&
        (lens[2] == 0 || lens[2] >= CRAFT_ADDRESS_MAX || memchr(argv[2], ':', lens[2]) == NULL)) {
        resp_reply_error(&r->reply, "ERR the peer address is HOST:PORT");
        return;
    }
    r->done = false;
    data_command(c, r, REQ_ADMIN, argc, argv, lens);
}

/* On the leader: starts r's change or transfer; answers r at once when it cannot. */
void admin_start(struct server *s, struct request *r)
{
    const struct cmd_args *a = &r->one;
    struct craft_node_status st;
    craft_id id = CRAFT_ID_NONE;
    int rv;
    server_status(s, &st);
    if (a->argc >= 2) {
        (void)parse_id(a->argv[1], a->lens[1], &id);
    }
    r->ev.what = COMPLETION_ADMIN;
    if (name_is(a->argv[0], a->lens[0], "raft.transfer")) {
        rv = craft_node_transfer(s->node, id, on_admin_result, r);
    } else {
        struct craft_membership m = st.membership;
        if (m.n_voters_old > 0) {
            rv = CRAFT_EBUSY;
        } else if (name_is(a->argv[0], a->lens[0], "raft.addnode")) {
            if (has(m.voters, m.n_voters, id) || has(m.learners, m.n_learners, id)) {
                resp_reply_errorf(&r->reply, "ERR node %llu is already a member",
                                  (unsigned long long)id);
                request_complete(r);
                return;
            }
            struct craft_peer peer = {.id = id};
            memcpy(peer.address, a->argv[2], a->lens[2]);
            peer.address[a->lens[2]] = '\0';
            rv = craft_node_add_peer(s->node, &peer);
            if (rv == 0 && m.n_learners == CRAFT_LEARNERS_MAX) {
                rv = CRAFT_EBUSY;
            }
            if (rv == 0) {
                m.learners[m.n_learners++] = id;
                rv = craft_node_change(s->node, &m, on_admin_result, r);
            }
            if (rv == 0) {
                s->promoting = id;
                peer_dir_publish(s, id, peer.address); /* for the other members */
            }
        } else {
            if (!has(m.voters, m.n_voters, id) && !has(m.learners, m.n_learners, id)) {
                resp_reply_errorf(&r->reply, "ERR node %llu is not a member",
                                  (unsigned long long)id);
                request_complete(r);
                return;
            }
            drop(m.voters, &m.n_voters, id);
            drop(m.learners, &m.n_learners, id);
            rv = m.n_voters == 0 ? CRAFT_EINVAL : craft_node_change(s->node, &m, on_admin_result, r);
        }
    }
    if (rv == 0) {
        r->in_flight = true;
        return;
    }
    admin_reply_error(r, rv);
    request_complete(r);
}

void admin_reply_error(struct request *r, int rv)
{
    switch (rv) {
    case CRAFT_ENOTLEADER:
        resp_reply_error(&r->reply, "TRYAGAIN not the leader any more: retry");
        break;
    case CRAFT_EBUSY:
        resp_reply_error(&r->reply, "TRYAGAIN a membership change or transfer is under way "
                                    "(or the leader has not committed in its term yet): retry");
        break;
    case CRAFT_EINVAL:
        resp_reply_error(&r->reply, "ERR the node refused the change (unknown node, or no voter "
                                    "would be left)");
        break;
    default:
        resp_reply_errorf(&r->reply, "ERR %s", craft_strerror(rv));
        break;
    }
}

void admin_on_completion(struct server *s, struct completion *e)
{
    if (e->what == COMPLETION_PROMOTE) {
        s->promote_in_flight = false;
        if (e->status == 0) {
            craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "node %llu promoted to voter",
                      (unsigned long long)s->promoting);
            s->promoting = CRAFT_ID_NONE;
        }
        return;
    }
    struct request *r = REQUEST_OF(e);
    if (!r->queued || r->done) {
        request_release(r);
        return;
    }
    if (r->n_cmds == 1 && name_is(r->one.argv[0], r->one.lens[0], "raft.snapshot")) {
        snapshot_reply(r, e);
    } else if (e->status == 0) {
        resp_reply_simple(&r->reply, "OK");
    } else {
        admin_reply_error(r, e->status);
    }
    request_complete(r);
}

/* A learner RAFT.ADDNODE added becomes a voter once its log matches the leader's commit. */
void admin_tick(struct server *s)
{
    if (s->promoting == CRAFT_ID_NONE || s->promote_in_flight) {
        return;
    }
    struct craft_node_status st;
    server_status(s, &st);
    if (st.role != CRAFT_NODE_LEADER) {
        return;
    }
    struct craft_membership m = st.membership;
    if (!has(m.learners, m.n_learners, s->promoting)) {
        if (has(m.voters, m.n_voters, s->promoting)) {
            s->promoting = CRAFT_ID_NONE; /* promoted already */
        }
        return;
    }
    if (m.n_voters_old > 0 || m.n_voters == CRAFT_VOTERS_MAX) {
        return;
    }
    for (unsigned i = 0; i < st.n_followers; i++) {
        const struct craft_node_follower *f = &st.followers[i];
        if (f->id == s->promoting && f->match >= st.commit) {
            drop(m.learners, &m.n_learners, f->id);
            m.voters[m.n_voters++] = f->id;
            s->promote_ev.what = COMPLETION_PROMOTE;
            if (craft_node_change(s->node, &m, on_promoted, s) == 0) {
                s->promote_in_flight = true;
            }
            return;
        }
    }
}

/* RAFT.SNAPSHOT: this node's own snapshot (never forwarded: every node snapshots its own state
 * machine); the answer is the snapshot's log index once it is durable and the log behind it
 * compacted (Redis's SAVE answers once its file is written too; an integer tells the operator
 * how far it reaches). It is ordered as a read (data.c): it starts once the connection's
 * earlier writes are answered, so on the leader it holds them. */
void cmd_raft_snapshot(struct conn *c, struct request *r, int argc, const char *const *argv,
                       const size_t *lens)
{
    data_command(c, r, REQ_SNAPSHOT, argc, argv, lens);
}

/* It covers everything this node has applied by now. */
void admin_snapshot_start(struct server *s, struct request *r)
{
    r->ev.what = COMPLETION_ADMIN;
    int rv = craft_node_snapshot(s->node, on_admin_result, r);
    if (rv == 0) {
        r->in_flight = true;
        return;
    }
    struct completion e = {.status = rv};
    snapshot_reply(r, &e);
    request_complete(r);
}
