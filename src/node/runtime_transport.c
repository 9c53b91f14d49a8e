/* The node's side of its transport (craft/plug.h): the plugged ops or the default TCP ones
 * (runtime_net.c) behind one table, and the inbox through which a plugged transport delivers
 * from any thread: each delivery is copied, queued under inbox_mu, and handed to the node by the
 * loop in delivery order, one wake-up per batch. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

enum rt_in_kind {
    RT_IN_MSG = 1,
    RT_IN_CHUNK = 2,
    RT_IN_ACK = 3,
};

/* One delivery, in one allocation: the item, then (a message) its entries and their bytes, or
 * (a chunk) its bytes. */
struct rt_in_item {
    struct rt_in_item *next;
    uint32_t kind; /* enum rt_in_kind */
    craft_id from; /* chunks and answers */
    uint64_t bytes;
    union {
        struct craft_msg msg;
        struct craft_snap_chunk chunk;
        struct craft_snap_ack ack;
    };
};

static int deliver_msgs(void *node, const struct craft_msg *msgs, size_t k);
static int deliver_chunk(void *node, craft_id from, const struct craft_snap_chunk *c);
static int deliver_ack(void *node, craft_id from, const struct craft_snap_ack *a);

/* ---- outgoing ---- */

int rt_transport_start(struct craft_node *n, char *errmsg, size_t errmsg_len)
{
    struct craft_transport_start s = {
        .cluster = n->cfg.cluster,
        .node = n->cfg.id,
        .listen = n->cfg.listen,
        .deliver = {.node = n, .msgs = deliver_msgs, .chunk = deliver_chunk, .ack = deliver_ack},
    };
    io_mutex_lock(&n->inbox_mu);
    n->inbox_open = true;
    io_mutex_unlock(&n->inbox_mu);
    int rv = n->transport_ops.start(n->transport_ctx, &s, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    n->transport_started = true; /* from now on stop is due, even if what follows fails */
    for (unsigned i = 0; i < n->n_peers; i++) {
        const struct rt_peer *p = &n->peers[i];
        rv = n->transport_ops.add_peer(n->transport_ctx, p->id, p->address);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "peer %llu at %s: %s", (unsigned long long)p->id,
                     p->address, craft_strerror(rv));
            return rv;
        }
    }
    RT_LOG(n, CRAFT_LOG_INFO, "transport%s started, %u peers",
           n->transport_plugged ? " (plugged)" : "", n->n_peers);
    return 0;
}

void rt_transport_send(void *ctx, const struct craft_msg *m)
{
    struct craft_node *n = ctx;
    if (!n->transport_started) {
        return;
    }
    int rv = n->transport_ops.send(n->transport_ctx, m);
    if (rv != 0) {
        /* Raft resends on its own schedule; a full queue or an unknown peer loses this one. */
        RT_LOG(n, CRAFT_LOG_DEBUG, "to %llu: %s dropped: %s", (unsigned long long)m->to,
               craft_msg_type_name(m->type), craft_strerror(rv));
    }
}

int rt_transport_send_chunk(void *ctx, craft_id to, const struct craft_snap_chunk *c)
{
    struct craft_node *n = ctx;
    if (!n->transport_started || n->transport_ops.send_chunk == NULL) {
        return CRAFT_ESHUTDOWN;
    }
    struct craft_snap_chunk pc = {
        .leader_term = c->leader_term,
        .index = c->index,
        .term = c->term,
        .size = c->size,
        .offset = c->offset,
        .data = c->data,
        .len = c->len,
    };
    return n->transport_ops.send_chunk(n->transport_ctx, to, &pc);
}

void rt_transport_send_ack(void *ctx, craft_id to, const struct craft_snap_ack *a)
{
    struct craft_node *n = ctx;
    if (!n->transport_started || n->transport_ops.send_ack == NULL) {
        return;
    }
    struct craft_snap_ack pa = {
        .leader_term = a->leader_term,
        .index = a->index,
        .term = a->term,
        .offset = a->offset,
        .done = a->done,
    };
    if (n->transport_ops.send_ack(n->transport_ctx, to, &pa) != 0) {
        RT_LOG(n, CRAFT_LOG_DEBUG, "snapshot answer to %llu dropped (queue full or no link)",
               (unsigned long long)to); /* the leader resends from what it last heard */
    }
}

