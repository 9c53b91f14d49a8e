/* INFO (sections server, clients, stats, raft, keyspace) and RAFT.INFO (the raft section). The
 * keyspace figures are read on the apply side (a stale read), the rest on the loop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "craft/core.h"
#include "server/commands.h"
#include "server/server.h"

static const char *role_name(const struct craft_node_status *st)
{
    switch (st->role) {
    case CRAFT_NODE_LEADER:
        return "leader";
    case CRAFT_NODE_CANDIDATE:
        return "candidate";
    case CRAFT_NODE_STOPPED:
        return "stopped";
    default:
        break;
    }
    for (unsigned i = 0; i < st->membership.n_learners; i++) {
        if (st->membership.learners[i] == st->id) {
            return "learner";
        }
    }
    return "follower";
}

static const char *progress_name(int state)
{
    switch (state) {
    case CRAFT_PROGRESS_PROBE:
        return "probe";
    case CRAFT_PROGRESS_REPLICATE:
        return "replicate";
    case CRAFT_PROGRESS_SNAPSHOT:
        return "snapshot";
    default:
        return "unknown";
    }
}

static void line(struct resp_reply *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct resp_reply *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    resp_reply_raw(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    resp_reply_raw(t, "\r\n", 2);
}

static void id_list(char *buf, size_t len, const craft_id *ids, unsigned n)
{
    size_t w = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < n && w < len; i++) {
        int k = snprintf(buf + w, len - w, "%s%llu", i > 0 ? "," : "", (unsigned long long)ids[i]);
        if (k < 0) {
            break;
        }
        w += (size_t)k;
    }
}

void info_raft(struct server *s, struct resp_reply *t)
{
    struct craft_node_status st;
    server_status(s, &st);
    char addr[SERVER_ADDR_MAX] = "";
    if (st.leader != CRAFT_ID_NONE) {
        (void)leader_client_address(s, st.leader, addr, sizeof addr);
    }
    char ids[CRAFT_VOTERS_MAX * 24];
    line(t, "# Raft");
    line(t, "node_id:%llu", (unsigned long long)s->cfg.id);
    line(t, "role:%s", role_name(&st));
    line(t, "term:%llu", (unsigned long long)st.term);
    line(t, "leader_id:%llu", (unsigned long long)st.leader);
    line(t, "leader_address:%s", addr);
    line(t, "commit_index:%llu", (unsigned long long)st.commit);
    line(t, "applied_index:%llu", (unsigned long long)st.applied);
    line(t, "last_index:%llu", (unsigned long long)st.last_index);
    line(t, "snapshot_index:%llu", (unsigned long long)st.snapshot_index);
    id_list(ids, sizeof ids, st.membership.voters, st.membership.n_voters);
    line(t, "voters:%s", ids);
    id_list(ids, sizeof ids, st.membership.learners, st.membership.n_learners);
    line(t, "learners:%s", ids);
    line(t, "peers:%u", st.n_followers);
    for (unsigned i = 0; i < st.n_followers; i++) {
        const struct craft_node_follower *f = &st.followers[i];
        line(t, "peer%llu:match=%llu,state=%s,voter=%d", (unsigned long long)f->id,
             (unsigned long long)f->match, progress_name(f->state), f->voter ? 1 : 0);
    }
}

static bool wants(const struct request *r, const char *section, bool in_default)
{
    const struct cmd_args *a = &r->one;
    if (a->argc <= 1) {
        return in_default;
    }
    for (int i = 1; i < a->argc; i++) {
        if (name_is(a->argv[i], a->lens[i], section) || name_is(a->argv[i], a->lens[i], "all") ||
            name_is(a->argv[i], a->lens[i], "everything") ||
            (in_default && name_is(a->argv[i], a->lens[i], "default"))) {
            return true;
        }
    }
    return false;
}

/* Apply side: the live keys (DBSIZE's count, which leaves out expired keys not yet removed),
 * those of them with an expiry, and the bytes held, into r. */
void info_count_keys(struct request *r, const struct kv_store *store, uint64_t now_ms)
{
    static const char *const argv[1] = {"dbsize"};
    static const size_t lens[1] = {6};
    struct resp_reply out;
    resp_reply_init(&out);
    kv_read(store, 1, argv, lens, now_ms, &out);
    r->keys = kv_store_size(store);
    if (!resp_reply_failed(&out) && out.len > 3 && out.data[0] == ':') {
        r->keys = strtoull(out.data + 1, NULL, 10);
    }
    resp_reply_close(&out);
    /* Every key held but no longer live has an expiry, so the live keys with one are kv's
     * exact count less those: no walk over the keys for it. */
    uint64_t held = kv_store_size(store);
    uint64_t gone = held > r->keys ? held - r->keys : 0;
    uint64_t expires = kv_store_expires(store);
    r->expires = expires > gone ? expires - gone : 0;
    r->bytes = kv_store_bytes(store);
}

void cmd_info_finish(struct server *s, struct request *r)
{
    struct resp_reply t;
    resp_reply_init(&t);
    uint64_t up = (server_now_ms(s) - s->started_ms) / 1000;
    if (wants(r, "server", true)) {
        line(&t, "# Server");
        line(&t, "redis_version:7.0.0");
        line(&t, "craftd_version:%s", CRAFTD_VERSION);
        line(&t, "redis_mode:standalone");
        line(&t, "process_id:%ld", (long)getpid());
        line(&t, "tcp_port:%u", (unsigned)s->cfg.port);
        line(&t, "uptime_in_seconds:%llu", (unsigned long long)up);
        resp_reply_raw(&t, "\r\n", 2);
    }
    if (wants(r, "clients", true)) {
        line(&t, "# Clients");
        line(&t, "connected_clients:%u", s->n_conns);
        resp_reply_raw(&t, "\r\n", 2);
    }
    if (wants(r, "memory", true)) {
        line(&t, "# Memory");
        line(&t, "used_memory_dataset:%llu", (unsigned long long)r->bytes);
        resp_reply_raw(&t, "\r\n", 2);
    }
    if (wants(r, "stats", true)) {
        line(&t, "# Stats");
        line(&t, "total_connections_received:%llu", (unsigned long long)s->n_connections);
        line(&t, "total_commands_processed:%llu", (unsigned long long)s->n_commands);
        resp_reply_raw(&t, "\r\n", 2);
    }
    if (wants(r, "raft", true)) {
        info_raft(s, &t);
        resp_reply_raw(&t, "\r\n", 2);
    }
    if (wants(r, "keyspace", true)) {
        line(&t, "# Keyspace");
        if (r->keys > 0) {
            line(&t, "db0:keys=%llu,expires=%llu,avg_ttl=0", (unsigned long long)r->keys,
                 (unsigned long long)r->expires);
        }
    }
    if (resp_reply_failed(&t)) {
        resp_reply_error(&r->reply, "ERR out of memory");
    } else {
        resp_reply_bulk(&r->reply, t.data, t.len);
    }
    resp_reply_close(&t);
}

void cmd_info(struct conn *c, struct request *r, int argc, const char *const *argv,
              const size_t *lens)
{
    /* A stale read (data_command): read_fn only counts keys; the sections are argv[1..]. */
    data_command(c, r, REQ_INFO, argc, argv, lens);
}

void cmd_raft_info(struct conn *c, struct request *r, int argc, const char *const *argv,
                   const size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    struct resp_reply t;
    resp_reply_init(&t);
    info_raft(c->srv, &t);
    resp_reply_bulk(&r->reply, t.data, t.len);
    resp_reply_close(&t);
    r->done = true;
}
