/* Writing and reading the WAL: queue records of any group into a batch (its hard states in
 * front), write the batch at the end of the current segment (rolling to a new preallocated
 * segment when it fills), fdatasync once. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "wal_internal.h"
#include "wal_record.h"

void wal_config_init(struct wal_config *cfg)
{
    cfg->inline_bytes_max = WAL_INLINE_BYTES_MAX_DEFAULT;
    cfg->segment_bytes = WAL_SEGMENT_BYTES_DEFAULT;
}

int wal_fail(struct wal *w, int rv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
    va_end(ap);
    if (rv == CRAFT_EIO || rv == CRAFT_ENOSPC) {
        w->failed = true; /* after a failed write or sync the disk's state is unknown */
    }
    return rv;
}

const char *wal_errmsg(const struct wal *w)
{
    return w->errmsg;
}

void wal_segment_name(uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "wal-%016" PRIx64 ".seg", seq);
}

bool wal_has_pending(const struct wal *w)
{
    return w->batch_len > w->batch_start || w->n_hs_queue > 0;
}

/* Appends g to a list of group pointers (touched, hs_queue). */
static int list_push(struct wal_group ***v, size_t *n, size_t *cap, struct wal_group *g)
{
    if (*n == *cap) {
        size_t c = *cap == 0 ? 8 : *cap * 2;
        struct wal_group **nv = craft_realloc(*v, c * sizeof **v);
        if (nv == NULL) {
            return CRAFT_ENOMEM;
        }
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = g;
    return 0;
}

static int batch_reserve(struct wal *w, size_t more)
{
    if (w->batch_len + more <= w->batch_cap) {
        return 0;
    }
    size_t cap = w->batch_cap == 0 ? 64 * 1024 : w->batch_cap;
    while (cap < w->batch_len + more) {
        cap *= 2;
    }
    unsigned char *batch = craft_realloc(w->batch, cap);
    if (batch == NULL) {
        return CRAFT_ENOMEM;
    }
    w->batch = batch;
    w->batch_cap = cap;
    return 0;
}

static bool external(const struct wal *w, const struct wal_record *r)
{
    return r->kind == WAL_RECORD_ENTRY && r->len > w->cfg.inline_bytes_max;
}

/* Notes that the record whose header is at off has its payload outside the batch buffer. */
static int ext_push(struct wal *w, size_t off, const struct wal_record *r)
{
    void *arr = w->ext;
    if (!craft_grow(&arr, &w->cap_ext, w->n_ext + 1, sizeof *w->ext)) {
        return CRAFT_ENOMEM;
    }
    w->ext = arr;
    uint32_t pad = (uint32_t)(wal_record_size(r->len) - WAL_RECORD_HEADER_BYTES - r->len);
    w->ext[w->n_ext++] = (struct wal_ext){
        .off = off, .data = r->data, .len = r->len, .pad = pad, .before = w->ext_bytes};
    w->ext_bytes += (uint64_t)r->len + pad;
    return 0;
}

/* Queues r in the batch, setting its batch number; *woff is where it will be in the written batch
 * (its buffer offset plus the external bytes ahead of it), the offset a pending entry's wal_loc
 * keeps. r is encoded where the caller built it, not copied first: copying a struct just built
 * with smaller stores reloads it at once, a store-forwarding stall once per record. */
static int batch_add(struct wal *w, struct wal_record *r, uint64_t *woff)
{
    bool ext = external(w, r);
    size_t size = ext ? WAL_RECORD_HEADER_BYTES : wal_record_size(r->len);
    uint64_t written = w->batch_len + w->ext_bytes;
    int rv = batch_reserve(w, size);
    if (rv == 0 && ext) {
        rv = ext_push(w, w->batch_len, r);
    }
    if (rv != 0) {
        return rv;
    }
    r->batch = w->next_batch;
    if (ext) {
        wal_record_encode_header(r, w->batch + w->batch_len);
    } else {
        wal_record_encode(r, w->batch + w->batch_len);
    }
    *woff = written;
    w->batch_last = w->batch_len;
    w->batch_len += size;
    w->batch_records++;
    return 0;
}

/* The group a write goes to, made on its first write: NULL (and the WAL's error set) when out of
 * memory. */
static struct wal_group *group_for_write(struct wal *w, uint64_t group)
{
    struct wal_group *g = wal_group_find(w, group, true);
    if (g == NULL) {
        wal_fail(w, CRAFT_ENOMEM, "out of memory for group %" PRIu64, group);
    }
    return g;
}

int wal_append_group(struct wal *w, uint64_t group, const struct craft_entry *entries, size_t n)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    if (n == 0) {
        return 0;
    }
    struct wal_group *g = group_for_write(w, group);
    if (g == NULL) {
        return CRAFT_ENOMEM;
    }
    if (!g->in_batch) {
        int rv = list_push(&w->touched, &w->n_touched, &w->cap_touched, g);
        if (rv != 0) {
            return rv;
        }
        g->in_batch = true;
    }
    for (size_t i = 0; i < n; i++) {
        const struct craft_entry *e = &entries[i];
        if (g->n_locs > 0 && e->index != wal_group_last(g) + 1) {
            return wal_fail(w, CRAFT_EINVAL,
                            "group %" PRIu64 ": append of index %" PRIu64 " after %" PRIu64, group,
                            e->index, wal_group_last(g));
        }
        if (e->data.len > WAL_RECORD_DATA_MAX) {
            return wal_fail(w, CRAFT_ETOOBIG, "entry %" PRIu64 " has %zu bytes", e->index,
                            e->data.len);
        }
        if (e->index == 0 || e->term == 0) {
            return wal_fail(w, CRAFT_EINVAL, "entry with index or term 0");
        }
        struct wal_record r = {
            .kind = WAL_RECORD_ENTRY,
            .entry_type = (uint8_t)e->type,
            .len = (uint32_t)e->data.len,
            .group = group,
            .term = e->term,
            .index = e->index,
            .data = e->data.base,
        };
        /* The index's slot first: its only failure leaves nothing to undo. */
        struct wal_loc *loc = wal_locs_append(g, e->index);
        if (loc == NULL) {
            return CRAFT_ENOMEM;
        }
        uint64_t off;
        int rv = batch_add(w, &r, &off);
        if (rv != 0) {
            wal_locs_truncate(g, e->index); /* the slot goes back */
            return rv;
        }
        loc->term = e->term;
        loc->off = off;
        loc->seq = WAL_SEQ_PENDING;
        loc->len = r.len;
        loc->type = r.entry_type;
    }
    return 0;
}

