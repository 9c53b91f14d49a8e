/* Peer addresses through the log: the node directory of kv (raft.advertise entries) holds each
 * node's client address under its id, and here its peer address under PEER_DIR_BASE + id, so a
 * node added with RAFT.ADDNODE (or any leader) can be reached by every member, not only by the
 * leader that added it. Each node tells its own node about members whose address it learns. */
#include <stdio.h>
#include <string.h>

#include "server/server.h"
#include "util/log.h"

/* The directory keys of peer addresses start past the node ids (kv takes positive int64). */
#define PEER_DIR_BASE (SERVER_NODE_ID_MAX + 1)
/* How often (in ticks) members without a known address are looked up. */
#define PEER_DIR_EVERY_TICKS 20

/* Node thread: nothing waits for the outcome; the reply is dropped. */
static void on_published(void *arg, const struct craft_result *r)
{
    (void)arg;
    if (r->value != NULL) {
        kv_result_free(r->value);
    }
}

void peer_dir_publish(struct server *s, craft_id id, const char *address)
{
    if (id >= PEER_DIR_BASE || address[0] == '\0') {
        return;
    }
    if (advertise_propose(s, PEER_DIR_BASE + id, address, on_published, NULL) != 0) {
        craft_log(CRAFT_LOG_WARN, s->cfg.id, 0, "could not publish node %llu's address",
                  (unsigned long long)id);
    }
}

static bool known(const struct server *s, craft_id id)
{
    for (unsigned i = 0; i < s->cfg.n_peers; i++) {
        if (s->cfg.peers[i].id == id) {
            return true;
        }
    }
    for (unsigned i = 0; i < s->n_dir_peers; i++) {
        if (s->dir_peers[i] == id) {
            return true;
        }
    }
    return false;
}

static void learn(struct server *s, craft_id id)
{
    if (id == s->cfg.id || id >= PEER_DIR_BASE || known(s, id) ||
        s->n_dir_peers == SERVER_PEERS_MAX) {
        return;
    }
    struct craft_peer peer = {.id = id};
    if (kv_store_node_address(s->store, PEER_DIR_BASE + id, peer.address,
                              sizeof peer.address) != 0) {
        return;
    }
    if (craft_node_add_peer(s->node, &peer) == 0) {
        s->dir_peers[s->n_dir_peers++] = id;
        craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "node %llu is at %s (from the log)",
                  (unsigned long long)id, peer.address);
    }
}

void peer_dir_tick(struct server *s)
{
    if (++s->dir_ticks < PEER_DIR_EVERY_TICKS) {
        return;
    }
    s->dir_ticks = 0;
    struct craft_node_status st;
    server_status(s, &st);
    const struct craft_membership *m = &st.membership;
    for (unsigned i = 0; i < m->n_voters; i++) {
        learn(s, m->voters[i]);
    }
    for (unsigned i = 0; i < m->n_voters_old; i++) {
        learn(s, m->voters_old[i]);
    }
    for (unsigned i = 0; i < m->n_learners; i++) {
        learn(s, m->learners[i]);
    }
}

/* This node's peer address as the others should dial it: its --peers entry, else bind:port. */
void peer_dir_own_address(const struct server *s, char *buf, size_t len)
{
    for (unsigned i = 0; i < s->cfg.n_peers; i++) {
        if (s->cfg.peers[i].id == s->cfg.id) {
            snprintf(buf, len, "%s", s->cfg.peers[i].address);
            return;
        }
    }
    int n = snprintf(buf, len, "%s:%u", s->cfg.bind, (unsigned)s->cfg.peer_port);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
    }
}
