/* Group commit on threads of its own: take every queued request (of any Raft group), queue
 * their log changes and hard states, one WAL write and sync, one completion report; the next
 * batch is queued while the sync runs. */
#include "log_writer.h"

#include <stdalign.h>
#include <stdatomic.h>
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
/* Chunks kept for reuse once their requests are queued into storage (2 MiB: ~12,000 one-entry
 * requests); the rest are freed. */
#define LOG_WRITER_CHUNKS_KEPT_MAX 32u
/* The encoder looks whether the writer wants storage back (its sync ended) every this many
 * requests (a few microseconds of encoding): the writer then waits that long at most. */
#define LOG_WRITER_YIELD_EVERY 64u

struct request {
    struct request *next;
    uint64_t seq;
    uint64_t group;
    uint64_t bytes; /* of payload, counted in queued_bytes */
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

/* A batch: the requests taken into it, queued into storage unless rv. */
struct batch {
    uint64_t last_seq;
    uint64_t n_requests;
    uint64_t n_entries;
    uint64_t bytes;
    int rv; /* queueing one of its requests into storage failed: the batch fails */
};

/* The log writer overlaps its CPU with the disk on two threads that hand storage to each other
 * (one user at a time, under the lock). The writer thread writes a batch and runs its fdatasync;
 * meanwhile the encoder thread queues what arrives into storage (encoding: CRC, headers, index)
 * as the next batch, which the writer writes once its fdatasync returned and the encoder gave
 * storage back. So every batch is written after the previous sync ended and reported only after
 * a sync that started after its write ended, the disk is never written during a sync, the
 * encoder never calls the file system (storage_sync_begin), and segment rolls, truncations, hard
 * states and snapshots see storage as without the overlap. The writer runs its own fdatasync,
 * right after its write: handing it to another thread put a wake-up on the critical path (up to
 * half a millisecond on a loaded machine). */
struct log_writer {
    struct storage *st;
    struct log_writer_config cfg;
    log_writer_done_cb cb;
    void *arg;
    struct io_thread thread;
    struct io_thread encoder;
    struct io_mutex mu;      /* guards everything below */
    struct io_cond wake;     /* the writer's: a submission, storage given back, a snapshot, stop */
    struct io_cond enc_wake; /* the encoder's: a submission, a sync started, quit */
    /* A submission signals wake_cond once this many records are queued (0: nobody waits for
     * submissions). Set by the thread that waits. */
    uint64_t wake_at;
    struct io_cond *wake_cond;
    uint64_t queued_records;
    struct request *head; /* FIFO, in the chunks below */
    struct request *tail;
    struct chunk *chunks;      /* owned: the queued requests' chunks, the open one (tail) first */
    struct chunk *chunks_free; /* owned: for reuse, at most LOG_WRITER_CHUNKS_KEPT_MAX */
    size_t n_chunks_free;
    uint64_t queued_bytes; /* payload bytes of requests queued or taken and not yet written */
    uint64_t n_unwritten;  /* ... and their number */
    uint64_t next_seq;
    bool stopping;
    int failed;
    bool snap_due; /* log_writer_snapshot_taken: storage_snapshot_taken after the next batch */
    struct craft_snapshot_meta snap;
    /* The writer is in an fdatasync: the encoder may use storage. Atomic: the encoder also reads
     * it without the lock, between requests, to give storage back soon after the sync ends. */
    atomic_bool enc_may;
    bool enc_busy; /* the encoder is using storage */
    bool enc_quit;
    struct batch next; /* taken and queued into storage, not yet written: goes with storage */
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

/* Takes back the chunks of requests queued into storage: chunks of the standard size are kept, up
 * to LOG_WRITER_CHUNKS_KEPT_MAX; the others are returned, for the caller to free outside the lock.
 */
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
    cfg->wake_records = LOG_WRITER_WAKE_RECORDS_DEFAULT;
}

/* Queues one request's log changes and hard state into storage. Storage writes each group's
 * newest hard state at the head of the batch, so it is durable no later than any entry (entries
 * never outrun their term), with its commit cut when the batch is written, knowing of all the
 * batch's truncations (see storage_persist). */
static int queue_request(struct storage *st, const struct request *r)
{
    struct craft_persist p = {.snapshot = r->snapshot,
                              .truncate_from = r->truncate_from,
                              .entries = r->entries,
                              .n_entries = r->n_entries};
    int rv = storage_queue_log_group(st, r->group, &p);
    if (rv == 0 && r->hs_changed) {
        rv = storage_save_hard_state_group(st, r->group, &r->hs);
    }
    return rv;
}

/* Appends chunk list c (none of them open) after the queue's chunks, whose first stays the open
 * one. With the lock held. */
static void chunks_requeue(struct log_writer *lw, struct chunk *c)
{
    struct chunk **end = &lw->chunks;
    while (*end != NULL) {
        end = &(*end)->next;
    }
    *end = c;
}

/* Takes every queued request into batch b: queued into storage (unless the writer or the batch
 * failed already), their chunks given back (storage copied what it keeps; the payloads stay
 * borrowed until the report). With the lock held; it is dropped while storage works. The encoder
 * (yield) stops early once the writer's sync ended: the requests it did not reach go back to the
 * head of the queue, for the next batch, so the writer waits for a few of them, not for all. */
static void take(struct log_writer *lw, struct batch *b, bool yield)
{
    struct request *r = lw->head;
    struct request *last = lw->tail;
    struct chunk *chunks = lw->chunks; /* owned here until given back below */
    uint64_t records = lw->queued_records;
    lw->head = NULL;
    lw->tail = NULL;
    lw->chunks = NULL; /* the next submission opens a chunk of its own */
    lw->queued_records = 0;
    if (b->rv == 0) {
        b->rv = lw->failed;
    }
    io_mutex_unlock(&lw->mu);
    uint64_t n = 0;
    for (; r != NULL; r = r->next) {
        if (yield && n > 0 && n % LOG_WRITER_YIELD_EVERY == 0 &&
            !atomic_load_explicit(&lw->enc_may, memory_order_relaxed)) {
            break;
        }
        if (b->rv == 0) {
            b->rv = queue_request(lw->st, r);
        }
        b->n_entries += r->n_entries;
        b->bytes += r->bytes;
        b->last_seq = r->seq;
        records -= r->n_entries + 1;
        n++;
    }
    b->n_requests += n;
    io_mutex_lock(&lw->mu);
    lw->stats.n_taken += n;
    if (r != NULL) {
        /* Ahead of what queued since; their chunks with them (the newer open chunk stays open). */
        last->next = lw->head;
        lw->head = r;
        if (lw->tail == NULL) {
            lw->tail = last;
        }
        lw->queued_records += records;
        chunks_requeue(lw, chunks);
        return;
    }
    struct chunk *spare = chunks_keep(lw, chunks);
    if (spare != NULL) {
        io_mutex_unlock(&lw->mu);
        chunks_free(spare);
        io_mutex_lock(&lw->mu);
    }
}

/* Reports batch b (durable if rv is 0, else failed, and so is every later one). The books are
 * updated before the report, so whoever reacts to it sees them. Without the lock. */
static void report(struct log_writer *lw, const struct batch *b, int rv)
{
    io_mutex_lock(&lw->mu);
    if (rv != 0) {
        if (lw->failed == 0) {
            lw->failed = rv;
        }
    } else {
        lw->stats.n_requests += b->n_requests;
        lw->stats.n_entries += b->n_entries;
        lw->stats.n_batches++;
    }
    io_mutex_unlock(&lw->mu);
    lw->cb(lw->arg, b->last_seq, rv);
}

/* Makes lw->next durable (or fails it) and reports it; what arrives meanwhile is queued by the
 * encoder into the next batch. With the lock held and storage the writer's. */
static void write_next(struct log_writer *lw)
{
    struct batch b = lw->next;
    lw->next = (struct batch){0};
    int rv = b.rv != 0 ? b.rv : lw->failed;
    lw->queued_bytes -= b.bytes;
    lw->n_unwritten -= b.n_requests;
    io_mutex_unlock(&lw->mu);
    struct storage_sync_job job;
    bool sync = false;
    if (rv == 0) {
        rv = storage_write(lw->st);
    }
    if (rv == 0) {
        sync = storage_sync_begin(lw->st, &job);
        rv = storage_failed(lw->st) ? CRAFT_EIO : 0;
    }
    if (sync) {
        /* Storage goes to the encoder for the length of the fdatasync; it is woken only once
         * enough waits (not per batch: a light load would pay a wake-up for nothing). */
        io_mutex_lock(&lw->mu);
        lw->enc_may = true;
        if (lw->queued_records >= lw->cfg.wake_records) {
            io_cond_signal(&lw->enc_wake);
        } else {
            lw->wake_at = lw->cfg.wake_records;
            lw->wake_cond = &lw->enc_wake;
        }
        io_mutex_unlock(&lw->mu);
        rv = storage_sync_run(&job);
        io_mutex_lock(&lw->mu);
        lw->enc_may = false;
        while (lw->enc_busy) {
            io_cond_wait(&lw->wake, &lw->mu);
        }
        lw->wake_at = 0;
        io_mutex_unlock(&lw->mu);
        /* Reported only now: this sync started after the batch's write ended. */
        rv = storage_sync_end(lw->st, rv);
    }
    report(lw, &b, rv);
    io_mutex_lock(&lw->mu);
}

/* Queues what arrives during the writer's fdatasyncs into the next batch. */
static void *encoder_main(void *arg)
{
    struct log_writer *lw = arg;
    io_mutex_lock(&lw->mu);
    while (!lw->enc_quit) {
        if (!lw->enc_may || lw->queued_records < lw->cfg.wake_records) {
            if (lw->enc_may) {
                lw->wake_at = lw->cfg.wake_records;
                lw->wake_cond = &lw->enc_wake;
            }
            io_cond_wait(&lw->enc_wake, &lw->mu);
            continue;
        }
        lw->enc_busy = true;
        take(lw, &lw->next, true);
        lw->enc_busy = false;
        if (!lw->enc_may) {
            io_cond_signal(&lw->wake); /* the writer waits for storage */
        }
    }
    io_mutex_unlock(&lw->mu);
    return NULL;
}

static void *writer_main(void *arg)
{
    struct log_writer *lw = arg;
    io_mutex_lock(&lw->mu);
    for (;;) {
        while (lw->head == NULL && lw->next.n_requests == 0 && !lw->stopping && !lw->snap_due) {
            lw->wake_at = 1;
            lw->wake_cond = &lw->wake;
            io_cond_wait(&lw->wake, &lw->mu);
        }
        lw->wake_at = 0;
        if (lw->head != NULL || lw->next.n_requests > 0) {
            /* What the encoder left is taken here when it is little, or when the encoder took
             * nothing; more (a starved encoder) waits for it during the next sync, off the path
             * from one sync to the next. */
            if (lw->head != NULL &&
                (lw->next.n_requests == 0 || lw->queued_records < lw->cfg.wake_records)) {
                take(lw, &lw->next, false);
            }
            write_next(lw);
            continue;
        }
        if (!lw->snap_due) {
            break; /* stopping, and everything queued was reported */
        }
        /* No sync runs here and the encoder waits: the prefix drop may delete segments. */
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
    }
    io_mutex_unlock(&lw->mu);
    return NULL;
}

/* Ends the encoder (no sync can start any more: the writer thread is gone, or never ran). */
static void encoder_quit(struct log_writer *lw)
{
    io_mutex_lock(&lw->mu);
    CRAFT_ASSERT(!lw->enc_may);
    lw->enc_quit = true;
    io_cond_signal(&lw->enc_wake);
    io_mutex_unlock(&lw->mu);
    io_thread_join(&lw->encoder);
}

int log_writer_start(struct storage *st, const struct log_writer_config *cfg, log_writer_done_cb cb,
                     void *arg, struct log_writer **out)
{
    struct log_writer *lw = craft_calloc(1, sizeof *lw);
    if (lw == NULL) {
        return CRAFT_ENOMEM;
    }
    CRAFT_ASSERT(cfg->wake_records >= 1);
    lw->st = st;
    lw->cfg = *cfg;
    lw->cb = cb;
    lw->arg = arg;
    lw->next_seq = 1;
    io_mutex_init(&lw->mu);
    io_cond_init(&lw->wake);
    io_cond_init(&lw->enc_wake);
    int rv = io_thread_start(&lw->encoder, encoder_main, lw);
    if (rv != 0) {
        goto fail;
    }
    rv = io_thread_start(&lw->thread, writer_main, lw);
    if (rv != 0) {
        goto fail_encoder;
    }
    *out = lw;
    return 0;

fail_encoder:
    encoder_quit(lw);
fail:
    io_cond_close(&lw->enc_wake);
    io_cond_close(&lw->wake);
    io_mutex_close(&lw->mu);
    craft_free(lw);
    return rv;
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
    if (rv == 0 && lw->n_unwritten > 0 && lw->queued_bytes + bytes > lw->cfg.queue_bytes_max) {
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
    r->bytes = bytes;
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
    lw->n_unwritten++;
    lw->queued_records += out->n_entries + 1;
    /* A writer that is not waiting takes the queue when it is done with what it does. */
    if (lw->wake_at != 0 && lw->queued_records >= lw->wake_at) {
        lw->wake_at = 0;
        io_cond_signal(lw->wake_cond);
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
    encoder_quit(lw);
    CRAFT_ASSERT(lw->head == NULL);
    CRAFT_ASSERT(lw->chunks == NULL);
    CRAFT_ASSERT(lw->n_unwritten == 0);
    CRAFT_ASSERT(lw->next.n_requests == 0);
    chunks_free(lw->chunks_free);
    io_cond_close(&lw->enc_wake);
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
