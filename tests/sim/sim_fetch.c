/* Reading entries from storage for a follower behind the leader's memory log. */
#include "sim_fetch.h"

#include <inttypes.h>

#include "sim_cluster.h"
#include "sim_mem.h"

struct sim_fetch_req {
    struct craft_fetch f;
    uint64_t epoch; /* the leader's life that asked */
};

/* Entries at most this many bytes of payload per answer (the core trims to its own limits). */
#define SIM_FETCH_BYTES_MAX (256u << 10)
#define SIM_FETCH_READ_US 200

void sim_fetch_on_output(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out)
{
    for (size_t i = 0; i < out->n_fetches; i++) {
        struct sim_fetch_req *r = sim_xmalloc(sizeof *r);
        r->f = out->fetches[i];
        r->epoch = n->epoch;
        sim_heap_push(&c->heap, c->now_us + SIM_FETCH_READ_US, SIM_EV_FETCH, (uint32_t)n->id, 0, r);
    }
}

void sim_fetch_free(void *req)
{
    craft_free(req);
}

/* Reads [first, last] (fewer when the bytes run out or storage dropped them) into *out, whose
 * bytes live in *buf (owned by the caller). Returns how many were read and the term before;
 * *damage is set when a record no longer checks out. */
static size_t read_entries(struct sim_node *n, const struct craft_fetch *f, struct craft_entry *out,
                           unsigned char **buf, craft_term *prev_term, bool *damage)
{
    *damage = false;
    struct wal *w = storage_wal(n->st);
    *prev_term = 0;
    if (f->first > 1) {
        craft_index prev = f->first - 1;
        craft_index snap = storage_snapshot_index(n->st);
        if (prev == snap && snap != 0) {
            *prev_term = n->disk.snap_term;
        } else if (prev >= wal_first_index(w) && prev <= wal_last_index(w)) {
            *prev_term = wal_term_at(w, prev);
        } else {
            return 0;
        }
    }
    size_t n_read = 0;
    size_t used = 0;
    size_t cap = SIM_FETCH_BYTES_MAX;
    *buf = sim_xmalloc(cap);
    for (craft_index i = f->first; i <= f->last; i++) {
        int rv = wal_read(w, i, &out[n_read], *buf + used, cap - used);
        if (rv == CRAFT_ETOOBIG && n_read == 0) {
            cap = out[0].data.len; /* one entry bigger than the buffer still goes alone */
            craft_free(*buf);
            *buf = sim_xmalloc(cap);
            rv = wal_read(w, i, &out[0], *buf, cap);
        }
        if (rv == CRAFT_ECORRUPT) {
            *damage = true;
            break;
        }
        if (rv != 0) {
            break; /* dropped by a snapshot meanwhile, or out of room: send what was read */
        }
        used += out[n_read].data.len;
        n_read++;
    }
    return n_read;
}

/* A committed entry no longer checks out on the disk: a node must stop rather than serve or
 * forget it (a real node logs the file and offset and exits). Allowed only where the seed damaged
 * that disk (a misdirected write): the node then stays down for good. */
static void on_damage(struct sim_cluster *c, struct sim_node *n)
{
    if (!sim_disk_faults_refusal_ok(c, n, CRAFT_ECORRUPT)) {
        sim_checks_fail(&c->checks, n->id, "storage_read_corrupt",
                        "n%" PRIu64 " reads a damaged WAL record it was not given", n->id);
        return;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_REFUSED,
                  (uint64_t)(int64_t)CRAFT_ECORRUPT, 0);
    sim_cluster_crash(c, n->id);
    n->dead = true;
}

void sim_fetch_on_event(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_fetch_req *r = ev->ptr;
    struct sim_node *n = &c->nodes[ev->node];
    if (!n->up || n->epoch != r->epoch) {
        craft_free(r);
        return;
    }
    size_t cap = (size_t)(r->f.last - r->f.first + 1);
    struct craft_entry *entries = sim_xmalloc(cap * sizeof *entries);
    unsigned char *buf = NULL;
    craft_term prev_term = 0;
    bool damage = false;
    size_t k = read_entries(n, &r->f, entries, &buf, &prev_term, &damage);
    if (damage) {
        craft_free(buf);
        craft_free(entries);
        craft_free(r);
        on_damage(c, n);
        return;
    }
    struct craft_input in = {.type = CRAFT_IN_FETCHED};
    in.fetched.to = r->f.to;
    in.fetched.prev_term = prev_term;
    in.fetched.entries = k > 0 ? entries : NULL;
    in.fetched.n = k;
    c->work.fetches += k > 0;
    sim_cluster_feed(c, n, &in, NULL);
    craft_free(buf);
    craft_free(entries);
    craft_free(r);
}
