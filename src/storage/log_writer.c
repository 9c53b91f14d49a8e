/* Group commit on a thread of its own: take every queued request (of any Raft group), queue
 * their log changes and hard states, one WAL sync, one completion report. */
#include "log_writer.h"

#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "io/thread.h"
#include "util/alloc.h"
#include "util/assert.h"

/* Requests are carved from chunks of this many bytes (a few hundred one-entry requests each), not
 * allocated one by one: a submission is a bump of the open chunk's fill under the lock it takes
 * anyway, and a batch gives back its chunks whole (a malloc and a free per request were a fifth of
 * the group-commit run's CPU, docs/benchmarks.md). A request larger than a chunk gets a chunk of
 * its own size. */
#define LOG_WRITER_CHUNK_BYTES (64u << 10)
/* Chunks kept for reuse once their batch is durable (2 MiB: a batch of ~12,000 one-entry
 * requests); the rest are freed. */
#define LOG_WRITER_CHUNKS_KEPT_MAX 32u

struct request {
    struct request *next;
    uint64_t seq;
    uint64_t group;
    bool hs_changed;
    struct craft_hard_state hs;
    struct craft_persist_snapshot snapshot;
    craft_index truncate_from;
    size_t n_entries;
    struct craft_entry entries[]; /* copied; payloads borrowed */
};

struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct log_writer {
    struct storage *st;
    struct log_writer_config cfg;
    log_writer_done_cb cb;
    void *arg;
    struct io_thread thread;
    struct io_mutex mu; /* guards everything below */
    struct io_cond wake;
    bool idle;            /* the writer waits on wake: a submission must signal it */
    struct request *head; /* FIFO, in the chunks below */
    struct request *tail;
    struct chunk *chunks;      /* owned: the queued requests' chunks, the open one (tail) first */
    struct chunk *chunks_free; /* owned: for reuse, at most LOG_WRITER_CHUNKS_KEPT_MAX */
    size_t n_chunks_free;
    uint64_t queued_bytes;
    uint64_t next_seq;
    bool stopping;
    int failed;
    bool snap_due; /* log_writer_snapshot_taken: storage_snapshot_taken after the next batch */
    struct craft_snapshot_meta snap;
    struct log_writer_stats stats;
};

