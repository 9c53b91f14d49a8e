/* The simulated durable store of one node: durable hard state and log (hashes: what the checks
 * compare, not the payloads, so a long run stays small), and the
 * FIFO of pending writes, one per step that had something to persist. A write completes after a
 * random latency, in FIFO order; a crash loses pending writes except a random prefix that reached
 * the disk, the first lost one possibly torn (hard state, truncation, a prefix of its entries).
 * A write also carries the step's msgs_after_persist, sent only when it completes. */
#ifndef SIM_DISK_H
#define SIM_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "sim_network.h"
#include "util/prng.h"

struct sim_disk_ent {
    craft_term term;
    uint32_t type;
    uint64_t data_hash;
    uint64_t prefix; /* hash of the durable log up to and including this entry */
    size_t len;
};

struct sim_disk_write {
    struct sim_disk_write *next;
    uint64_t seq;   /* the node's number for this submission (node_on_durable) */
    uint64_t batch; /* the group-commit batch it is written in */
    bool hs_changed;
    struct craft_hard_state hs;
    struct craft_persist_snapshot snapshot; /* an installed snapshot's effect on the log */
    craft_index truncate_from;
    /* Owned. While borrowed, the payloads are the node's (zero-copy: the node keeps them in
     * place until the write is reported durable) and payload_hash is what they held when
     * queued; sim_disk_write_own copies them, checking they still hold it. */
    struct craft_entry *entries;
    size_t n_entries;
    bool borrowed;
    uint64_t payload_hash;
};

struct sim_disk;

/* Told of every change of the durable log, for the incremental committed_durable check. */
struct sim_disk_observer {
    void *ctx;
    /* Before entries [from, n_log] are dropped. */
    void (*truncate)(void *ctx, const struct sim_disk *d, craft_index from);
    /* After entry index was appended. */
    void (*append)(void *ctx, const struct sim_disk *d, craft_index index);
    /* Before the durable hard state changes from d->hs to *hs. */
    void (*hard_state)(void *ctx, const struct sim_disk *d, const struct craft_hard_state *hs);
    /* The committed entry at index (1 <= index <= what was committed), as the model holds it. */
    void (*committed)(void *ctx, craft_index index, struct sim_disk_ent *out);
};

struct sim_disk {
    craft_id id;
    struct craft_hard_state hs;
    struct sim_disk_ent *log; /* owned; log[i - 1] holds index i */
    size_t n_log;
    size_t cap_log;
    /* Leading entries the real storage gave back equal at the last restart and not truncated
     * since: a restart compares their terms only, not their data (tests/sim/README.md). */
    size_t n_verified;
    /* The newest durable snapshot file: it covers the log up to snap_index, so the model's
     * entries up to there are the committed ones whatever the WAL holds (sim_disk_cover). */
    craft_index snap_index;
    craft_term snap_term;
    /* What the real WAL holds at snap_index (0: nothing), and whether it starts right after it
     * (emptied by an install, then appended from snap_index + 1). Recovery keeps the WAL's
     * entries after the snapshot only when one of the two says they continue it
     * (docs/DISK_FORMAT.md), so the model counts an entry past snap_index durable only then:
     * writes queued before the snapshot may still land entries of a log that diverged there. */
    craft_term wal_snap_term;
    bool wal_after_snap;
    bool wal_emptied;
    struct sim_disk_write *head; /* owned FIFO */
    struct sim_disk_write *tail;
    size_t n_pending;
    /* Group commit, as the log writer does it: the batch being written (0: the disk is idle)
     * holds every write queued before it started; writes queued meanwhile form the next. */
    uint64_t batch_inflight;
    /* Writes whose borrowed payloads changed before they were written (check payload_reused). */
    uint64_t n_payloads_changed;
};

void sim_disk_init(struct sim_disk *d, craft_id id);
void sim_disk_close(struct sim_disk *d);

/* Queues p (hard state, snapshot effect, truncation, entries: copied) as submission seq.
 * Returns the write; *starts is set when it starts a batch (the disk was idle): the caller then
 * schedules that batch's completion. */
struct sim_disk_write *sim_disk_queue(struct sim_disk *d, const struct craft_persist *p,
                                      uint64_t seq, bool *starts);
/* Takes the oldest pending write if it belongs to the batch in flight, else NULL (the caller
 * applies and frees it). */
/* Makes w's payloads its own (a copy), counting in d->n_payloads_changed when the node changed
 * them since they were queued. Before the node goes (a crash), for every pending write. */
void sim_disk_write_own(struct sim_disk *d, struct sim_disk_write *w);
void sim_disk_own_pending(struct sim_disk *d);
/* Pops the next write of the batch in flight, its payloads made its own. */
struct sim_disk_write *sim_disk_pop_batch(struct sim_disk *d);
/* The batch in flight is done: the next one (the writes queued meanwhile) starts if there is
 * one; returns whether it did. */
bool sim_disk_next_batch(struct sim_disk *d);
void sim_disk_apply(struct sim_disk *d, const struct sim_disk_write *w,
                    const struct sim_disk_observer *obs);
void sim_disk_write_free(struct sim_disk_write *w);

struct sim_disk_crash_report {
    uint64_t lost;    /* pending writes */
    uint64_t reached; /* of them, applied whole */
    uint64_t torn;    /* 1 when the next one was applied in part */
};

/* Loses the pending writes: when torn is set a random prefix reaches the disk whole and the next
 * one in part. Their messages are never sent. */
void sim_disk_crash(struct sim_disk *d, struct prng *rng, bool torn,
                    const struct sim_disk_observer *obs, struct sim_disk_crash_report *rep);

/* A snapshot of (index, term) became durable: the model's log up to index becomes the committed
 * one (through the observer), keeping what follows when it already agreed up to there. The WAL
 * can no longer change what it covers. */
void sim_disk_cover(struct sim_disk *d, craft_index index, craft_term term,
                    const struct sim_disk_observer *obs);

/* Makes the model hold what the real storage recovered (hard state, and the log after the
 * snapshot at base, which the model covers already), through the observer so the checks see
 * every change; the first n_verified entries are compared by term. Returns how many leading
 * entries were already equal. */
size_t sim_disk_adopt(struct sim_disk *d, const struct craft_hard_state *hs, craft_index base,
                      const struct craft_entry *entries, size_t n,
                      const struct sim_disk_observer *obs);

#endif
