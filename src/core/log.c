/* The core's in-memory log: entries in one array, payloads packed in refcounted slabs. */
#include "log.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/copy_stats.h"

void log_init(struct log *l)
{
    memset(l, 0, sizeof *l);
    l->slab_bytes = LOG_SLAB_BYTES;
}

/* Gives an unused slab back: a standard one is kept as a spare, so a log that is compacted as
 * fast as it grows reuses the same memory instead of faulting in fresh pages. */
static void slab_recycle(struct log *l, struct log_slab *slab)
{
    if (l->poison) {
        memset(slab->data, 0xA5, slab->used); /* a reader past its ticket sees garbage */
    }
    if (l->n_spares < LOG_SPARE_SLABS && slab->size == l->slab_bytes) {
        l->spares[l->n_spares++] = slab;
        return;
    }
    craft_free(slab);
}

/* Drops n references. A slab nobody in the log uses any more waits, unchanged, while a ticket
 * taken before now is out: its taker may still read payloads in it. */
static void slab_release_n(struct log *l, struct log_slab *slab, uint64_t n)
{
    if (slab == NULL) {
        return;
    }
    CRAFT_ASSERT(slab->refs >= n);
    slab->refs -= n;
    if (slab->refs > 0) {
        return;
    }
#ifndef CRAFT_MUTATION_PAYLOAD_REUSED_EARLY
    if (l->tickets_done < l->tickets_taken) {
        slab->retired_at = l->tickets_taken;
        slab->next_retired = NULL;
        if (l->retired_tail != NULL) {
            l->retired_tail->next_retired = slab;
        } else {
            l->retired_head = slab;
        }
        l->retired_tail = slab;
        return;
    }
#endif
    slab_recycle(l, slab);
}

/* Releases the slabs of the entries at array positions [from, to): one release per run of
 * entries sharing a slab (a slab holds thousands of small payloads), in order, so slabs retire
 * in the order they would entry by entry. */
static void release_range(struct log *l, size_t from, size_t to)
{
    size_t i = from;
    while (i < to) {
        struct log_slab *slab = l->slabs[i];
        size_t j = i + 1;
        while (j < to && l->slabs[j] == slab) {
            j++;
        }
        slab_release_n(l, slab, j - i);
        i = j;
    }
}

uint64_t log_ticket_take(struct log *l)
{
    return ++l->tickets_taken;
}

void log_tickets_done(struct log *l, uint64_t upto)
{
    CRAFT_ASSERT(upto <= l->tickets_taken);
    if (upto <= l->tickets_done) {
        return;
    }
    l->tickets_done = upto;
    while (l->retired_head != NULL && l->retired_head->retired_at <= upto) {
        struct log_slab *slab = l->retired_head;
        l->retired_head = slab->next_retired;
        if (l->retired_head == NULL) {
            l->retired_tail = NULL;
        }
        slab_recycle(l, slab);
    }
}

void log_count_copies(struct log *l)
{
    if (l->bytes_copied > 0) {
        copy_stats_add(COPY_CORE_LOG, l->bytes_copied);
        l->bytes_copied = 0;
    }
}

void log_close(struct log *l)
{
    log_count_copies(l);
    release_range(l, l->start, l->start + l->n);
    slab_release_n(l, l->slab, 1);
    while (l->retired_head != NULL) {
        struct log_slab *next = l->retired_head->next_retired;
        craft_free(l->retired_head);
        l->retired_head = next;
    }
    for (unsigned i = 0; i < l->n_spares; i++) {
        craft_free(l->spares[i]);
    }
    craft_free(l->entries);
    craft_free(l->slabs);
    memset(l, 0, sizeof *l);
}

/* Makes room for one more entry at the back of a full array: slides the live window down when
 * the front has been compacted away, else doubles the arrays. Out of line: append_one's fast
 * path stays small. */
