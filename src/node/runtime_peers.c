/* The peer table: node id -> address, from the config and craft_node_add_peer; read for the
 * leader's address of a CRAFT_ENOTLEADER outcome. Any thread, under peers_mu. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

int rt_peers_add(struct craft_node *n, const struct craft_peer *p, char *errmsg, size_t errmsg_len)
{
    struct rt_peer entry;
    int rv;

    memset(&entry, 0, sizeof entry);
    if (p->id == CRAFT_ID_NONE || p->id == n->cfg.id) {
        snprintf(errmsg, errmsg_len, "peer id %llu: not 0 and not this node's own",
                 (unsigned long long)p->id);
        return CRAFT_EINVAL;
    }
    if (memchr(p->address, '\0', sizeof p->address) == NULL) {
        snprintf(errmsg, errmsg_len, "peer %llu: address not terminated",
                 (unsigned long long)p->id);
        return CRAFT_EINVAL;
    }
    rv = rt_addr_parse(p->address, false, entry.host, &entry.port, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    entry.id = p->id;
    memcpy(entry.address, p->address, sizeof entry.address);

    io_mutex_lock(&n->peers_mu);
    for (unsigned i = 0; i < n->n_peers; i++) {
        if (n->peers[i].id == p->id) {
            snprintf(errmsg, errmsg_len, "peer %llu: listed twice", (unsigned long long)p->id);
            rv = CRAFT_EEXIST;
            goto out;
        }
    }
    if (n->n_peers == RT_PEERS_MAX) {
        snprintf(errmsg, errmsg_len, "more than %u peers", (unsigned)RT_PEERS_MAX);
        rv = CRAFT_EBUSY;
        goto out;
    }
    n->peers[n->n_peers++] = entry;
out:
    io_mutex_unlock(&n->peers_mu);
    return rv;
}

bool rt_peers_get(struct craft_node *n, craft_id id, struct rt_peer *out)
{
    bool found = false;
    io_mutex_lock(&n->peers_mu);
    for (unsigned i = 0; i < n->n_peers; i++) {
        if (n->peers[i].id == id) {
            *out = n->peers[i];
            found = true;
            break;
        }
    }
    io_mutex_unlock(&n->peers_mu);
    return found;
}

void rt_peers_address(struct craft_node *n, craft_id id, char out[CRAFT_ADDRESS_MAX])
{
    struct rt_peer p;
    if (rt_peers_get(n, id, &p)) {
        memcpy(out, p.address, CRAFT_ADDRESS_MAX);
    } else {
        out[0] = '\0';
    }
}

void rt_peers_remove(struct craft_node *n, craft_id id)
{
    io_mutex_lock(&n->peers_mu);
    for (unsigned i = 0; i < n->n_peers; i++) {
        if (n->peers[i].id == id) {
            n->peers[i] = n->peers[--n->n_peers];
            break;
        }
    }
    io_mutex_unlock(&n->peers_mu);
}