static size_t request_size(size_t n_entries)
{
    size_t size = sizeof(struct request) + n_entries * sizeof(struct craft_entry);
    return (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

/* Room for a request of size bytes (request_size) among the queued chunks: the open chunk's, a
 * kept one or a new one, which becomes the open chunk. NULL when out of memory. Called with the
 * lock held (an allocation under it happens once per chunk, until chunks are kept). */
static struct request *request_carve(struct log_writer *lw, size_t size)
{
    struct chunk *c = lw->chunks;
    if (c == NULL || c->size - c->used < size) {
        if (size <= LOG_WRITER_CHUNK_BYTES && lw->chunks_free != NULL) {
            c = lw->chunks_free;
            lw->chunks_free = c->next;
            lw->n_chunks_free--;
        } else {
            size_t usable = size > LOG_WRITER_CHUNK_BYTES ? size : LOG_WRITER_CHUNK_BYTES;
            c = craft_malloc(sizeof *c + usable);
            if (c == NULL) {
                return NULL;
            }
            c->size = usable;
        }
        c->used = 0;
        c->next = lw->chunks;
        lw->chunks = c;
    }
    struct request *r = (struct request *)(void *)(c->data + c->used);
    c->used += size;
    CRAFT_ASSERT(c->used <= c->size);
    return r;
}

/* Takes back a durable batch's chunks: chunks of the standard size are kept, up to
 * LOG_WRITER_CHUNKS_KEPT_MAX; the others are returned, for the caller to free outside the lock. */
static struct chunk *chunks_keep(struct log_writer *lw, struct chunk *chunks)
{
    struct chunk *spare = NULL;
    while (chunks != NULL) {
        struct chunk *next = chunks->next;
        if (chunks->size == LOG_WRITER_CHUNK_BYTES &&
            lw->n_chunks_free < LOG_WRITER_CHUNKS_KEPT_MAX) {
            chunks->next = lw->chunks_free;
            lw->chunks_free = chunks;
            lw->n_chunks_free++;
        } else {
            chunks->next = spare;
            spare = chunks;
        }
        chunks = next;
    }
    return spare;
}

static void chunks_free(struct chunk *chunks)
{
    while (chunks != NULL) {
        struct chunk *next = chunks->next;
        craft_free(chunks);
        chunks = next;
    }
}

void log_writer_config_init(struct log_writer_config *cfg)
{
    cfg->queue_bytes_max = LOG_WRITER_QUEUE_BYTES_DEFAULT;
}

/* Makes one batch durable: every request's log changes and hard state queued (in memory), in
 * order, then one sync. Storage writes each group's newest hard state at the head of the batch,
 * so it is durable no later than any entry (entries never outrun their term), with its commit cut
 * when the batch is written, knowing of all the batch's truncations (see storage_persist). */
static int write_batch(struct storage *st, struct request *batch, uint64_t *n_entries)
{
    int rv = 0;
    for (struct request *r = batch; r != NULL && rv == 0; r = r->next) {
        struct craft_persist p = {.snapshot = r->snapshot,
                                  .truncate_from = r->truncate_from,
                                  .entries = r->entries,
                                  .n_entries = r->n_entries};
        rv = storage_queue_log_group(st, r->group, &p);
        *n_entries += r->n_entries;
        if (rv == 0 && r->hs_changed) {
            rv = storage_save_hard_state_group(st, r->group, &r->hs);
        }
    }
    return rv == 0 ? storage_sync(st) : rv;
}

static void *writer_main(void *arg)
{
    struct log_writer *lw = arg;
    io_mutex_lock(&lw->mu);
    for (;;) {
        while (lw->head == NULL && !lw->stopping && !lw->snap_due) {
            lw->idle = true;
            io_cond_wait(&lw->wake, &lw->mu);
        }
        lw->idle = false;
        if (lw->head == NULL && lw->snap_due) {
            lw->snap_due = false;
            struct craft_snapshot_meta m = lw->snap;
            io_mutex_unlock(&lw->mu);
            int srv = lw->failed == 0 ? storage_snapshot_taken(lw->st, &m) : 0;
            io_mutex_lock(&lw->mu);
            if (srv != 0 && lw->failed == 0) {
                lw->failed = srv;
                io_mutex_unlock(&lw->mu);
                lw->cb(lw->arg, 0, srv);
                io_mutex_lock(&lw->mu);
            }
            continue;
        }
        if (lw->head == NULL) {
            break;
        }
        struct request *batch = lw->head;
        struct chunk *chunks = lw->chunks; /* owned here until given back below */
        lw->head = NULL;
        lw->tail = NULL;
        lw->chunks = NULL; /* the next submission opens a chunk of its own */
        lw->queued_bytes = 0;
        int rv = lw->failed;
        io_mutex_unlock(&lw->mu);

        uint64_t n_entries = 0;
        uint64_t n_requests = 0;
        uint64_t last_seq = 0;
        if (rv == 0) {
            rv = write_batch(lw->st, batch, &n_entries);
        }
        for (const struct request *r = batch; r != NULL; r = r->next) {
            last_seq = r->seq;
            n_requests++;
        }
        /* The books are updated before the report, so whoever reacts to it sees them. */
        io_mutex_lock(&lw->mu);
        struct chunk *spare = chunks_keep(lw, chunks);
        if (rv != 0) {
            lw->failed = rv;
        } else {
            lw->stats.n_requests += n_requests;
            lw->stats.n_entries += n_entries;
            lw->stats.n_batches++;
        }
        io_mutex_unlock(&lw->mu);
        chunks_free(spare);
        lw->cb(lw->arg, last_seq, rv);
        io_mutex_lock(&lw->mu);
    }
    io_mutex_unlock(&lw->mu);
    return NULL;
}

int log_writer_start(struct storage *st, const struct log_writer_config *cfg, log_writer_done_cb cb,
                     void *arg, struct log_writer **out)
{
    struct log_writer *lw = craft_calloc(1, sizeof *lw);
    if (lw == NULL) {
        return CRAFT_ENOMEM;
    }
    lw->st = st;
    lw->cfg = *cfg;
    lw->cb = cb;
    lw->arg = arg;
    lw->next_seq = 1;
    io_mutex_init(&lw->mu);
    io_cond_init(&lw->wake);
    int rv = io_thread_start(&lw->thread, writer_main, lw);
    if (rv != 0) {
        io_cond_close(&lw->wake);
        io_mutex_close(&lw->mu);
        craft_free(lw);
        return rv;
    }
    *out = lw;
    return 0;
}

int log_writer_submit(struct log_writer *lw, const struct craft_persist *out, uint64_t *seq)
{
    return log_writer_submit_group(lw, STORAGE_GROUP_DEFAULT, out, seq);
}

int log_writer_submit_group(struct log_writer *lw, uint64_t group, const struct craft_persist *out,
                            uint64_t *seq)
{
    CRAFT_ASSERT(group != 0);
    uint64_t bytes = 0;
    for (size_t i = 0; i < out->n_entries; i++) {
        bytes += out->entries[i].data.len;
    }
    size_t size = request_size(out->n_entries);
    io_mutex_lock(&lw->mu);
    CRAFT_ASSERT(!lw->stopping);
    int rv = lw->failed;
    if (rv == 0 && lw->head != NULL && lw->queued_bytes + bytes > lw->cfg.queue_bytes_max) {
        rv = CRAFT_EBUSY;
    }
    struct request *r = NULL;
    if (rv == 0) {
        r = request_carve(lw, size);
        rv = r == NULL ? CRAFT_ENOMEM : 0;
    }
    if (rv != 0) {
        io_mutex_unlock(&lw->mu);
        return rv;
    }
    r->next = NULL;
    r->seq = lw->next_seq++;
    r->group = group;
    r->hs_changed = out->hard_state_changed;
    r->hs = out->hard_state;
    r->snapshot = out->snapshot;
    r->truncate_from = out->truncate_from;
    r->n_entries = out->n_entries;
    if (out->n_entries > 0) {
        memcpy(r->entries, out->entries, out->n_entries * sizeof *r->entries);
    }
    *seq = r->seq;
    if (lw->tail == NULL) {
        lw->head = r;
    } else {
        lw->tail->next = r;
    }
    lw->tail = r;
    lw->queued_bytes += bytes;
    /* A writer that is not waiting takes the queue when its batch is done: no wake-up needed. */
    if (lw->idle) {
        io_cond_signal(&lw->wake);
    }
    io_mutex_unlock(&lw->mu);
    return 0;
}

void log_writer_stats(struct log_writer *lw, struct log_writer_stats *out)
{
    io_mutex_lock(&lw->mu);
    *out = lw->stats;
    io_mutex_unlock(&lw->mu);
}

void log_writer_stop(struct log_writer *lw)
{
    io_mutex_lock(&lw->mu);
    lw->stopping = true;
    io_cond_signal(&lw->wake);
    io_mutex_unlock(&lw->mu);
    io_thread_join(&lw->thread);
    CRAFT_ASSERT(lw->head == NULL);
    CRAFT_ASSERT(lw->chunks == NULL);
    chunks_free(lw->chunks_free);
    io_cond_close(&lw->wake);
    io_mutex_close(&lw->mu);
    craft_free(lw);
}

void log_writer_snapshot_taken(struct log_writer *lw, const struct craft_snapshot_meta *m)
{
    io_mutex_lock(&lw->mu);
    if (!lw->snap_due || m->index > lw->snap.index) {
        lw->snap = *m;
    }
    lw->snap_due = true;
    io_cond_signal(&lw->wake);
    io_mutex_unlock(&lw->mu);
}
