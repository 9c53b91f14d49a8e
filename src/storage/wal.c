/* Writing and reading the WAL: queue records into a batch, write the batch at the end of the
 * current segment (rolling to a new preallocated segment when it fills), fdatasync once. */
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

craft_index wal_first_index(const struct wal *w)
{
    return w->n_locs > 0 ? w->first : 0;
}

craft_index wal_last_index(const struct wal *w)
{
    return w->n_locs > 0 ? w->first + w->n_locs - 1 : 0;
}

static const struct wal_loc *loc_of(const struct wal *w, craft_index index)
{
    if (w->n_locs == 0 || index < w->first || index > wal_last_index(w)) {
        return NULL;
    }
    return &w->locs[w->start + (index - w->first)];
}

craft_term wal_term_at(const struct wal *w, craft_index index)
{
    const struct wal_loc *loc = loc_of(w, index);
    return loc != NULL ? loc->term : 0;
}

bool wal_has_pending(const struct wal *w)
{
    return w->batch_len > 0;
}

int wal_locs_push(struct wal *w, craft_index index, const struct wal_loc *loc)
{
    if (w->n_locs == 0) {
        w->first = index;
        w->start = 0;
    }
    CRAFT_ASSERT(index == w->first + w->n_locs);
    if (w->start + w->n_locs == w->cap_locs) {
        if (w->start > 0) {
            memmove(w->locs, w->locs + w->start, w->n_locs * sizeof *w->locs);
            w->start = 0;
        } else {
            size_t cap = w->cap_locs == 0 ? 1024 : w->cap_locs * 2;
            struct wal_loc *locs = craft_realloc(w->locs, cap * sizeof *locs);
            if (locs == NULL) {
                return CRAFT_ENOMEM;
            }
            w->locs = locs;
            w->cap_locs = cap;
        }
    }
    w->locs[w->start + w->n_locs++] = *loc;
    return 0;
}