int wal_append(struct wal *w, const struct craft_entry *entries, size_t n)
{
    return wal_append_group(w, WAL_GROUP_DEFAULT, entries, n);
}

int wal_truncate_group(struct wal *w, uint64_t group, craft_index from)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    struct wal_group *g = wal_group_find(w, group, false);
    if (g == NULL || g->n_locs == 0) {
        return 0; /* nothing to drop (the suffix was appended and taken back in one core step) */
    }
    if (from < g->first || from > wal_group_last(g) + 1) {
        return wal_fail(w, CRAFT_EINVAL,
                        "group %" PRIu64 ": truncate from %" PRIu64 " outside [%" PRIu64
                        ", %" PRIu64 "]",
                        group, from, g->first, wal_group_last(g) + 1);
    }
    struct wal_record r = {.kind = WAL_RECORD_TRUNCATE, .group = group, .index = from};
    uint64_t off;
    int rv = batch_add(w, &r, &off);
    if (rv != 0) {
        return rv;
    }
    wal_locs_truncate(g, from);
    return 0;
}

int wal_truncate(struct wal *w, craft_index from)
{
    return wal_truncate_group(w, WAL_GROUP_DEFAULT, from);
}

int wal_save_hard_state_group(struct wal *w, uint64_t group, const struct craft_hard_state *hs)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    struct wal_group *g = group_for_write(w, group);
    if (g == NULL) {
        return CRAFT_ENOMEM;
    }
    if (!g->hs_queued) {
        int rv = list_push(&w->hs_queue, &w->n_hs_queue, &w->cap_hs_queue, g);
        if (rv != 0) {
            return rv;
        }
        g->hs_queued = true;
    }
    g->have_hs = true;
    g->hs = *hs;
    g->hs_seq = WAL_SEQ_PENDING;
    return 0;
}

