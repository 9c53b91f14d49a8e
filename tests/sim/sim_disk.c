/* Pending writes, their completion and what a crash leaves on the simulated disk. */
#include "sim_disk.h"

#include <string.h>

#include "sim_hash.h"
#include "sim_mem.h"

void sim_disk_init(struct sim_disk *d, craft_id id)
{
    memset(d, 0, sizeof(*d));
    d->id = id;
}

void sim_disk_write_free(struct sim_disk_write *w)
{
    craft_free(w->entries);
    craft_free(w);
}

static void free_pending(struct sim_disk *d)
{
    struct sim_disk_write *w = d->head;
    while (w != NULL) {
        struct sim_disk_write *next = w->next;
        sim_disk_write_free(w);
        w = next;
    }
    d->head = NULL;
    d->tail = NULL;
    d->n_pending = 0;
    d->batch_inflight = 0;
}

void sim_disk_close(struct sim_disk *d)
{
    free_pending(d);
    craft_free(d->log);
    memset(d, 0, sizeof(*d));
}

static struct craft_entry *copy_entries(const struct craft_entry *src, size_t n)
{
    if (n == 0) {
        return NULL;
    }
    size_t data = 0;
    for (size_t i = 0; i < n; i++) {
        data += src[i].data.len;
    }
    struct craft_entry *ents = sim_xmalloc(n * sizeof(*ents) + data);
    char *bytes = (char *)(ents + n);
    for (size_t i = 0; i < n; i++) {
        ents[i] = src[i];
        if (src[i].data.len > 0) {
            memcpy(bytes, src[i].data.base, src[i].data.len);
            ents[i].data.base = bytes;
            bytes += src[i].data.len;
        } else {
            ents[i].data.base = NULL;
        }
    }
    return ents;
}

static uint64_t payload_hash(const struct craft_entry *ents, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        h = sim_hash_combine(h, sim_hash_bytes(ents[i].data.base, ents[i].data.len));
    }
    return h;
}

struct sim_disk_write *sim_disk_queue(struct sim_disk *d, const struct craft_persist *p,
                                      uint64_t seq, bool *starts)
{
    struct sim_disk_write *w = sim_xcalloc(1, sizeof(*w));
    w->seq = seq;
    w->hs_changed = p->hard_state_changed;
    w->hs = p->hard_state;
    w->snapshot = p->snapshot;
    w->truncate_from = p->truncate_from;
    w->n_entries = p->n_entries;
    if (p->n_entries > 0) {
        w->entries = sim_xmalloc(p->n_entries * sizeof *w->entries);
        memcpy(w->entries, p->entries, p->n_entries * sizeof *w->entries);
        w->borrowed = true;
        w->payload_hash = payload_hash(p->entries, p->n_entries);
    }
    *starts = d->batch_inflight == 0;
    if (*starts) {
        d->batch_inflight = d->tail != NULL ? d->tail->batch + 1 : 1;
        w->batch = d->batch_inflight;
    } else {
        w->batch = d->batch_inflight + 1;
    }
    if (d->tail == NULL) {
        d->head = w;
    } else {
        d->tail->next = w;
    }
    d->tail = w;
    d->n_pending++;
    return w;
}

void sim_disk_write_own(struct sim_disk *d, struct sim_disk_write *w)
{
    if (!w->borrowed) {
        return;
    }
    if (payload_hash(w->entries, w->n_entries) != w->payload_hash) {
        d->n_payloads_changed++;
    }
    struct craft_entry *own = copy_entries(w->entries, w->n_entries);
    craft_free(w->entries);
    w->entries = own;
    w->borrowed = false;
}

void sim_disk_own_pending(struct sim_disk *d)
{
    for (struct sim_disk_write *w = d->head; w != NULL; w = w->next) {
        sim_disk_write_own(d, w);
    }
}

