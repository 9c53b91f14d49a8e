/* The node directory: node id -> the client address it advertised (raft.advertise), so a
 * follower can point clients at the leader. Small, and read from the server's threads while
 * apply writes it, hence the mutex. */
#include <string.h>

#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

int kv_nodes_init(struct kv_nodes *d)
{
    d->v = NULL;
    d->n = 0;
    d->cap = 0;
    return pthread_mutex_init(&d->lock, NULL) == 0 ? 0 : CRAFT_ENOMEM;
}

void kv_nodes_close(struct kv_nodes *d)
{
    for (size_t i = 0; i < d->n; i++) {
        craft_free(d->v[i].addr);
    }
    craft_free(d->v);
    d->v = NULL;
    d->n = 0;
    d->cap = 0;
    pthread_mutex_destroy(&d->lock);
}

/* The index of id, or d->n. Called with the lock held (or from the apply thread, the only
 * writer). */
static size_t find(const struct kv_nodes *d, uint64_t id)
{
    size_t i = 0;
    while (i < d->n && d->v[i].id != id) {
        i++;
    }
    return i;
}

/* Sets id's address to addr (owned by the directory from now on) and returns the one it
 * replaces (NULL if none); room for a new entry must be there already. */
static char *swap_addr(struct kv_nodes *d, uint64_t id, char *addr)
{
    char *old = NULL;
    pthread_mutex_lock(&d->lock);
    size_t i = find(d, id);
    if (i == d->n) {
        CRAFT_ASSERT(d->n < d->cap);
        d->v[d->n].id = id;
        d->v[d->n].addr = addr;
        d->n++;
    } else if (addr == NULL) {
        old = d->v[i].addr;
        d->v[i] = d->v[d->n - 1];
        d->n--;
    } else {
        old = d->v[i].addr;
        d->v[i].addr = addr;
    }
    pthread_mutex_unlock(&d->lock);
    return old;
}

/* Room for one more entry (the array only grows on the apply thread; readers take the lock). */
static int reserve(struct kv_nodes *d)
{
    if (d->n < d->cap) {
        return 0;
    }
    struct kv_node_addr *v = craft_malloc((d->cap == 0 ? 4 : d->cap * 2) * sizeof *v);
    if (v == NULL) {
        return CRAFT_ENOMEM;
    }
    pthread_mutex_lock(&d->lock);
    if (d->n > 0) {
        memcpy(v, d->v, d->n * sizeof *v);
    }
    craft_free(d->v);
    d->v = v;
    d->cap = d->cap == 0 ? 4 : d->cap * 2;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

int kv_nodes_set(struct kv_nodes *d, uint64_t id, char *addr)
{
    if (reserve(d) != 0) {
        return CRAFT_ENOMEM;
    }
    craft_free(swap_addr(d, id, addr));
    return 0;
}

int kv_txn_advertise(struct kv_store *s, uint64_t id, const char *addr, size_t n)
{
    if (kv_txn_reserve(s) != 0 || reserve(&s->nodes) != 0) {
        return CRAFT_ENOMEM;
    }
    char *copy = craft_malloc(n + 1);
    if (copy == NULL) {
        return CRAFT_ENOMEM;
    }
    memcpy(copy, addr, n);
    copy[n] = '\0';
    struct kv_undo *u = kv_txn_push(s);
    u->kind = KV_UNDO_NODE;
    u->old_expire = id;
    u->old_addr = swap_addr(&s->nodes, id, copy);
    return 0;
}

void kv_nodes_rollback(struct kv_nodes *d, struct kv_undo *u)
{
    craft_free(swap_addr(d, u->old_expire, u->old_addr));
    u->old_addr = NULL;
}

int kv_store_node_address(const struct kv_store *s, uint64_t id, char *buf, size_t len)
{
    struct kv_nodes *d = (struct kv_nodes *)&s->nodes; /* the lock is not part of the state */
    int rv = CRAFT_ENOTFOUND;
    pthread_mutex_lock(&d->lock);
    size_t i = find(d, id);
    if (i < d->n) {
        size_t n = strlen(d->v[i].addr);
        if (n < len) {
            memcpy(buf, d->v[i].addr, n + 1);
            rv = 0;
        } else {
            rv = CRAFT_ETOOBIG;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rv;
}