int wal_segs_reserve(struct wal *w)
{
    if (w->n_segs < w->cap_segs) {
        return 0;
    }
    size_t cap = w->cap_segs == 0 ? 8 : w->cap_segs * 2;
    struct wal_segment *segs = craft_realloc(w->segs, cap * sizeof *segs);
    if (segs == NULL) {
        return CRAFT_ENOMEM;
    }
    w->segs = segs;
    w->cap_segs = cap;
    return 0;
}

void wal_segment_tmp_name(uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "wal-%016" PRIx64 ".seg" WAL_SEGMENT_TMP_SUFFIX, seq);
}

/* Creation is atomic (docs/DISK_FORMAT.md, "Segment life cycle"): the segment is preallocated,
 * given its header and fdatasynced under a temporary name, and only then renamed to its final
 * name. So a segment under its final name always had a durable header, and recovery can call a
 * bad one damage: a header destroyed after it was durable (a misdirected write of the first
 * record lands on it) looks exactly like a creation cut short, which now leaves only a `.tmp`.
 * The header also names the batch of the segment's first record, so a misdirected batch landing
 * on the first record's place is found even where no record comes before it. */
int wal_segment_create(struct wal *w, uint64_t seq, uint64_t first_batch)
{
    char name[IO_FS_NAME_MAX];
    char tmp[IO_FS_NAME_MAX];
    wal_segment_name(seq, name, sizeof name);
    wal_segment_tmp_name(seq, tmp, sizeof tmp);
    int rv = wal_segs_reserve(w);
    if (rv != 0) {
        return rv;
    }
    /* The rename would replace a segment of that name: there must be none (the writer creates
     * the one after the last; recovery removed every leftover `.tmp`). */
    struct io_file *f;
    rv = io_fs_open(w->fs, name, 0, &f);
    if (rv == 0) {
        io_fs_close(w->fs, f);
        return wal_fail(w, CRAFT_EIO, "create %s: it exists already", name);
    }
    if (rv != CRAFT_ENOTFOUND) {
        return wal_fail(w, rv == CRAFT_ENOMEM ? rv : CRAFT_EIO, "create %s: %s", name,
                        craft_strerror(rv));
    }
    rv = io_fs_open(w->fs, tmp, IO_FS_CREATE | IO_FS_EXCL, &f);
    if (rv != 0) {
        return wal_fail(w, rv == CRAFT_ENOMEM ? rv : CRAFT_EIO, "create %s: %s", tmp,
                        craft_strerror(rv));
    }
    unsigned char header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(seq, first_batch, header);
    rv = io_fs_fallocate(w->fs, f, w->cfg.segment_bytes);
    if (rv == 0) {
        rv = io_fs_pwrite(w->fs, f, header, sizeof header, 0);
    }
    if (rv == 0) {
        rv = io_fs_fdatasync(w->fs, f);
    }
    if (rv == 0) {
        rv = io_fs_rename(w->fs, tmp, name); /* the open handle follows the file */
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(w->fs); /* the name is durable before any record goes in */
    }
    if (rv != 0) {
        io_fs_close(w->fs, f);
        return wal_fail(w, rv == CRAFT_ENOSPC ? rv : CRAFT_EIO, "create %s: %s", name,
                        craft_strerror(rv));
    }
    w->segs[w->n_segs++] = (struct wal_segment){
        .seq = seq,
        .file = f,
        .capacity = w->cfg.segment_bytes,
        .used = WAL_SEGMENT_HEADER_BYTES,
    };
    return 0;
}

/* A run of the batch's records that goes into one segment with one write: buffer bytes
 * [pos, pos + span) with the external records [k, k_end), len bytes once written. */
struct chunk {
    size_t pos;
    size_t span;
    size_t k;
    size_t k_end;
    uint64_t len;
};

static bool is_ext(const struct wal *w, size_t k, size_t off)
{
    return k < w->n_ext && w->ext[k].off == off;
}

