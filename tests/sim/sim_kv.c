/* The KV workload's state machine side: each node's struct kv_store, fed the committed KV
 * entries, rebuilt from the committed history where the node's state machine jumps (boot,
 * snapshot restore), and running the KV clients' GETs at their read points (sim_kv.h). */
#include "sim_kv.h"

#include <inttypes.h>
#include <string.h>

#include "kv/kv.h"
#include "sim_cluster.h"
#include "sim_mem.h"

void sim_kv_init(struct sim_cluster *c)
{
    struct sim_kv *kv = &c->kv;
    lin_history_init(&kv->hist);
    resp_reply_init(&kv->reply);
}

void sim_kv_close(struct sim_cluster *c)
{
    struct sim_kv *kv = &c->kv;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        if (c->nodes[i].kv != NULL) {
            kv_store_destroy(c->nodes[i].kv);
            c->nodes[i].kv = NULL;
        }
    }
    for (size_t i = 0; i < kv->n_log; i++) {
        craft_free(kv->log[i].data);
    }
    craft_free(kv->log);
    craft_free(kv->hist_ids);
    craft_free(kv->write_point_ns);
    lin_history_close(&kv->hist);
    resp_reply_close(&kv->reply);
    craft_free(kv->printout);
    memset(kv, 0, sizeof *kv);
    kv->closed = true;
}

static bool is_kv_entry(const struct craft_entry *e)
{
    return e->type == CRAFT_ENTRY_NORMAL && e->data.len > SIM_KV_HEAD &&
           ((const char *)e->data.base)[0] == SIM_KV_TAG;
}

/* Keeps e in the committed KV log (the first node to apply an index records it; the safety
 * checks hold every other node to the same entry). */
static void record(struct sim_kv *kv, const struct craft_entry *e, uint64_t now_us)
{
    if (e->index > kv->n_log) {
        void *arr = kv->log;
        sim_grow(&arr, &kv->cap_log, (size_t)e->index, sizeof *kv->log);
        kv->log = arr;
        memset(kv->log + kv->n_log, 0, ((size_t)e->index - kv->n_log) * sizeof *kv->log);
        kv->n_log = (size_t)e->index;
    }
    struct sim_kv_slot *s = &kv->log[e->index - 1];
    if (s->seen) {
        return;
    }
    s->seen = true;
    if (!is_kv_entry(e)) {
        return;
    }
    s->len = e->data.len;
    s->data = sim_xmalloc(s->len);
    memcpy(s->data, e->data.base, s->len);
    uint64_t id = 0;
    for (int b = 0; b < 8; b++) {
        id |= (uint64_t)(unsigned char)s->data[1 + b] << (8 * b);
    }
    if (id >= kv->n_write_point) {
        void *arr = kv->write_point_ns;
        sim_grow(&arr, &kv->cap_write_point, (size_t)id + 1, sizeof *kv->write_point_ns);
        kv->write_point_ns = arr;
        memset(kv->write_point_ns + kv->n_write_point, 0xff,
               ((size_t)id + 1 - kv->n_write_point) * sizeof *kv->write_point_ns);
        kv->n_write_point = (size_t)id + 1;
    }
    /* First applies come in log order (a node applies i only after i - 1): their rank within
     * one us orders the writes of one batch (sim_kv.h). */
    kv->first_apply_rank = now_us == kv->first_apply_us ? kv->first_apply_rank + 1 : 0;
    kv->first_apply_us = now_us;
    uint64_t rank = kv->first_apply_rank < 999 ? kv->first_apply_rank : 999;
    kv->write_point_ns[id] = now_us * 1000 + rank;
}

static void apply_bytes(struct sim_cluster *c, struct sim_node *n, craft_index index,
                        const char *data, size_t len)
{
    resp_reply_clear(&c->kv.reply);
    int rv = kv_apply(n->kv, data + SIM_KV_HEAD, len - SIM_KV_HEAD, &c->kv.reply);
    if (rv != 0) {
        sim_checks_fail(&c->checks, n->id, "kv_apply_failed",
                        "n%" PRIu64 " cannot apply the KV entry at %" PRIu64 ": %s", n->id, index,
                        craft_errname(rv));
    }
}