void rt_transport_add_peer(struct craft_node *n, craft_id id)
{
    struct rt_peer p;
    if (!n->transport_started || !rt_peers_get(n, id, &p)) {
        return;
    }
    int rv = n->transport_ops.add_peer(n->transport_ctx, p.id, p.address);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "peer %llu at %s not added: %s", (unsigned long long)id,
               p.address, craft_strerror(rv));
        return;
    }
    RT_LOG(n, CRAFT_LOG_INFO, "peer %llu at %s added", (unsigned long long)id, p.address);
}

static void free_items(struct rt_in_item *it)
{
    while (it != NULL) {
        struct rt_in_item *next = it->next;
        craft_free(it);
        it = next;
    }
}

void rt_transport_stop(struct craft_node *n)
{
    if (n->transport_started) {
        n->transport_started = false;
        n->transport_ops.stop(n->transport_ctx); /* no delivery runs once it returns */
    }
    io_mutex_lock(&n->inbox_mu);
    n->inbox_open = false;
    struct rt_in_item *head = n->inbox_head;
    n->inbox_head = NULL;
    n->inbox_tail = NULL;
    n->inbox_bytes = 0;
    io_mutex_unlock(&n->inbox_mu);
    free_items(head); /* arrived, never to be handled: Raft takes them for lost */
}

/* ---- incoming, from any thread ---- */

/* Appends it to the inbox and wakes the loop if the inbox was empty (a wake-up is then pending
 * for everything queued after it). Takes it, or frees it on refusal. */
static int enqueue(struct craft_node *n, struct rt_in_item *it)
{
    bool wake = false;
    int rv = 0;
    it->next = NULL;
    io_mutex_lock(&n->inbox_mu);
    if (!n->inbox_open) {
        rv = CRAFT_ESHUTDOWN;
    } else if (n->inbox_bytes + it->bytes > RT_INBOX_BYTES_MAX) {
        rv = CRAFT_EBUSY;
    } else {
        wake = n->inbox_head == NULL;
        if (n->inbox_tail != NULL) {
            n->inbox_tail->next = it;
        } else {
            n->inbox_head = it;
        }
        n->inbox_tail = it;
        n->inbox_bytes += it->bytes;
    }
    io_mutex_unlock(&n->inbox_mu);
    if (rv != 0) {
        craft_free(it);
        return rv;
    }
    if (wake) {
        io_mutex_lock(&n->wake_mu);
        rt_wake_locked(n);
        io_mutex_unlock(&n->wake_mu);
    }
    return 0;
}

static int copy_msg(struct craft_node *n, const struct craft_msg *m)
{
    size_t k = 0;
    uint64_t bytes = sizeof(struct rt_in_item);
    if (m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0) {
        if (m->append.entries == NULL) {
            return CRAFT_EINVAL;
        }
        k = m->append.n_entries;
        bytes += k * sizeof(struct craft_entry);
        for (size_t i = 0; i < k; i++) {
            if (m->append.entries[i].data.len > 0 && m->append.entries[i].data.base == NULL) {
                return CRAFT_EINVAL;
            }
            bytes += m->append.entries[i].data.len;
        }
    }
    if (bytes > RT_INBOX_BYTES_MAX) {
        return CRAFT_ETOOBIG;
    }
    struct rt_in_item *it = craft_malloc((size_t)bytes);
    if (it == NULL) {
        return CRAFT_ENOMEM;
    }
    it->kind = RT_IN_MSG;
    it->from = m->from;
    it->bytes = bytes;
    it->msg = *m;
    if (m->type == CRAFT_MSG_APPEND) {
        struct craft_entry *entries = (struct craft_entry *)(it + 1);
        unsigned char *data = (unsigned char *)(entries + k);
        for (size_t i = 0; i < k; i++) {
            entries[i] = m->append.entries[i];
            if (entries[i].data.len > 0) {
                memcpy(data, m->append.entries[i].data.base, entries[i].data.len);
                entries[i].data.base = data;
                data += entries[i].data.len;
            } else {
                entries[i].data.base = NULL;
            }
        }
        it->msg.append.entries = k > 0 ? entries : NULL;
    }
    return enqueue(n, it);
}