struct sim_disk_write *sim_disk_pop_batch(struct sim_disk *d)
{
    struct sim_disk_write *w = d->head;
    if (w == NULL || w->batch != d->batch_inflight) {
        return NULL;
    }
    d->head = w->next;
    if (d->head == NULL) {
        d->tail = NULL;
    }
    w->next = NULL;
    d->n_pending--;
    sim_disk_write_own(d, w);
    return w;
}

bool sim_disk_next_batch(struct sim_disk *d)
{
    d->batch_inflight = d->head != NULL ? d->head->batch : 0;
    return d->batch_inflight != 0;
}

static void truncate_log(struct sim_disk *d, craft_index from, const struct sim_disk_observer *obs)
{
    if (from != 0 && from <= d->snap_index) {
        d->wal_snap_term = 0; /* the WAL loses its entry at the snapshot's index */
        from = d->snap_index + 1; /* the snapshot file stands for what it covers */
    }
    if (from == 0 || from > d->n_log) {
        return;
    }
    if (obs != NULL && obs->truncate != NULL) {
        obs->truncate(obs->ctx, d, from);
    }
    d->n_log = from - 1;
    if (d->n_verified > d->n_log) {
        d->n_verified = d->n_log;
    }
}

/* Appends at n_log + 1 an entry given by its hash. */
static void append_hashed(struct sim_disk *d, craft_term term, uint32_t type, uint64_t data_hash,
                          size_t len, const struct sim_disk_observer *obs)
{
    void *arr = d->log;
    sim_grow(&arr, &d->cap_log, d->n_log + 1, sizeof(*d->log));
    d->log = arr;
    struct sim_disk_ent *de = &d->log[d->n_log];
    de->term = term;
    de->type = type;
    de->len = len;
    de->data_hash = data_hash;
    uint64_t prev = d->n_log > 0 ? d->log[d->n_log - 1].prefix : 0;
    de->prefix = sim_hash_prefix(prev, de->term, de->type, de->data_hash);
    d->n_log++;
    if (obs != NULL && obs->append != NULL) {
        obs->append(obs->ctx, d, d->n_log);
    }
}

static void append_entry(struct sim_disk *d, const struct craft_entry *e,
                         const struct sim_disk_observer *obs)
{
    if (e->index == 0 || e->index > d->n_log + 1) {
        return; /* a gap: the volatile log_contiguous check reports it */
    }
    if (d->wal_emptied) {
        d->wal_emptied = false;
        d->wal_after_snap = e->index == d->snap_index + 1;
    }
    if (e->index == d->snap_index) {
        d->wal_snap_term = e->term;
    }
    if (e->index <= d->snap_index) {
        return; /* covered by the snapshot file, whatever the WAL holds there */
    }
    if (d->snap_index != 0 && !d->wal_after_snap && d->wal_snap_term != d->snap_term) {
        return; /* the WAL diverges from the snapshot: recovery would not keep this entry */
    }
    truncate_log(d, e->index, obs);
    append_hashed(d, e->term, e->type, sim_hash_bytes(e->data.base, e->data.len), e->data.len,
                  obs);
}

void sim_disk_cover(struct sim_disk *d, craft_index index, craft_term term,
                    const struct sim_disk_observer *obs)
{
    if (index <= d->snap_index) {
        return; /* an older file: the newer one is what a restart finds */
    }
    /* The model held the WAL's entries up to here (those that continued the last snapshot). */
    d->wal_snap_term = d->n_log >= index ? d->log[index - 1].term : 0;
    d->wal_after_snap = false;
    d->wal_emptied = false;
    /* Prefix hashes agree at i exactly when the logs agree up to i: keep the agreeing part. */
    size_t same = 0;
    size_t top = d->n_log < index ? d->n_log : (size_t)index;
    while (same < top) {
        struct sim_disk_ent want;
        obs->committed(obs->ctx, same + 1, &want);
        if (d->log[same].prefix != want.prefix) {
            break;
        }
        same++;
    }
    if (same < index) {
        truncate_log(d, same + 1, obs);
        for (craft_index i = same + 1; i <= index; i++) {
            struct sim_disk_ent want;
            obs->committed(obs->ctx, i, &want);
            append_hashed(d, want.term, want.type, want.data_hash, want.len, obs);
        }
    }
    d->snap_index = index;
    d->snap_term = term;
}