/* The records from pos (external ones from k) that fit in `room` bytes of a segment. */
static void batch_fit(const struct wal *w, size_t pos, size_t k, uint64_t room, struct chunk *c)
{
    /* Most batches fit whole: then there is no walk over every record (thousands, for a batch of
     * small records). */
    uint64_t rest =
        (w->batch_len - pos) + w->ext_bytes - (k < w->n_ext ? w->ext[k].before : w->ext_bytes);
    if (rest <= room) {
        *c = (struct chunk){.pos = pos, .span = w->batch_len - pos, .k_end = w->n_ext, .len = rest};
        return;
    }
    size_t end = pos;
    uint64_t len = 0;
    while (end < w->batch_len) {
        size_t size = wal_record_size(get_u32le(w->batch + end + 4));
        if (len + size > room) {
            break;
        }
        bool ext = is_ext(w, k, end);
        len += size;
        end += ext ? WAL_RECORD_HEADER_BYTES : size;
        k += ext;
    }
    *c = (struct chunk){.pos = pos, .span = end - pos, .k_end = k, .len = len};
}

/* The first external record at or after buffer offset off (n_ext: none). */
static size_t ext_from(const struct wal *w, size_t off)
{
    size_t lo = 0;
    size_t hi = w->n_ext;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->ext[mid].off < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Where the record whose header is at buffer offset off lies in the written batch (counting
 * from the buffer's start): off plus the external bytes of the records before it. */
static uint64_t written_at(const struct wal *w, size_t off)
{
    size_t k = ext_from(w, off);
    return off + (k < w->n_ext ? w->ext[k].before : w->ext_bytes);
}

/* Points the pending entries and hard states of chunk c at their place on disk. A pending
 * entry's offset is already its place in the written batch, so this is one subtraction each. */
static void locs_settle(struct wal *w, const struct chunk *c, const struct wal_segment *seg)
{
    uint64_t base = written_at(w, c->pos);
    for (size_t t = 0; t < w->n_touched; t++) {
        struct wal_group *g = w->touched[t];
        for (size_t i = g->n_locs; i > 0; i--) {
            struct wal_loc *loc = wal_loc_at(g, i - 1);
            if (loc->seq != WAL_SEQ_PENDING) {
                break; /* pending entries are the newest ones */
            }
            if (loc->off >= base && loc->off < base + c->len) {
                loc->off = seg->used + (loc->off - base);
                loc->seq = seg->seq;
            }
        }
    }
    for (size_t q = 0; q < w->n_hs_queue; q++) {
        struct wal_group *g = w->hs_queue[q];
        if (g->hs_seq == WAL_SEQ_PENDING && g->hs_off >= c->pos && g->hs_off < c->pos + c->span) {
            g->hs_seq = seg->seq;
        }
    }
}

/* The pieces of chunk c in write order: runs of the buffer, and each external record's payload
 * and zero padding where they go. In w->iov; 0 or CRAFT_ENOMEM. */
static int chunk_iov(struct wal *w, const struct chunk *c, int *n_iov)
{
    static const unsigned char zeros[WAL_RECORD_ALIGN];
    size_t need = 3 * (c->k_end - c->k) + 1;
    void *arr = w->iov;
    if (!craft_grow(&arr, &w->cap_iov, need, sizeof *w->iov)) {
        return CRAFT_ENOMEM;
    }
    w->iov = arr;
    int n = 0;
    size_t from = c->pos;
    for (size_t k = c->k; k < c->k_end; k++) {
        const struct wal_ext *e = &w->ext[k];
        size_t head_end = e->off + WAL_RECORD_HEADER_BYTES;
        w->iov[n++] = (struct iovec){w->batch + from, head_end - from};
        w->iov[n++] = (struct iovec){(void *)e->data, e->len};
        if (e->pad > 0) {
            w->iov[n++] = (struct iovec){(void *)zeros, e->pad};
        }
        from = head_end;
    }
    if (from < c->pos + c->span) {
        w->iov[n++] = (struct iovec){w->batch + from, c->pos + c->span - from};
    }
    *n_iov = n;
    return 0;
}

static int write_chunk(struct wal *w, struct wal_segment *seg, const struct chunk *c)
{
    int n_iov = 0;
    int rv = chunk_iov(w, c, &n_iov);
    if (rv != 0) {
        return wal_fail(w, rv, "out of memory for a write's pieces");
    }
    rv = io_fs_pwritev(w->fs, seg->file, w->iov, n_iov, seg->used);
    if (rv != 0) {
        return wal_fail(w, rv == CRAFT_ENOSPC ? rv : CRAFT_EIO,
                        "write of %" PRIu64 " bytes to segment %" PRIu64 " at %" PRIu64 ": %s",
                        c->len, seg->seq, seg->used, craft_strerror(rv));
    }
    locs_settle(w, c, seg);
    seg->used += c->len;
    return 0;
}

/* Makes room for `need` bytes before the batch's first record: the room kept free at the head of
 * the buffer is grown (the records and the pending entries' offsets moved once), and kept that
 * large for the batches after, so in the steady state nothing is moved. */
static int head_grow(struct wal *w, size_t need)
{
    size_t head = need > 2 * w->batch_head ? need : 2 * w->batch_head;
    size_t delta = head - w->batch_start;
    size_t used = w->batch_len - w->batch_start;
    int rv = batch_reserve(w, delta);
    if (rv != 0) {
        return rv;
    }
    w->batch_head = head;
    memmove(w->batch + head, w->batch + w->batch_start, used);
    for (size_t t = 0; t < w->n_touched; t++) {
        struct wal_group *g = w->touched[t];
        for (size_t i = g->n_locs; i > 0 && wal_loc_at(g, i - 1)->seq == WAL_SEQ_PENDING; i--) {
            wal_loc_at(g, i - 1)->off += delta;
        }
    }
    for (size_t k = 0; k < w->n_ext; k++) {
        w->ext[k].off += delta;
    }
    w->batch_last += delta;
    w->batch_start = head;
    w->batch_len = head + used;
    return 0;
}

/* Puts the queued hard states at the head of the batch, ahead of every entry and truncation
 * (docs/DISK_FORMAT.md, "Hard state"): any prefix of the batch that a crash leaves holding an
 * entry then holds the hard state of its term too. They go into the room kept free before the
 * first record, so the batch's bytes are not copied again. */
static int hs_prepend(struct wal *w)
{
    size_t rec = wal_record_size(WAL_HARD_STATE_PAYLOAD);
    size_t shift = w->n_hs_queue * rec;
    if (shift > w->batch_start) {
        int rv = head_grow(w, shift);
        if (rv != 0) {
            return rv;
        }
    }
    bool records = w->batch_len > w->batch_start;
    size_t base = w->batch_start - shift;
    for (size_t q = 0; q < w->n_hs_queue; q++) {
        struct wal_group *g = w->hs_queue[q];
        CRAFT_ASSERT(g->have_hs);
        unsigned char vote[WAL_HARD_STATE_PAYLOAD];
        put_u64le(vote, g->hs.vote);
        struct wal_record r = {.kind = WAL_RECORD_HARD_STATE,
                               .len = WAL_HARD_STATE_PAYLOAD,
                               .batch = w->next_batch,
                               .group = g->id,
                               .term = g->hs.term,
                               .index = g->hs.commit,
                               .data = vote};
        wal_record_encode(&r, w->batch + base + q * rec);
        g->hs_off = base + q * rec;
        g->hs_seq = WAL_SEQ_PENDING;
    }
    if (!records) {
        w->batch_last = base + shift - rec;
    }
    w->batch_start = base;
    w->batch_records += w->n_hs_queue;
    CRAFT_ASSERT(w->batch_last >= w->batch_start);
    CRAFT_ASSERT(w->batch_last < w->batch_len);
    return 0;
}

/* The batch is written: nothing in it is pending any more. */
static void batch_done(struct wal *w)
{
    for (size_t t = 0; t < w->n_touched; t++) {
        w->touched[t]->in_batch = false;
    }
    for (size_t q = 0; q < w->n_hs_queue; q++) {
        CRAFT_ASSERT(w->hs_queue[q]->hs_seq != WAL_SEQ_PENDING);
        w->hs_queue[q]->hs_queued = false;
    }
    w->n_touched = 0;
    w->n_hs_queue = 0;
    w->n_ext = 0;
    w->ext_bytes = 0;
    w->batch_len = w->batch_start = w->batch_head;
    w->batch_records = 0;
}

/* An fdatasync's result: a failure fails the WAL for good (the page cache may have dropped the
 * unsynced pages, so nothing written since the last good sync may be called durable). */
static int synced(struct wal *w, uint64_t seq, int rv)
{
    if (rv != 0) {
        return wal_fail(w, CRAFT_EIO, "fdatasync of segment %" PRIu64 ": %s", seq,
                        craft_strerror(rv));
    }
    return 0;
}

static int sync_segment(struct wal *w, struct wal_segment *seg)
{
    return synced(w, seg->seq, io_fs_fdatasync(w->fs, seg->file));
}

int wal_write(struct wal *w)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    /* Each written batch gets a sync that starts after its write: never write during one. */
    CRAFT_ASSERT(!w->syncing);
    if (!wal_has_pending(w)) {
        return 0;
    }
    if (w->n_hs_queue > 0) {
        int rv = hs_prepend(w);
        if (rv != 0) {
            return wal_fail(w, rv, "out of memory for the batch's hard states");
        }
    }
    wal_record_set_flags(w->batch + w->batch_last, WAL_FLAG_BATCH_END);
    size_t pos = w->batch_start;
    size_t k = 0;
    int rv = 0;
    while (pos < w->batch_len) {
        struct wal_segment *seg = &w->segs[w->n_segs - 1];
        struct chunk c;
        batch_fit(w, pos, k, seg->capacity - seg->used, &c);
        if (c.len == 0 && seg->used == WAL_SEGMENT_HEADER_BYTES) {
            /* One record bigger than a whole segment: this empty segment grows to hold it. */
            uint64_t capacity =
                WAL_SEGMENT_HEADER_BYTES + wal_record_size(get_u32le(w->batch + pos + 4));
            rv = io_fs_fallocate(w->fs, seg->file, capacity);
            if (rv != 0) {
                return wal_fail(w, rv == CRAFT_ENOSPC ? rv : CRAFT_EIO,
                                "growing segment %" PRIu64 ": %s", seg->seq, craft_strerror(rv));
            }
            seg->capacity = capacity;
            batch_fit(w, pos, k, seg->capacity - seg->used, &c);
        }
        if (c.len == 0) {
            /* The segment is full: make what went in durable, then move to a new one, whose first
             * record is of this batch. */
            rv = sync_segment(w, seg);
            if (rv == 0) {
                rv = wal_segment_create(w, seg->seq + 1, w->next_batch);
            }
            if (rv != 0) {
                return rv;
            }
            continue;
        }
        c.k = k;
        rv = write_chunk(w, seg, &c);
        if (rv != 0) {
            return rv;
        }
        pos += c.span;
        k = c.k_end;
    }
    batch_done(w);
    w->next_batch++;
    w->unsynced = true;
    return 0;
}

struct io_file *wal_sync_begin(struct wal *w)
{
    CRAFT_ASSERT(!w->syncing);
    if (w->failed || !w->unsynced) {
        return NULL;
    }
    /* Earlier segments of the batch were synced as it left them: the last one is all that is
     * left. */
    w->syncing = true;
    w->syncing_seq = w->segs[w->n_segs - 1].seq;
    return w->segs[w->n_segs - 1].file;
}

int wal_sync_end(struct wal *w, int rv)
{
    CRAFT_ASSERT(w->syncing);
    CRAFT_ASSERT(w->unsynced);
    w->syncing = false;
    rv = synced(w, w->syncing_seq, rv);
    if (rv == 0) {
        w->unsynced = false;
    }
    return rv;
}

int wal_sync(struct wal *w)
{
    int rv = wal_write(w);
    if (rv != 0) {
        return rv;
    }
    struct io_file *f = wal_sync_begin(w);
    return f == NULL ? 0 : wal_sync_end(w, io_fs_fdatasync(w->fs, f));
}

/* A pending record (at offset woff of the written batch, size bytes once written) as it will be
 * on disk. */
static void pending_copy(const struct wal *w, uint64_t woff, size_t size, unsigned char *buf)
{
    /* The first external record at or after woff in the written batch. */
    size_t lo = 0;
    size_t hi = w->n_ext;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->ext[mid].off + w->ext[mid].before < woff) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < w->n_ext && w->ext[lo].off + w->ext[lo].before == woff) {
        const struct wal_ext *e = &w->ext[lo];
        CRAFT_ASSERT(size == WAL_RECORD_HEADER_BYTES + (size_t)e->len + e->pad);
        memcpy(buf, w->batch + e->off, WAL_RECORD_HEADER_BYTES);
        memcpy(buf + WAL_RECORD_HEADER_BYTES, e->data, e->len);
        memset(buf + WAL_RECORD_HEADER_BYTES + e->len, 0, e->pad);
        return;
    }
    size_t off = (size_t)(woff - (lo < w->n_ext ? w->ext[lo].before : w->ext_bytes));
    CRAFT_ASSERT(off >= w->batch_start);
    CRAFT_ASSERT(off + size <= w->batch_len);
    memcpy(buf, w->batch + off, size);
}

