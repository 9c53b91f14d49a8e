/* The status copy: the loop refreshes it once per turn (and at shutdown) under a mutex, so any
 * thread reads a consistent view without touching the node. */
#include <string.h>

#include "runtime.h"

void rt_status_refresh(struct craft_node *n)
{
    struct craft_node_status st;
    struct net_transport_stats net;
    bool have_node = n->node != NULL;

    if (have_node) {
        node_status(n->node, &st);
    }
    if (n->transport != NULL) {
        net_transport_get_stats(n->transport, &net);
    }
    io_mutex_lock(&n->status_mu);
    if (have_node) {
        n->status = st;
    }
    if (n->node_dead) {
        n->status.role = CRAFT_NODE_STOPPED;
        n->status.n_followers = 0;
    }
    if (n->transport != NULL) {
        n->net_stats = net;
    }
    io_mutex_unlock(&n->status_mu);
}

void craft_node_status(struct craft_node *n, struct craft_node_status *st)
{
    io_mutex_lock(&n->status_mu);
    *st = n->status;
    io_mutex_unlock(&n->status_mu);
}

void craft_node_transport_stats(struct craft_node *n, struct net_transport_stats *out)
{
    io_mutex_lock(&n->status_mu);
    *out = n->net_stats;
    io_mutex_unlock(&n->status_mu);
}

uint16_t craft_node_listen_port(struct craft_node *n)
{
    return n->listen_port; /* set before the loop starts, never changed */
}