/* Applies the first `stage` parts of w: 1 = hard state, 2 = truncation, 2 + k = k entries. */
static void apply_stages(struct sim_disk *d, const struct sim_disk_write *w, size_t stage,
                         const struct sim_disk_observer *obs)
{
    if (stage >= 1 && w->hs_changed) {
        if (obs != NULL && obs->hard_state != NULL) {
            obs->hard_state(obs->ctx, d, &w->hs);
        }
        d->hs = w->hs;
    }
    if (stage >= 2) {
        if (w->snapshot.index != 0 && w->snapshot.drop_log) {
            /* The WAL is emptied; the newest durable snapshot (covered already, perhaps newer
             * than this write's) stands for what it covers. */
            craft_index kept = w->snapshot.index > d->snap_index ? w->snapshot.index : d->snap_index;
            truncate_log(d, kept + 1, obs);
            d->wal_snap_term = 0;
            d->wal_after_snap = false;
            d->wal_emptied = true;
        }
        truncate_log(d, w->truncate_from, obs);
    }
    for (size_t i = 0; i + 2 < stage && i < w->n_entries; i++) {
        append_entry(d, &w->entries[i], obs);
    }
}

void sim_disk_apply(struct sim_disk *d, const struct sim_disk_write *w,
                    const struct sim_disk_observer *obs)
{
    apply_stages(d, w, 2 + w->n_entries, obs);
}

void sim_disk_crash(struct sim_disk *d, struct prng *rng, bool torn,
                    const struct sim_disk_observer *obs, struct sim_disk_crash_report *rep)
{
    rep->lost = d->n_pending;
    rep->reached = 0;
    rep->torn = 0;
    if (torn && d->n_pending > 0) {
        uint64_t whole = prng_below(rng, d->n_pending + 1);
        struct sim_disk_write *w = d->head;
        for (uint64_t i = 0; i < whole; i++, w = w->next) {
            sim_disk_apply(d, w, obs);
        }
        rep->reached = whole;
        if (w != NULL && prng_chance(rng, 500000)) {
            /* Stages: nothing, hard state, truncation, then each entry but the last. */
            size_t stage = (size_t)prng_below(rng, 2 + w->n_entries);
            apply_stages(d, w, stage, obs);
            rep->torn = 1;
        }
    }
    free_pending(d);
}

size_t sim_disk_adopt(struct sim_disk *d, const struct craft_hard_state *hs, craft_index base,
                      const struct craft_entry *entries, size_t n,
                      const struct sim_disk_observer *obs)
{
    if (obs != NULL && obs->hard_state != NULL) {
        obs->hard_state(obs->ctx, d, hs);
    }
    d->hs = *hs;
    /* Keep the common prefix; from the first difference on, the recovered log wins. The part the
     * snapshot covers is the committed log already (sim_disk_cover). */
    size_t same = 0;
    while (same < n && base + same < d->n_log && entries[same].index == base + same + 1 &&
           d->log[base + same].term == entries[same].term &&
           (base + same < d->n_verified ||
            d->log[base + same].data_hash ==
                sim_hash_bytes(entries[same].data.base, entries[same].data.len))) {
        same++;
    }
    truncate_log(d, base + same + 1, obs);
    /* Recovery handed back only entries that continue the snapshot. */
    d->wal_snap_term = d->snap_term;
    d->wal_after_snap = false;
    d->wal_emptied = false;
    for (size_t i = same; i < n; i++) {
        append_entry(d, &entries[i], obs);
    }
    d->n_verified = d->n_log;
    return base + same;
}