static struct wal_segment *segment_of(struct wal *w, uint64_t seq)
{
    /* Segments are sorted by seq and few: a binary search is plenty. */
    size_t lo = 0;
    size_t hi = w->n_segs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->segs[mid].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < w->n_segs && w->segs[lo].seq == seq ? &w->segs[lo] : NULL;
}

int wal_read_group(struct wal *w, uint64_t group, craft_index index, struct craft_entry *out,
                   void *buf, size_t buf_len)
{
    const struct wal_group *g = wal_group_get(w, group);
    if (g != NULL && g->n_locs > 0 && index < g->first) {
        return CRAFT_ECOMPACTED;
    }
    const struct wal_loc *loc = wal_group_loc(g, index);
    if (loc == NULL) {
        return CRAFT_EINVAL;
    }
    size_t size = wal_record_size(loc->len);
    out->index = index;
    out->term = loc->term;
    out->type = loc->type;
    out->data.len = size;
    if (buf_len < size) {
        return CRAFT_ETOOBIG;
    }
    if (loc->seq == WAL_SEQ_PENDING) {
        pending_copy(w, loc->off, size, buf);
    } else {
        struct wal_segment *seg = segment_of(w, loc->seq);
        CRAFT_ASSERT(seg != NULL);
        size_t n_read;
        int rv = io_fs_pread(w->fs, seg->file, buf, size, loc->off, &n_read);
        if (rv != 0 || n_read != size) {
            return wal_fail(w, CRAFT_EIO, "read of entry %" PRIu64 ": %s", index,
                            rv != 0 ? craft_strerror(rv) : "short read");
        }
    }
    struct wal_record r;
    size_t got;
    if (wal_record_decode(buf, size, &r, &got) != WAL_DECODE_OK || r.index != index ||
        r.term != loc->term || r.kind != WAL_RECORD_ENTRY || r.group != group) {
        return wal_fail(w, CRAFT_ECORRUPT,
                        "group %" PRIu64 " entry %" PRIu64 " in segment %" PRIu64
                        " at offset %" PRIu64 " fails its checksum",
                        group, index, loc->seq, loc->off);
    }
    memmove(buf, r.data, r.len);
    out->data.base = buf;
    out->data.len = r.len;
    return 0;
}