void wal_locs_truncate(struct wal *w, craft_index from)
{
    if (w->n_locs == 0 || from > wal_last_index(w)) {
        return;
    }
    w->n_locs = from <= w->first ? 0 : (size_t)(from - w->first);
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

static int batch_add(struct wal *w, const struct wal_record *r, uint64_t *off)
{
    size_t size = wal_record_size(r->len);
    int rv = batch_reserve(w, size);
    if (rv != 0) {
        return rv;
    }
    struct wal_record rec = *r;
    rec.batch = w->next_batch;
    wal_record_encode(&rec, w->batch + w->batch_len);
    *off = w->batch_len;
    w->batch_last = w->batch_len;
    w->batch_len += size;
    w->batch_records++;
    return 0;
}

int wal_append(struct wal *w, const struct craft_entry *entries, size_t n)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    CRAFT_ASSERT(!w->unsynced); /* a written batch is synced before the next one starts */
    for (size_t i = 0; i < n; i++) {
        const struct craft_entry *e = &entries[i];
        if (w->n_locs > 0 && e->index != wal_last_index(w) + 1) {
            return wal_fail(w, CRAFT_EINVAL, "append of index %" PRIu64 " after %" PRIu64,
                            e->index, wal_last_index(w));
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
            .term = e->term,
            .index = e->index,
            .data = e->data.base,
        };
        struct wal_loc loc = {
            .term = e->term,
            .seq = WAL_SEQ_PENDING,
            .len = r.len,
            .type = r.entry_type,
        };
        int rv = batch_add(w, &r, &loc.off);
        if (rv == 0) {
            rv = wal_locs_push(w, e->index, &loc);
        }
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

int wal_truncate(struct wal *w, craft_index from)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    CRAFT_ASSERT(!w->unsynced);
    if (w->n_locs == 0) {
        return 0; /* nothing to drop (the suffix was appended and taken back in one core step) */
    }
    if (from < w->first || from > wal_last_index(w) + 1) {
        return wal_fail(w, CRAFT_EINVAL, "truncate from %" PRIu64 " outside [%" PRIu64 ", %" PRIu64
                                          "]",
                        from, wal_first_index(w), wal_last_index(w) + 1);
    }
    struct wal_record r = {.kind = WAL_RECORD_TRUNCATE, .index = from};
    uint64_t off;
    int rv = batch_add(w, &r, &off);
    if (rv != 0) {
        return rv;
    }
    wal_locs_truncate(w, from);
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

/* How many bytes of the batch, from pos, fit in `room`, ending at a record boundary. */
static size_t batch_fit(const struct wal *w, size_t pos, uint64_t room)
{
    size_t end = pos;
    while (end < w->batch_len) {
        size_t size = wal_record_size(get_u32le(w->batch + end + 4));
        if (end - pos + size > room) {
            break;
        }
        end += size;
    }
    return end - pos;
}

/* Points the pending entries written from batch[pos, pos + len) at their place on disk. */
static void locs_settle(struct wal *w, size_t pos, size_t len, const struct wal_segment *seg)
{
    for (size_t i = w->n_locs; i > 0; i--) {
        struct wal_loc *loc = &w->locs[w->start + i - 1];
        if (loc->seq != WAL_SEQ_PENDING) {
            break; /* pending entries are the newest ones */
        }
        if (loc->off >= pos && loc->off < pos + len) {
            loc->off = seg->used + (loc->off - pos);
            loc->seq = seg->seq;
        }
    }
}

static int write_chunk(struct wal *w, struct wal_segment *seg, size_t pos, size_t len)
{
    int rv = io_fs_pwrite(w->fs, seg->file, w->batch + pos, len, seg->used);
    if (rv != 0) {
        return wal_fail(w, rv == CRAFT_ENOSPC ? rv : CRAFT_EIO,
                        "write of %zu bytes to segment %" PRIu64 " at %" PRIu64 ": %s", len,
                        seg->seq, seg->used, craft_strerror(rv));
    }
    locs_settle(w, pos, len, seg);
    seg->used += len;
    return 0;
}

static int sync_segment(struct wal *w, struct wal_segment *seg)
{
    int rv = io_fs_fdatasync(w->fs, seg->file);
    if (rv != 0) {
        return wal_fail(w, CRAFT_EIO, "fdatasync of segment %" PRIu64 ": %s", seg->seq,
                        craft_strerror(rv));
    }
    return 0;
}

int wal_write(struct wal *w)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    if (w->batch_len == 0) {
        return 0;
    }
    wal_record_set_flags(w->batch + w->batch_last, WAL_FLAG_BATCH_END);
    size_t pos = 0;
    int rv = 0;
    while (pos < w->batch_len) {
        struct wal_segment *seg = &w->segs[w->n_segs - 1];
        size_t len = batch_fit(w, pos, seg->capacity - seg->used);
        if (len == 0 && seg->used == WAL_SEGMENT_HEADER_BYTES) {
            /* One record bigger than a whole segment: this empty segment grows to hold it. */
            uint64_t capacity =
                WAL_SEGMENT_HEADER_BYTES + wal_record_size(get_u32le(w->batch + pos + 4));
            rv = io_fs_fallocate(w->fs, seg->file, capacity);
            if (rv != 0) {
                return wal_fail(w, rv == CRAFT_ENOSPC ? rv : CRAFT_EIO,
                                "growing segment %" PRIu64 ": %s", seg->seq, craft_strerror(rv));
            }
            seg->capacity = capacity;
            len = batch_fit(w, pos, seg->capacity - seg->used);
        }
        if (len == 0) {
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
        rv = write_chunk(w, seg, pos, len);
        if (rv != 0) {
            return rv;
        }
        pos += len;
    }
    w->batch_len = 0;
    w->batch_records = 0;
    w->next_batch++;
    w->unsynced = true;
    return 0;
}

int wal_sync(struct wal *w)
{
    int rv = wal_write(w);
    if (rv != 0 || !w->unsynced) {
        return rv;
    }
    rv = sync_segment(w, &w->segs[w->n_segs - 1]);
    if (rv == 0) {
        w->unsynced = false;
    }
    return rv;
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

int wal_read(struct wal *w, craft_index index, struct craft_entry *out, void *buf, size_t buf_len)
{
    if (w->n_locs > 0 && index < w->first) {
        return CRAFT_ECOMPACTED;
    }
    const struct wal_loc *loc = loc_of(w, index);
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
        memcpy(buf, w->batch + loc->off, size);
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
        r.term != loc->term || r.kind != WAL_RECORD_ENTRY) {
        return wal_fail(w, CRAFT_ECORRUPT, "entry %" PRIu64 " in segment %" PRIu64
                                           " at offset %" PRIu64 " fails its checksum",
                        index, loc->seq, loc->off);
    }
    memmove(buf, r.data, r.len);
    out->data.base = buf;
    out->data.len = r.len;
    return 0;
}

int wal_drop_prefix(struct wal *w, craft_index upto)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    /* Entries sit in segments in index order, so every segment before the one holding the first
     * entry past upto holds nothing live past upto. The writing segment always stays. */
    uint64_t keep_from = w->segs[w->n_segs - 1].seq;
    if (w->n_locs > 0 && upto < wal_last_index(w)) {
        craft_index next = upto < w->first ? w->first : upto + 1;
        uint64_t seq = loc_of(w, next)->seq;
        if (seq != WAL_SEQ_PENDING && seq < keep_from) {
            keep_from = seq;
        }
    }
    size_t n_drop = 0;
    while (n_drop < w->n_segs - 1 && w->segs[n_drop].seq < keep_from) {
        n_drop++;
    }
    if (n_drop == 0) {
        return 0;
    }
    for (size_t i = 0; i < n_drop; i++) {
        char name[IO_FS_NAME_MAX];
        wal_segment_name(w->segs[i].seq, name, sizeof name);
        io_fs_close(w->fs, w->segs[i].file);
        int rv = io_fs_unlink(w->fs, name);
        if (rv != 0) {
            /* The segments before i are gone from the table already; keep it consistent. */
            memmove(w->segs, w->segs + i + 1, (w->n_segs - i - 1) * sizeof *w->segs);
            w->n_segs -= i + 1;
            return wal_fail(w, CRAFT_EIO, "unlink %s: %s", name, craft_strerror(rv));
        }
    }
    memmove(w->segs, w->segs + n_drop, (w->n_segs - n_drop) * sizeof *w->segs);
    w->n_segs -= n_drop;
    /* Forget the entries that lived in the dropped segments. */
    size_t gone = 0;
    while (gone < w->n_locs && w->locs[w->start + gone].seq < keep_from) {
        gone++;
    }
    w->start += gone;
    w->n_locs -= gone;
    w->first += gone;
    int rv = io_fs_sync_dir(w->fs);
    if (rv != 0) {
        return wal_fail(w, CRAFT_EIO, "sync of the directory: %s", craft_strerror(rv));
    }
    return 0;
}

void wal_rbuf_release(struct wal *w, struct wal_rbuf *b)
{
    (void)w;
    craft_free((void *)b->base);
    *b = (struct wal_rbuf){0};
}

const struct craft_entry *wal_recovered(const struct wal *w, size_t *n)
{
    *n = w->n_recovered;
    return w->recovered;
}

void wal_recovered_release(struct wal *w)
{
    for (size_t i = 0; i < w->n_rbufs; i++) {
        wal_rbuf_release(w, &w->rbufs[i]);
    }
    craft_free(w->rbufs);
    craft_free(w->recovered);
    w->rbufs = NULL;
    w->n_rbufs = 0;
    w->recovered = NULL;
    w->n_recovered = 0;
}

void wal_close(struct wal *w)
{
    if (w == NULL) {
        return;
    }
    wal_recovered_release(w);
    for (size_t i = 0; i < w->n_segs; i++) {
        io_fs_close(w->fs, w->segs[i].file);
    }
    craft_free(w->segs);
    craft_free(w->locs);
    craft_free(w->batch);
    craft_free(w);
}
