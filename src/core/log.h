/* The core's in-memory Raft log: a contiguous array of entries whose payloads live in
 * refcounted slabs, so appending costs one copy into a slab and no allocation per entry.
 * Payloads handed out for work done elsewhere (the log writer, the state machine) are not copied:
 * the taker holds a ticket, and a slab the log no longer uses is kept, unchanged, until every
 * ticket taken before it was dropped is returned (log_ticket_take, log_tickets_done). */
#ifndef CRAFT_CORE_LOG_H
#define CRAFT_CORE_LOG_H

#include "craft/core.h"
#include "util/assert.h"

/* Payloads are packed into slabs of this size (unless the config says otherwise: the simulator
 * draws small ones, so slabs turn over often); a bigger payload gets a slab of its own. */
#define LOG_SLAB_BYTES (256u * 1024u)
/* Freed slabs kept for reuse, so a log compacted as fast as it grows faults in no fresh pages. */
#define LOG_SPARE_SLABS 16u

/* A block of payload bytes shared by the entries that point into it. */
struct log_slab {
    uint64_t refs; /* entries pointing in, plus one while it is the log's current slab */
    struct log_slab *next_retired;
    uint64_t retired_at; /* the last ticket taken when the log dropped it */
    size_t size;
    size_t used;
    unsigned char data[];
};

struct log {
    /* entries[start .. start+n) hold indexes offset+1 .. offset+n. Owned. */
    struct craft_entry *entries;
    struct log_slab **slabs; /* parallel to entries: the slab holding each payload, or NULL */
    size_t start;
    size_t n;
    size_t cap;
    craft_index offset;      /* the last index dropped from the front (compacted), 0 at first */
    craft_term offset_term;  /* the term of that entry */
    craft_index stable;      /* every entry up to here is durable */
    struct log_slab *slab;   /* where the next payload goes; owned (one ref) */
    struct log_slab *spares[LOG_SPARE_SLABS]; /* unused slabs kept for reuse; owned */
    unsigned n_spares;
    uint64_t bytes_copied;   /* copied in since the last log_count_copies */
    uint64_t tickets_taken;  /* the last ticket handed out (from 1) */
    uint64_t tickets_done;   /* every ticket up to here is returned */
    struct log_slab *retired_head; /* dropped slabs a ticket may still read, oldest first; owned */
    struct log_slab *retired_tail;
    size_t slab_bytes;       /* a standard slab's size (log_init: LOG_SLAB_BYTES) */
    bool poison;             /* overwrite a slab's bytes when it is reused or freed (tests) */
};


void log_init(struct log *l);
void log_close(struct log *l);

/* The accessors below are inline: the core is built with -fPIC, where a call to a global
 * function in the same file is not inlined (it could be interposed), and they run several times
 * per entry on the replication path. */

static inline craft_index log_first_index(const struct log *l)
{
    return l->offset + 1;
}

static inline craft_index log_last_index(const struct log *l)
{
    return l->offset + l->n;
}

static inline craft_term log_last_term(const struct log *l)
{
    return l->n > 0 ? l->entries[l->start + l->n - 1].term : l->offset_term;
}

/* The term of the entry at index: 0 for index 0 and for indexes beyond the last;
 * offset_term at the compaction point; 0 below it (unknown). */
static inline craft_term log_term_at(const struct log *l, craft_index index)
{
    if (index == l->offset) {
        return l->offset_term;
    }
    if (index < l->offset || index > log_last_index(l)) {
        return 0;
    }
    return l->entries[l->start + (index - l->offset - 1)].term;
}

/* The entry at index (first <= index <= last), borrowed until the log next changes. */
static inline const struct craft_entry *log_get(const struct log *l, craft_index index)
{
    CRAFT_ASSERT(index > l->offset);
    CRAFT_ASSERT(index <= log_last_index(l));
    return &l->entries[l->start + (index - l->offset - 1)];
}

/* How many entries are held from index to the last one (0 if index > last). */
static inline size_t log_n_from(const struct log *l, craft_index index)
{
    craft_index last = log_last_index(l);
    CRAFT_ASSERT(index > l->offset);
    return index > last ? 0 : (size_t)(last - index + 1);
}

/* Appends one entry at last + 1, copying data. Returns 0 or CRAFT_ENOMEM (log unchanged). */
int log_append(struct log *l, craft_term term, uint32_t type, const void *data, size_t len);

/* Appends n commands of one term and type, copying each, as log_append would one by one; stops
 * at the first failure. Sets *n_done to the number appended. Returns 0 or CRAFT_ENOMEM. */
int log_append_cmds(struct log *l, craft_term term, uint32_t type, const struct craft_buf *cmds,
                    size_t n, size_t *n_done);

/* The same for entries (their terms never falling; their indexes are not read: each gets
 * last + 1). */
int log_append_entries(struct log *l, const struct craft_entry *entries, size_t n, size_t *n_done);

/* The payload bytes the log holds (walks every entry: for tests and diagnostics). */
uint64_t log_bytes(const struct log *l);

/* Adds the payload bytes copied in since the last call to the process's copy statistics: once
 * per step, not per entry (the counter is thread-local, a call per entry showed in profiles). */
void log_count_copies(struct log *l);

/* Drops every entry with index >= from (first <= from <= last + 1). */
void log_truncate(struct log *l, craft_index from);

/* Makes an empty log continue after (index, term): a snapshot's last entry. */
void log_start_after(struct log *l, craft_index index, craft_term term);

/* Drops every entry with index <= upto (upto <= last), remembering its term. */
void log_compact(struct log *l, craft_index upto);

/* A ticket on the payloads handed out so far: they stay valid until it is returned. */
uint64_t log_ticket_take(struct log *l);
/* Every ticket up to upto is returned: slabs dropped while only those were out are reused. */
void log_tickets_done(struct log *l, uint64_t upto);

/* Index of the first entry of the term held at index, scanning back (fast backtracking hint). */
craft_index log_term_first_index(const struct log *l, craft_index index);

/* The last index holding an entry of term, or 0 if the log has none of it. */
craft_index log_term_last_index(const struct log *l, craft_term term);

#endif