int wal_read(struct wal *w, craft_index index, struct craft_entry *out, void *buf, size_t buf_len)
{
    return wal_read_group(w, WAL_GROUP_DEFAULT, index, out, buf, buf_len);
}

void wal_rbuf_release(struct wal *w, struct wal_rbuf *b)
{
    (void)w;
    craft_free((void *)b->base);
    *b = (struct wal_rbuf){0};
}

void wal_recovered_release(struct wal *w)
{
    for (size_t i = 0; i < w->n_rbufs; i++) {
        wal_rbuf_release(w, &w->rbufs[i]);
    }
    craft_free(w->rbufs);
    w->rbufs = NULL;
    w->n_rbufs = 0;
    for (size_t i = 0; i < w->n_groups; i++) {
        craft_free(w->groups[i]->recovered);
        w->groups[i]->recovered = NULL;
        w->groups[i]->n_recovered = 0;
    }
}

void wal_close(struct wal *w)
{
    if (w == NULL) {
        return;
    }
    CRAFT_ASSERT(!w->syncing); /* the file must outlive its fdatasync */
    wal_recovered_release(w);
    for (size_t i = 0; i < w->n_segs; i++) {
        io_fs_close(w->fs, w->segs[i].file);
    }
    for (size_t i = 0; i < w->n_groups; i++) {
        craft_free(w->groups[i]->locs);
        craft_free(w->groups[i]);
    }
    craft_free(w->groups);
    craft_free(w->touched);
    craft_free(w->hs_queue);
    craft_free(w->segs);
    craft_free(w->batch);
    craft_free(w->ext);
    craft_free(w->iov);
    craft_free(w);
}
