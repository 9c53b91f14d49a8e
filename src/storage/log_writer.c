/* Group commit on a thread of its own: take every queued request (of any Raft group), queue
 * their log changes and hard states, one WAL sync, one completion report. */
#include "log_writer.h"

#include <string.h>

#include "io/thread.h"
#include "util/alloc.h"
#include "util/assert.h"

struct request {
    struct request *next;
    uint64_t seq;
    uint64_t group;
    bool hs_changed;
    struct craft_hard_state hs;
    struct craft_persist_snapshot snapshot;
    craft_index truncate_from;
    struct craft_entry *entries; /* in this request's allocation; payloads borrowed */
    size_t n_entries;
    uint64_t bytes;
};

struct log_writer {
    struct storage *st;
    struct log_writer_config cfg;
    log_writer_done_cb cb;
    void *arg;
    struct io_thread thread;
    struct io_mutex mu; /* guards everything below */
    struct io_cond wake;
    struct request *head; /* owned FIFO */
    struct request *tail;
    uint64_t queued_bytes;
    uint64_t next_seq;
    bool stopping;
    int failed;
    bool snap_due; /* log_writer_snapshot_taken: storage_snapshot_taken after the next batch */
    struct craft_snapshot_meta snap;
    struct log_writer_stats stats;
};

void log_writer_config_init(struct log_writer_config *cfg)
{
    cfg->queue_bytes_max = LOG_WRITER_QUEUE_BYTES_DEFAULT;
}

/* The request for out: its entries' headers are copied, their payloads borrowed (in place until
 * the request is reported durable). */
static struct request *request_make(uint64_t group, const struct craft_persist *out)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < out->n_entries; i++) {
        bytes += out->entries[i].data.len;
    }
    struct request *r = craft_malloc(sizeof *r + out->n_entries * sizeof(struct craft_entry));
    if (r == NULL) {
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->group = group;
    r->hs_changed = out->hard_state_changed;
    r->hs = out->hard_state;
    r->snapshot = out->snapshot;
    r->truncate_from = out->truncate_from;
    r->entries = (struct craft_entry *)(r + 1);
    r->n_entries = out->n_entries;
    r->bytes = bytes;
    if (out->n_entries > 0) {
        memcpy(r->entries, out->entries, out->n_entries * sizeof *r->entries);
    }
    return r;
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
            io_cond_wait(&lw->wake, &lw->mu);
        }
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
        lw->head = NULL;
        lw->tail = NULL;
        lw->queued_bytes = 0;
        int rv = lw->failed;
        io_mutex_unlock(&lw->mu);

        uint64_t n_entries = 0;
        uint64_t n_requests = 0;
        uint64_t last_seq = 0;
        if (rv == 0) {
            rv = write_batch(lw->st, batch, &n_entries);
        }
        while (batch != NULL) {
            struct request *next = batch->next;
            last_seq = batch->seq;
            n_requests++;
            craft_free(batch);
            batch = next;
        }
        /* The books are updated before the report, so whoever reacts to it sees them. */
        io_mutex_lock(&lw->mu);
        if (rv != 0) {
            lw->failed = rv;
        } else {
            lw->stats.n_requests += n_requests;
            lw->stats.n_entries += n_entries;
            lw->stats.n_batches++;
        }
        io_mutex_unlock(&lw->mu);
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
    struct request *r = request_make(group, out);
    if (r == NULL) {
        return CRAFT_ENOMEM;
    }
    io_mutex_lock(&lw->mu);
    CRAFT_ASSERT(!lw->stopping);
    int rv = lw->failed;
    if (rv == 0 && lw->head != NULL && lw->queued_bytes + r->bytes > lw->cfg.queue_bytes_max) {
        rv = CRAFT_EBUSY;
    }
    if (rv != 0) {
        io_mutex_unlock(&lw->mu);
        craft_free(r);
        return rv;
    }
    r->seq = lw->next_seq++;
    *seq = r->seq;
    if (lw->tail == NULL) {
        lw->head = r;
    } else {
        lw->tail->next = r;
    }
    lw->tail = r;
    lw->queued_bytes += r->bytes;
    io_cond_signal(&lw->wake);
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