static int deliver_msgs_copied(void *node, const struct craft_msg *msgs, size_t k)
{
    struct craft_node *n = node;
    for (size_t i = 0; i < k; i++) {
        int rv = copy_msg(n, &msgs[i]);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int deliver_chunk_copied(void *node, craft_id from, const struct craft_snap_chunk *c)
{
    struct craft_node *n = node;
    if (c->len > 0 && c->data == NULL) {
        return CRAFT_EINVAL;
    }
    uint64_t bytes = sizeof(struct rt_in_item) + (uint64_t)c->len;
    struct rt_in_item *it = craft_malloc((size_t)bytes);
    if (it == NULL) {
        return CRAFT_ENOMEM;
    }
    it->kind = RT_IN_CHUNK;
    it->from = from;
    it->bytes = bytes;
    it->chunk = (struct craft_snap_chunk){
        .leader_term = c->leader_term,
        .index = c->index,
        .term = c->term,
        .size = c->size,
        .offset = c->offset,
        .data = it + 1,
        .len = c->len,
    };
    if (c->len > 0) {
        memcpy(it + 1, c->data, c->len);
    }
    return enqueue(n, it);
}

static int deliver_ack_copied(void *node, craft_id from, const struct craft_snap_ack *a)
{
    struct craft_node *n = node;
    struct rt_in_item *it = craft_malloc(sizeof *it);
    if (it == NULL) {
        return CRAFT_ENOMEM;
    }
    it->kind = RT_IN_ACK;
    it->from = from;
    it->bytes = sizeof *it;
    it->ack = (struct craft_snap_ack){
        .leader_term = a->leader_term,
        .index = a->index,
        .term = a->term,
        .offset = a->offset,
        .done = a->done,
    };
    return enqueue(n, it);
}

/* ---- to the node, on the loop ---- */

void rt_transport_drain(struct craft_node *n)
{
    io_mutex_lock(&n->inbox_mu);
    struct rt_in_item *head = n->inbox_head;
    n->inbox_head = NULL;
    n->inbox_tail = NULL;
    n->inbox_bytes = 0;
    io_mutex_unlock(&n->inbox_mu);

    /* Runs of messages go to the node in batches of msgs_in (their entries live in the items,
     * freed after the batch); chunks and answers one at a time, in order. */
    struct rt_in_item *batch = head;
    for (struct rt_in_item *it = head; it != NULL; it = it->next) {
        if (n->node_dead) {
            break;
        }
        if (it->kind == RT_IN_MSG) {
            if (n->n_msgs_in == RT_MSGS_BATCH_MAX) {
                rt_net_flush(n);
            }
            n->msgs_in[n->n_msgs_in++] = it->msg;
            continue;
        }
        rt_net_flush(n);
        if (n->node_dead) {
            break;
        }
        if (it->kind == RT_IN_CHUNK) {
            node_on_snapshot_chunk(n->node, it->from, &it->chunk);
        } else {
            CRAFT_ASSERT(it->kind == RT_IN_ACK);
            node_on_snapshot_ack(n->node, it->from, &it->ack);
        }
    }
    rt_net_flush(n);
    n->n_msgs_in = 0;
    free_items(batch);
}

/* The deliveries run on the transport's threads: what they copy comes from the node's
 * allocator, as everything the loop later frees. */
static int deliver_msgs(void *node, const struct craft_msg *msgs, size_t k)
{
    const struct craft_allocator *prev = alloc_use(((struct craft_node *)node)->cfg.allocator);
    int rv = deliver_msgs_copied(node, msgs, k);
    (void)alloc_use(prev);
    return rv;
}

static int deliver_chunk(void *node, craft_id from, const struct craft_snap_chunk *c)
{
    const struct craft_allocator *prev = alloc_use(((struct craft_node *)node)->cfg.allocator);
    int rv = deliver_chunk_copied(node, from, c);
    (void)alloc_use(prev);
    return rv;
}

static int deliver_ack(void *node, craft_id from, const struct craft_snap_ack *a)
{
    const struct craft_allocator *prev = alloc_use(((struct craft_node *)node)->cfg.allocator);
    int rv = deliver_ack_copied(node, from, a);
    (void)alloc_use(prev);
    return rv;
}
