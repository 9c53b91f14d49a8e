/* Leaders' client addresses: a node that becomes leader proposes `raft.advertise <id>
 * <host:port>` once per term, so every replica's store maps leader ids to the address clients
 * (and forwarding followers) should use; then its peer address (peer_dir.c). */
#include <stdio.h>
#include <string.h>

#include "server/server.h"
#include "util/log.h"

static void on_advertised(void *arg, const struct craft_result *res)
{
    struct server *s = arg;
    completion_push(&s->cq, &s->advertise_ev, res);
}

int advertise_propose(struct server *s, uint64_t key, const char *address, craft_result_fn cb,
                      void *arg)
{
    if (s->stopping) {
        return CRAFT_ESHUTDOWN; /* the node may be gone already (server_stop drains outcomes) */
    }
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)key);
    const char *argv[3] = {"raft.advertise", id, address};
    size_t lens[3] = {strlen(argv[0]), strlen(id), strlen(address)};
    struct kv_entry *e = &s->entry;
    int rv = kv_entry_begin(e, server_wall_ms(), 0, 0, false);
    if (rv == 0) {
        rv = kv_entry_add(e, 3, argv, lens);
    }
    return rv != 0 ? rv : craft_node_propose(s->node, e->data, e->len, cb, arg);
}

void leader_tick(struct server *s)
{
    struct craft_node_status st;
    server_status(s, &st);
    if (st.role != CRAFT_NODE_LEADER || st.term == s->advertised_term || s->advertising) {
        return;
    }
    s->advertise_ev.what = COMPLETION_ADVERTISE;
    s->advertise_term = st.term;
    if (advertise_propose(s, s->cfg.id, s->client_address, on_advertised, s) == 0) {
        s->advertising = true;
    }
}

void leader_on_advertised(struct server *s, struct completion *e)
{
    s->advertising = false;
    if (e->value != NULL) {
        kv_result_free(e->value);
    }
    if (e->status == 0) {
        s->advertised_term = s->advertise_term;
        char peer[CRAFT_ADDRESS_MAX];
        peer_dir_own_address(s, peer, sizeof peer);
        peer_dir_publish(s, s->cfg.id, peer);
        craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "leader for term %llu; clients: %s",
                  (unsigned long long)s->advertise_term, s->client_address);
    }
}

bool leader_client_address(struct server *s, craft_id leader, char *buf, size_t len)
{
    if (leader == s->cfg.id) {
        snprintf(buf, len, "%s", s->client_address);
        return true;
    }
    return kv_store_node_address(s->store, leader, buf, len) == 0;
}
