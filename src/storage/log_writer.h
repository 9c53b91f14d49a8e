/* The log writer: two threads per node that make the core's persist outputs, of every Raft
 * group, durable with group commit. Outputs are submitted from any thread and queued (the
 * payloads are borrowed, not copied: they stay in place until reported durable); the writer
 * thread takes everything queued at once, queues every group's log changes and newest hard state
 * into one WAL batch, writes it and syncs once — whatever arrives while that sync runs goes into
 * the next batch, which the encoder thread queues into storage (CRC, headers, index) meanwhile,
 * and which is written only once that sync returned. */
#ifndef CRAFT_STORAGE_LOG_WRITER_H
#define CRAFT_STORAGE_LOG_WRITER_H

#include "craft/types.h"
#include "storage.h"

struct log_writer;

struct log_writer_config {
    /* Submissions are refused with CRAFT_EBUSY while this many payload bytes wait (queued, or
     * taken into the batch not yet written). */
    uint64_t queue_bytes_max;
    /* While a sync runs, a submission wakes the writer to queue what waits into the next batch
     * once this many records wait (a request counts its entries, plus one): the writer's CPU
     * then overlaps the sync, without a wake-up (a system call for the submitter) per
     * submission. At least 1. */
    uint64_t wake_records;
};

#define LOG_WRITER_QUEUE_BYTES_DEFAULT (64u << 20)
#define LOG_WRITER_WAKE_RECORDS_DEFAULT 256u

void log_writer_config_init(struct log_writer_config *cfg);

/* Called on the writer thread after each batch, in order: every request with a sequence number up
 * to seq is durable (status 0), or the batch failed (status < 0, and every later one fails too: the
 * node must stop). Must not call back into the writer. */
typedef void (*log_writer_done_cb)(void *arg, uint64_t seq, int status);

/* Starts the writer thread over st (borrowed; the writer is its only user until stopped).
 * CRAFT_ENOMEM. *out is owned by the caller until log_writer_stop. */
CRAFT_MUST_CHECK int log_writer_start(struct storage *st, const struct log_writer_config *cfg,
                                      log_writer_done_cb cb, void *arg, struct log_writer **out);

/* Queues one persist batch (hard state, truncation, entries: the entries are copied, their
 * payload bytes borrowed until the callback reports the batch durable or failed, or until
 * log_writer_stop returns) and returns its
 * sequence number (from 1, rising) in *seq. Any thread. CRAFT_EBUSY when the queue is full,
 * CRAFT_ENOMEM, or the status of an earlier failed batch. */
CRAFT_MUST_CHECK int log_writer_submit(struct log_writer *lw, const struct craft_persist *out,
                                       uint64_t *seq);
/* log_writer_submit for group (>= 1); log_writer_submit is this for STORAGE_GROUP_DEFAULT.
 * Sequence numbers are one series across groups. */
CRAFT_MUST_CHECK int log_writer_submit_group(struct log_writer *lw, uint64_t group,
                                             const struct craft_persist *out, uint64_t *seq);

/* Tells storage, on the writer's thread after what is queued now is durable, that the snapshot
 * m is durable (storage_snapshot_taken: the log it covers may go). A newer one replaces one not
 * yet handled. A failure there fails the writer (its next report). Any thread. */
void log_writer_snapshot_taken(struct log_writer *lw, const struct craft_snapshot_meta *m);

struct log_writer_stats {
    uint64_t n_requests; /* made durable */
    uint64_t n_batches;  /* WAL syncs */
    uint64_t n_entries;
    uint64_t n_taken; /* requests taken from the queue into a batch (durable, or not yet) */
};

void log_writer_stats(struct log_writer *lw, struct log_writer_stats *out);

/* Writes what is queued, stops the thread and frees the writer. */
void log_writer_stop(struct log_writer *lw);

#endif