__attribute__((noinline)) static int reserve_one(struct log *l)
{
    if (l->start > 0 && l->n <= l->cap / 4) {
        /* Three quarters of the array are free after a slide: each entry is moved a third of a time
         * on average, for at most four times the live entries in memory. */
        memmove(l->entries, l->entries + l->start, l->n * sizeof *l->entries);
        memmove(l->slabs, l->slabs + l->start, l->n * sizeof *l->slabs);
        l->start = 0;
        return 0;
    }
    size_t cap = l->cap == 0 ? 1024 : l->cap * 2;
    struct craft_entry *entries = craft_realloc(l->entries, cap * sizeof *entries);
    if (entries == NULL) {
        return CRAFT_ENOMEM;
    }
    l->entries = entries;
    struct log_slab **slabs = craft_realloc(l->slabs, cap * sizeof *slabs);
    if (slabs == NULL) {
        return CRAFT_ENOMEM;
    }
    l->slabs = slabs;
    l->cap = cap;
    return 0;
}

/* Starts a new slab with len free bytes, the current one being full (or absent). */
__attribute__((noinline)) static struct log_slab *slab_new(struct log *l, size_t len)
{
    size_t size = len > l->slab_bytes ? len : l->slab_bytes;
    struct log_slab *slab = NULL;
    if (size == l->slab_bytes && l->n_spares > 0) {
        slab = l->spares[--l->n_spares];
    } else {
        slab = craft_malloc(sizeof *slab + size);
        if (slab == NULL) {
            return NULL;
        }
    }
    slab->refs = 1; /* the log's reference while current */
    slab->size = size;
    slab->used = 0;
    slab_release_n(l, l->slab, 1);
    l->slab = slab;
    return slab;
}

/* Appends one entry whose term does not fall: the per-entry work of every append. */
static inline int append_one(struct log *l, craft_term term, uint32_t type, const void *data,
                             size_t len)
{
    if (l->start + l->n == l->cap && reserve_one(l) != 0) {
        return CRAFT_ENOMEM;
    }
    struct log_slab *slab = NULL;
    const void *base = NULL;
    if (len > 0) {
        slab = l->slab;
        if (slab == NULL || slab->size - slab->used < len) {
            slab = slab_new(l, len);
            if (slab == NULL) {
                return CRAFT_ENOMEM;
            }
        }
        unsigned char *dst = slab->data + slab->used;
        memcpy(dst, data, len);
        l->bytes_copied += len;
        slab->used += len;
        slab->refs++;
        base = dst;
    }
    size_t pos = l->start + l->n;
    l->entries[pos] = (struct craft_entry){
        .term = term,
        .index = log_last_index(l) + 1,
        .type = type,
        .data = {.base = base, .len = len},
    };
    l->slabs[pos] = slab;
    l->n++;
    return 0;
}

int log_append(struct log *l, craft_term term, uint32_t type, const void *data, size_t len)
{
    CRAFT_ASSERT(term >= log_last_term(l));
    return append_one(l, term, type, data, len);
}

/* Copies a payload: one of 16 to 64 bytes (a typical command) as up to four 16-byte moves,
 * overlapping, inline; a call to memcpy costs as much again and makes the caller keep its
 * locals in memory. */
static inline void copy_payload(unsigned char *dst, const unsigned char *src, size_t len)
{
    if (len < 16 || len > 64) {
        memcpy(dst, src, len);
        return;
    }
    memcpy(dst, src, 16);
    memcpy(dst + len - 16, src + len - 16, 16);
    if (len > 32) {
        memcpy(dst + 16, src + 16, 16);
        memcpy(dst + len - 32, src + len - 32, 16);
    }
}

/* Appends cmds[i..n) (or entries[i..n) when entries is not NULL) while the array and the
 * current slab have room: the slow paths are left to append_one. The log's fields are kept in
 * locals and stored once: the payload's memcpy could alias them, so the compiler would reload
 * each of them for every entry. Returns the index of the first command not appended. */
