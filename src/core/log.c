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

/* Drops one reference. A slab nobody in the log uses any more waits, unchanged, while a ticket
 * taken before now is out: its taker may still read payloads in it. */
static void slab_release(struct log *l, struct log_slab *slab)
{
    if (slab == NULL) {
        return;
    }
    CRAFT_ASSERT(slab->refs > 0);
    slab->refs--;
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

void log_close(struct log *l)
{
    for (size_t i = 0; i < l->n; i++) {
        slab_release(l, l->slabs[l->start + i]);
    }
    slab_release(l, l->slab);
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

craft_index log_first_index(const struct log *l)
{
    return l->offset + 1;
}

craft_index log_last_index(const struct log *l)
{
    return l->offset + l->n;
}

craft_term log_last_term(const struct log *l)
{
    return l->n > 0 ? l->entries[l->start + l->n - 1].term : l->offset_term;
}

craft_term log_term_at(const struct log *l, craft_index index)
{
    if (index == l->offset) {
        return l->offset_term;
    }
    if (index < l->offset || index > log_last_index(l)) {
        return 0;
    }
    return l->entries[l->start + (index - l->offset - 1)].term;
}

const struct craft_entry *log_get(const struct log *l, craft_index index)
{
    CRAFT_ASSERT(index > l->offset);
    CRAFT_ASSERT(index <= log_last_index(l));
    return &l->entries[l->start + (index - l->offset - 1)];
}

size_t log_n_from(const struct log *l, craft_index index)
{
    craft_index last = log_last_index(l);
    CRAFT_ASSERT(index > l->offset);
    return index > last ? 0 : (size_t)(last - index + 1);
}

/* Makes room for one more entry at the back: slides the live window down when the front has
 * been compacted away, else doubles the arrays. */
static int reserve_one(struct log *l)
{
    if (l->start + l->n < l->cap) {
        return 0;
    }
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

/* Returns a slab with len free bytes, starting a new one when the current one is full. */
static struct log_slab *slab_for(struct log *l, size_t len)
{
    if (l->slab != NULL && l->slab->size - l->slab->used >= len) {
        return l->slab;
    }
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
    slab_release(l, l->slab);
    l->slab = slab;
    return slab;
}

int log_append(struct log *l, craft_term term, uint32_t type, const void *data, size_t len)
{
    CRAFT_ASSERT(term >= log_last_term(l));
    int rv = reserve_one(l);
    if (rv != 0) {
        return rv;
    }
    struct log_slab *slab = NULL;
    const void *base = NULL;
    if (len > 0) {
        slab = slab_for(l, len);
        if (slab == NULL) {
            return CRAFT_ENOMEM;
        }
        unsigned char *dst = slab->data + slab->used;
        memcpy(dst, data, len);
        copy_stats_add(COPY_CORE_LOG, len);
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
    l->bytes += len;
    return 0;
}

void log_truncate(struct log *l, craft_index from)
{
    CRAFT_ASSERT(from > l->offset);
    CRAFT_ASSERT(from <= log_last_index(l) + 1);
    size_t keep = (size_t)(from - l->offset - 1);
    for (size_t i = keep; i < l->n; i++) {
        l->bytes -= l->entries[l->start + i].data.len;
        slab_release(l, l->slabs[l->start + i]);
    }
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
    for (size_t i = 0; i < drop; i++) {
        l->bytes -= l->entries[l->start + i].data.len;
        slab_release(l, l->slabs[l->start + i]);
    }
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