/* A new store for n holding the committed KV entries up to index. */
static void rebuild(struct sim_cluster *c, struct sim_node *n, craft_index index)
{
    if (n->kv != NULL) {
        kv_store_destroy(n->kv);
    }
    n->kv = kv_store_create();
    CRAFT_ASSERT(n->kv != NULL); /* out of memory in a test tool */
    struct sim_kv *kv = &c->kv;
    for (craft_index i = 1; i <= index && !sim_checks_failed(&c->checks); i++) {
        const struct sim_kv_slot *s = i <= kv->n_log ? &kv->log[i - 1] : NULL;
        if (s == NULL || !s->seen) {
            /* Whatever the node's state machine holds up to index was applied by some node. */
            sim_checks_fail(&c->checks, n->id, "kv_restore_gap",
                            "n%" PRIu64 " restores its state machine to %" PRIu64
                            ", but no node has applied index %" PRIu64,
                            n->id, index, i);
            return;
        }
        if (s->data != NULL) {
            apply_bytes(c, n, i, s->data, s->len);
        }
    }
}

void sim_kv_boot(struct sim_cluster *c, struct sim_node *n)
{
    if (c->p.kv) {
        rebuild(c, n, n->applied);
    }
}

void sim_kv_restore(struct sim_cluster *c, struct sim_node *n, craft_index index)
{
    if (c->p.kv) {
        rebuild(c, n, index);
    }
}

void sim_kv_apply(struct sim_cluster *c, struct sim_node *n, const struct craft_entry *e,
                  uint64_t cookie)
{
    if (!c->p.kv) {
        return;
    }
    record(&c->kv, e, c->now_us);
    if (!is_kv_entry(e)) {
        return;
    }
    apply_bytes(c, n, e->index, e->data.base, e->data.len);
    if (cookie != 0) {
        sim_kv_answer(c, n, cookie, c->kv.reply.data, c->kv.reply.len);
    }
}

bool sim_kv_run_read(struct sim_cluster *c, struct sim_node *n, uint64_t cookie)
{
    if (!c->p.kv || cookie <= SIM_COOKIE_KV_READ_BASE) {
        return false;
    }
    /* The op's key: the client waiting on this cookie names it. */
    for (unsigned i = 0; i <= SIM_KV_CLIENTS_MAX; i++) {
        const struct sim_kv_client *cl = &c->kv.cl[i];
        if (!cl->busy || cl->cookie != cookie || cl->node != n->id || cl->epoch != n->epoch) {
            continue;
        }
        char key[8];
        int k = snprintf(key, sizeof key, "k%u", cl->key);
        const char *argv[2] = {"get", key};
        size_t lens[2] = {3, (size_t)k};
        resp_reply_clear(&c->kv.reply);
        kv_read(n->kv, 2, argv, lens, sim_node_local_us(n, c->now_us) / 1000, &c->kv.reply);
        sim_kv_answer(c, n, cookie, c->kv.reply.data, c->kv.reply.len);
        return true;
    }
    return true; /* its client gave up on it */
}

void sim_kv_crash(struct sim_cluster *c, struct sim_node *n)
{
    if (n->kv != NULL) {
        kv_store_destroy(n->kv);
        n->kv = NULL;
    }
    if (c->p.kv) {
        /* The connection to the client breaks: what it waited for there ends unanswered. */
        for (unsigned i = 0; i <= SIM_KV_CLIENTS_MAX; i++) {
            const struct sim_kv_client *cl = &c->kv.cl[i];
            if (cl->busy && cl->node == n->id && cl->epoch == n->epoch) {
                sim_kv_on_complete(c, n, cl->cookie, CRAFT_ESHUTDOWN);
            }
        }
    }
}