static size_t append_run(struct log *l, craft_term term, uint32_t type,
                         const struct craft_buf *cmds, const struct craft_entry *entries, size_t i,
                         size_t n)
{
    struct log_slab *slab = l->slab;
    if (slab == NULL) {
        return i;
    }
    struct craft_entry *dst_entries = l->entries;
    struct log_slab **dst_slabs = l->slabs;
    size_t pos = l->start + l->n;
    size_t pos_end = l->cap;
    unsigned char *dst = slab->data + slab->used;
    size_t room = slab->size - slab->used;
    craft_index index = log_last_index(l);
    craft_term term_last = log_last_term(l);
    uint64_t refs = 0;
    for (; i < n && pos < pos_end; i++) {
        struct craft_buf data = cmds != NULL ? cmds[i] : entries[i].data;
        if (entries != NULL) {
            term = entries[i].term;
            type = entries[i].type;
        }
        if (data.len > room) {
            break;
        }
        CRAFT_ASSERT(term >= term_last);
        term_last = term;
        struct log_slab *holder = NULL;
        const void *base = NULL;
        if (data.len > 0) {
            copy_payload(dst, data.base, data.len);
            base = dst;
            dst += data.len;
            room -= data.len;
            holder = slab;
            refs++;
        }
        dst_entries[pos] = (struct craft_entry){
            .term = term,
            .index = ++index,
            .type = type,
            .data = {.base = base, .len = data.len},
        };
        dst_slabs[pos] = holder;
        pos++;
    }
    l->bytes_copied += (slab->size - slab->used) - room;
    slab->used = slab->size - room;
    slab->refs += refs;
    l->n = pos - l->start;
    return i;
}

int log_append_cmds(struct log *l, craft_term term, uint32_t type, const struct craft_buf *cmds,
                    size_t n, size_t *n_done)
{
    CRAFT_ASSERT(term >= log_last_term(l));
    size_t i = 0;
    int rv = 0;
    while (rv == 0 && (i = append_run(l, term, type, cmds, NULL, i, n)) < n) {
        rv = append_one(l, term, type, cmds[i].base, cmds[i].len); /* a new slab or array */
        i += rv == 0;
    }
    *n_done = i;
    return rv;
}

int log_append_entries(struct log *l, const struct craft_entry *entries, size_t n, size_t *n_done)
{
    size_t i = 0;
    int rv = 0;
    while (rv == 0 && (i = append_run(l, 0, 0, NULL, entries, i, n)) < n) {
        const struct craft_entry *e = &entries[i];
        CRAFT_ASSERT(e->term >= log_last_term(l));
        rv = append_one(l, e->term, e->type, e->data.base, e->data.len); /* a new slab or array */
        i += rv == 0;
    }
    *n_done = i;
    return rv;
}

uint64_t log_bytes(const struct log *l)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < l->n; i++) {
        bytes += l->entries[l->start + i].data.len;
    }
    return bytes;
}

void log_truncate(struct log *l, craft_index from)
{
    CRAFT_ASSERT(from > l->offset);
    CRAFT_ASSERT(from <= log_last_index(l) + 1);
    size_t keep = (size_t)(from - l->offset - 1);
    release_range(l, l->start + keep, l->start + l->n);
    l->n = keep;
    if (l->stable >= from) {
        l->stable = from - 1;
    }
}

void log_start_after(struct log *l, craft_index index, craft_term term)
{
    CRAFT_ASSERT(l->n == 0);
    CRAFT_ASSERT(index >= l->offset);
    l->offset = index;
    l->offset_term = term;
    l->stable = index;
}

void log_compact(struct log *l, craft_index upto)
{
    CRAFT_ASSERT(upto <= log_last_index(l));
    if (upto <= l->offset) {
        return;
    }
    size_t drop = (size_t)(upto - l->offset);
    l->offset_term = log_term_at(l, upto);
    release_range(l, l->start, l->start + drop);
    l->start += drop;
    l->n -= drop;
    l->offset = upto;
    if (l->n == 0) {
        l->start = 0;
    }
}

craft_index log_term_first_index(const struct log *l, craft_index index)
{
    /* Terms never fall along the log: binary-search the first index whose term reaches it. */
    craft_term term = log_term_at(l, index);
    craft_index lo = l->offset + 1;
    craft_index hi = index;
    while (lo < hi) {
        craft_index mid = lo + (hi - lo) / 2;
        if (log_term_at(l, mid) < term) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

craft_index log_term_last_index(const struct log *l, craft_term term)
{
    /* Terms rise along the log, so a binary search finds the last entry with term <= t. */
    craft_index lo = l->offset + 1;
    craft_index hi = log_last_index(l);
    craft_index found = 0;
    while (lo <= hi) {
        craft_index mid = lo + (hi - lo) / 2;
        craft_term t = log_term_at(l, mid);
        if (t <= term) {
            if (t == term) {
                found = mid;
            }
            lo = mid + 1;
        } else {
            if (mid == 0) {
                break;
            }
            hi = mid - 1;
        }
    }
    return found;
}
