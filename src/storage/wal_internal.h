/* The WAL's state, shared by wal.c (writing, reading) and wal_recovery.c (opening). */
#ifndef CRAFT_STORAGE_WAL_INTERNAL_H
#define CRAFT_STORAGE_WAL_INTERNAL_H

#include <sys/uio.h>

#include "wal.h"

struct wal_segment {
    uint64_t seq;
    struct io_file *file; /* owned; open for the WAL's lifetime */
    uint64_t capacity;    /* preallocated bytes */
    uint64_t used;        /* header plus records written: the next write goes here */
};

/* One segment's bytes as recovery read them: a copy made with pread (never a mapping, so a read
 * error is an error code, not SIGBUS). Owned. */
struct wal_rbuf {
    const unsigned char *base;
    uint64_t size;
};

/* One entry of the batch whose payload is written from where its owner keeps it: the record's
 * header is in the batch buffer at off (and takes WAL_RECORD_HEADER_BYTES there), the payload
 * and pad zero bytes follow it on disk only. before: the external bytes (payloads and padding)
 * of the batch ahead of this record, so its place in the written batch is off + before. */
struct wal_ext {
    size_t off;
    const void *data;
    uint32_t len;
    uint32_t pad;
    uint64_t before;
};

/* Where one live entry is. A pending entry (not yet written) lives in the batch buffer. */
struct wal_loc {
    craft_term term;
    /* In its segment; while pending, in the written batch: the buffer offset of its header plus
     * the external bytes ahead of it (wal_ext.before), so settling it is one subtraction. */
    uint64_t off;
    uint64_t seq; /* segment, or WAL_SEQ_PENDING */
    uint32_t len;
    uint8_t type;
};

#define WAL_SEQ_PENDING UINT64_MAX

/* One Raft group's part of the WAL: its live entries, its newest hard state, what recovery found
 * for it. Created on the group's first record (recovered or written). */
struct wal_group {
    uint64_t id;
    /* Live entries, a ring: index first + i is at wal_loc_at(g, i). cap_locs is 0 or a power
     * of two. A ring, not an array moved down when full: a node drops its log's prefix after
     * each snapshot and goes on appending, and moving the live entries down when full stalled
     * the log writer for 1.1-1.6 ms per million entries. Owned */
    struct wal_loc *locs;
    size_t start; /* slot of index first, < cap_locs */
    size_t n_locs;
    size_t cap_locs;
    craft_index first;

    bool have_hs;               /* a hard-state record of this group was written or recovered */
    struct craft_hard_state hs; /* the newest one (queued, written or recovered) */
    uint64_t hs_seq;            /* the segment holding it, or WAL_SEQ_PENDING */
    uint64_t hs_off;            /* its offset in the batch buffer while pending */
    bool hs_queued;             /* hs waits in the next batch (w->hs_queue) */
    bool in_batch;              /* the group has pending entries in the batch (w->touched) */

    craft_index drop_upto; /* a snapshot covers the group's log up to here (wal_drop_prefix) */
    craft_index committed; /* recovery: entries up to here were durable (its hard state's commit) */
    craft_index covered;   /* recovery: a snapshot covers up to here */

    struct craft_entry *recovered; /* into the WAL's read buffers, until released. Owned */
    size_t n_recovered;
};

struct wal {
    struct io_fs *fs;
    struct wal_config cfg;
    struct wal_segment *segs; /* in seq order; the last one takes writes. Owned */
    size_t n_segs;
    size_t cap_segs;

    struct wal_group **groups; /* sorted by id; each owned */
    size_t n_groups;
    size_t cap_groups;

    uint64_t next_batch;
    /* Encoded records waiting for wal_sync, in batch[batch_start, batch_len). The first
     * batch_head bytes are kept free so that the batch's hard states go in front of its records
     * without moving them. Offsets into it (pending entries, batch_last) count from batch[0].
     * Owned. */
    unsigned char *batch;
    size_t batch_start;
    size_t batch_head;
    size_t batch_len;
    size_t batch_cap;
    size_t batch_last; /* offset of the last record in batch */
    size_t batch_records;
    /* External payloads of the batch (zero-copy), in batch order: each one's record header is in
     * the batch buffer, the payload and its zero padding are written from the caller's memory. */
    struct wal_ext *ext; /* owned */
    size_t n_ext;
    size_t cap_ext;
    uint64_t ext_bytes; /* payload and padding bytes of the batch's external records */
    struct iovec *iov;  /* scratch: one write's pieces. Owned */
    size_t cap_iov;
    struct wal_group **touched; /* groups with pending entries in the batch. Owned */
    size_t n_touched;
    size_t cap_touched;
    struct wal_group **hs_queue; /* groups whose hard state goes at the head of the batch. Owned */
    size_t n_hs_queue;
    size_t cap_hs_queue;

    bool unsynced; /* wal_write wrote a batch that no fdatasync has covered yet */
    bool syncing;  /* between wal_sync_begin and wal_sync_end: its fdatasync may be running */
    uint64_t syncing_seq; /* ... of this segment */
    bool failed;
    char errmsg[256];

    /* Recovery's read buffers, pointed into by the groups' recovered entries until released.
     * Owned. */
    struct wal_rbuf *rbufs;
    size_t n_rbufs;
};

/* wal_group.c */
/* The group with this id, or NULL; the entry of g at index, or NULL outside its live log. */
const struct wal_group *wal_group_get(const struct wal *w, uint64_t id);
const struct wal_loc *wal_group_loc(const struct wal_group *g, craft_index index);

/* The slot of the group's i-th live entry (i < n_locs). */
static inline struct wal_loc *wal_loc_at(const struct wal_group *g, size_t i)
{
    return &g->locs[(g->start + i) & (g->cap_locs - 1)];
}

/* Forgets the group's first n live entries. */
void wal_locs_drop_front(struct wal_group *g, size_t n);

/* wal.c */
int wal_fail(struct wal *w, int rv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The group with this id; with create, made (empty) if there is none: NULL only when out of
 * memory. Without create, NULL when there is none. */
struct wal_group *wal_group_find(struct wal *w, uint64_t id, bool create);
craft_index wal_group_last(const struct wal_group *g);
craft_term wal_group_term_at(const struct wal_group *g, craft_index index);
/* The slot for index, the entry after g's last, for the caller to fill in field by field (not
 * by copying a whole struct: a copy reloads a struct just built with smaller stores, a
 * store-forwarding stall once per entry); NULL when out of memory. */
struct wal_loc *wal_locs_append(struct wal_group *g, craft_index index);
void wal_locs_truncate(struct wal_group *g, craft_index from);
/* Creates segment seq atomically (under a temporary name, header durable, renamed, directory
 * synced) and makes it the one that takes writes; its header says its first record will be of
 * batch first_batch. 0, or CRAFT_EIO / CRAFT_ENOSPC / CRAFT_ENOMEM (the first two fail the WAL
 * for good). */
int wal_segment_create(struct wal *w, uint64_t seq, uint64_t first_batch);
/* Makes room for one more segment in the table: 0 or CRAFT_ENOMEM. */
int wal_segs_reserve(struct wal *w);
void wal_rbuf_release(struct wal *w, struct wal_rbuf *b);
void wal_segment_name(uint64_t seq, char *buf, size_t len);
/* The name a segment is created under before it is renamed to wal_segment_name (+ ".tmp"). */
void wal_segment_tmp_name(uint64_t seq, char *buf, size_t len);
#define WAL_SEGMENT_TMP_SUFFIX ".tmp"

#endif
