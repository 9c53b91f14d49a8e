/* Opening the WAL: read every segment, check every record, rebuild the index of live entries.
 * A torn tail (the last batch, never acknowledged) is cut off; a bad record that a later batch
 * follows was damaged after it was durable, and is reported as corruption, never skipped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "wal_internal.h"
#include "wal_record.h"

/* Where the scan stands: what the next record must look like. */
struct scan {
    bool known;          /* the batch due is known: a record was applied, or a header said */
    uint64_t last_batch; /* batch of the last good record (or header first batch - 1) */
    bool last_end;       /* that record closed its batch */
    uint64_t last_group; /* the group of that record (0: none applied) */
};

/* Sequence numbers found in the directory listing. */
struct seqs {
    uint64_t *v; /* owned */
    size_t n;
    size_t cap;
};

struct names {
    struct seqs segs; /* wal-<seq>.seg */
    struct seqs tmps; /* wal-<seq>.seg.tmp: creations cut short */
};

static int seqs_push(struct seqs *s, uint64_t seq)
{
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 16 : s->cap * 2;
        uint64_t *v = craft_realloc(s->v, cap * sizeof *v);
        if (v == NULL) {
            return CRAFT_ENOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = seq;
    return 0;
}

static int collect_segment(void *arg, const char *name)
{
    struct names *names = arg;
    uint64_t seq;
    if (strncmp(name, "wal-", 4) != 0 || sscanf(name, "wal-%16" SCNx64, &seq) != 1) {
        return 0; /* not ours */
    }
    /* Only the exact names the writer makes count (16 lowercase hex digits, no sign or space,
     * which sscanf would let through). */
    char want[IO_FS_NAME_MAX];
    wal_segment_name(seq, want, sizeof want);
    if (strcmp(name, want) == 0) {
        return seqs_push(&names->segs, seq);
    }
    wal_segment_tmp_name(seq, want, sizeof want);
    if (strcmp(name, want) == 0) {
        return seqs_push(&names->tmps, seq);
    }
    return 0;
}

/* A `.tmp` segment is a creation cut short before its rename: it never held a record, so it is
 * removed. The directory sync at the end of wal_open makes the removal durable; until then a
 * crash may bring it back, to be removed again. */
static int remove_tmps(struct wal *w, const struct seqs *tmps, struct wal_open_report *report)
{
    for (size_t i = 0; i < tmps->n; i++) {
        char name[IO_FS_NAME_MAX];
        wal_segment_tmp_name(tmps->v[i], name, sizeof name);
        int rv = io_fs_unlink(w->fs, name);
        if (rv != 0) {
            return wal_fail(w, rv == CRAFT_ENOMEM ? rv : CRAFT_EIO, "removing %s: %s", name,
                            craft_strerror(rv));
        }
        report->n_tmp_removed++;
    }
    return 0;
}

static int compare_seq(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct loaded {
    uint64_t seq;
    struct io_file *file;
    struct wal_rbuf rbuf; /* the whole file; owned until handed to the wal */
    const unsigned char *buf; /* rbuf.base */
    uint64_t size;
    bool header_ok;
    uint64_t first_batch; /* from the header: the batch of the first record; 0 = not recorded */
    bool adopted; /* file and buf now belong to the wal */
};

static int load_segment(struct wal *w, uint64_t seq, struct loaded *out)
{
    char name[IO_FS_NAME_MAX];
    wal_segment_name(seq, name, sizeof name);
    *out = (struct loaded){.seq = seq};
    int rv = io_fs_open(w->fs, name, 0, &out->file);
    if (rv == 0) {
        rv = io_fs_size(w->fs, out->file, &out->size);
    }
    if (rv != 0) {
        return wal_fail(w, rv == CRAFT_ENOMEM ? rv : CRAFT_EIO, "open %s: %s", name,
                        craft_strerror(rv));
    }
    /* Read with pread, never through a mapping: a latent sector error then comes back as
     * CRAFT_EIO from this call, where a mapping would raise SIGBUS at some later access and
     * take the process down (docs/IO.md, "Reading for recovery"). */
    unsigned char *copy = craft_malloc(out->size > 0 ? out->size : 1);
    if (copy == NULL) {
        return CRAFT_ENOMEM;
    }
    out->rbuf = (struct wal_rbuf){.base = copy, .size = out->size};
    size_t n_read = 0;
    rv = io_fs_pread(w->fs, out->file, copy, out->size, 0, &n_read);
    if (rv != 0 || n_read != out->size) {
        return wal_fail(w, rv == CRAFT_ENOMEM ? rv : CRAFT_EIO, "read %s: %s", name,
                        rv ? craft_strerror(rv) : "short read");
    }
    out->buf = out->rbuf.base;
    uint64_t header_seq;
    out->header_ok =
        wal_segment_header_decode(out->buf, out->size, &header_seq, &out->first_batch) &&
        header_seq == seq;
    return 0;
}

/* True when a valid record follows offset off of segment i that a torn tail cannot hold: one of
 * a batch after `batch`, or an entry at or below its group's commit (a group's hard state
 * covers only entries that were durable, and the last record of such an index is the one
 * committed: all before it was durable, so a bad record before it is damage, not a torn write). */
static bool later_durable_record_exists(struct wal *w, const struct loaded *segs, size_t n,
                                        size_t i, uint64_t off, uint64_t batch)
{
    for (; i < n; i++, off = WAL_SEGMENT_HEADER_BYTES) {
        const struct loaded *s = &segs[i];
        for (uint64_t at = off; at + WAL_RECORD_HEADER_BYTES <= s->size; at += WAL_RECORD_ALIGN) {
            if (get_u64le(s->buf + at + 8) == 0) {
                continue; /* kind is never 0: no record starts here */
            }
            struct wal_record r;
            size_t size;
            if (wal_record_decode(s->buf + at, s->size - at, &r, &size) != WAL_DECODE_OK) {
                continue;
            }
            if (r.batch > batch) {
                return true;
            }
            if (r.kind == WAL_RECORD_ENTRY) {
                const struct wal_group *g = wal_group_find(w, r.group, false);
                if (g != NULL && r.index <= g->committed) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* A group whose log ends before its commit while no snapshot covers that commit: its hard state
 * says entries were durable that are not there (docs/DISK_FORMAT.md, "Recovery"). NULL if none. */
static const struct wal_group *short_group(struct wal *w)
{
    for (size_t i = 0; i < w->n_groups; i++) {
        const struct wal_group *g = w->groups[i];
        if (g->committed > g->covered && wal_group_last(g) < g->committed) {
            return g;
        }
    }
    return NULL;
}

static bool all_zero_from(const struct loaded *s, uint64_t off)
{
    /* Word by word where aligned: the unused tail of a segment can be tens of MiB. */
    uint64_t i = off;
    for (; i < s->size && i % 8 != 0; i++) {
        if (s->buf[i] != 0) {
            return false;
        }
    }
    for (; i + 8 <= s->size; i += 8) {
        if (get_u64le(s->buf + i) != 0) {
            return false;
        }
    }
    for (; i < s->size; i++) {
        if (s->buf[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Applies one good record to its group; false if it does not follow the log it extends (the
 * batch numbering along the WAL, the index and term order within the group). */
static bool apply_record(struct wal *w, struct scan *sc, const struct wal_record *r, uint64_t seq,
                         uint64_t off, int *rv)
{
    uint64_t want_batch = sc->last_end ? sc->last_batch + 1 : sc->last_batch;
    if (sc->known && r->batch != want_batch) {
        return false;
    }
    struct wal_group *g = wal_group_find(w, r->group, true);
    if (g == NULL) {
        *rv = CRAFT_ENOMEM;
        return false;
    }
    if (r->kind == WAL_RECORD_TRUNCATE) {
        /* Below the first entry is fine: the segments it reached into were dropped after a
         * snapshot, and everything left from there on is void. */
        if (g->n_locs > 0 && r->index > wal_group_last(g) + 1) {
            return false;
        }
        wal_locs_truncate(g, r->index);
    } else if (r->kind == WAL_RECORD_HARD_STATE) {
        /* A group's term never falls (§5.1): a record saying so is not one we wrote. */
        if (g->have_hs && r->term < g->hs.term) {
            return false;
        }
        g->have_hs = true;
        g->hs = (struct craft_hard_state){
            .term = r->term, .vote = get_u64le(r->data), .commit = r->index};
        g->hs_seq = seq;
        if (r->index > g->committed) {
            g->committed = r->index;
        }
    } else {
        if (g->n_locs > 0 && r->index != wal_group_last(g) + 1) {
            return false;
        }
        if (g->n_locs > 0 && r->term < wal_group_term_at(g, wal_group_last(g))) {
            return false;
        }
        struct wal_loc *loc = wal_locs_append(g, r->index);
        if (loc == NULL) {
            *rv = CRAFT_ENOMEM;
            return false;
        }
        *loc = (struct wal_loc){
            .term = r->term, .off = off, .seq = seq, .len = r->len, .type = r->entry_type};
    }
    sc->known = true;
    sc->last_group = r->group;
    sc->last_batch = r->batch;
    sc->last_end = (r->flags & WAL_FLAG_BATCH_END) != 0;
    return true;
}

/* Cuts the log at (segment i, off): zeroes the rest of that segment and removes later ones, so
 * no stale record can ever come back. */
static int cut_tail(struct wal *w, struct loaded *segs, size_t *n, size_t i, uint64_t off)
{
    static const unsigned char zeros[64 * 1024];
    struct loaded *s = &segs[i];
    for (uint64_t at = off; at < s->size;) {
        size_t len = s->size - at < sizeof zeros ? (size_t)(s->size - at) : sizeof zeros;
        int rv = io_fs_pwrite(w->fs, s->file, zeros, len, at);
        if (rv != 0) {
            return wal_fail(w, CRAFT_EIO, "zeroing a torn tail: %s", craft_strerror(rv));
        }
        at += len;
    }
    int rv = io_fs_fdatasync(w->fs, s->file);
    for (size_t j = i + 1; rv == 0 && j < *n; j++) {
        char name[IO_FS_NAME_MAX];
        wal_segment_name(segs[j].seq, name, sizeof name);
        io_fs_close(w->fs, segs[j].file);
        wal_rbuf_release(w, &segs[j].rbuf);
        rv = io_fs_unlink(w->fs, name);
        segs[j] = (struct loaded){0};
    }
    if (rv == 0 && i + 1 < *n) {
        rv = io_fs_sync_dir(w->fs);
    }
    *n = i + 1;
    return rv != 0 ? wal_fail(w, CRAFT_EIO, "cutting a torn tail: %s", craft_strerror(rv)) : 0;
}

/* The header's first batch is the batch due at the segment's start (docs/DISK_FORMAT.md, "Segment
 * header"): in the log's first segment it says where the numbering stands (after a prefix drop,
 * even in a segment with no record yet, so the next batch follows on); after earlier segments it
 * must be the batch they leave due, or records went missing between them. */
static int enter_segment(struct wal *w, struct scan *sc, const struct loaded *s)
{
    if (s->first_batch == 0) {
        return 0; /* written before the field existed */
    }
    if (!sc->known) {
        sc->known = true;
        sc->last_batch = s->first_batch - 1;
        sc->last_end = true;
        return 0;
    }
    uint64_t due = sc->last_end ? sc->last_batch + 1 : sc->last_batch;
    if (s->first_batch != due) {
        char name[IO_FS_NAME_MAX];
        wal_segment_name(s->seq, name, sizeof name);
        return wal_fail(w, CRAFT_ECORRUPT,
                        "%s offset 0: the header's first batch is %" PRIu64 " where batch %" PRIu64
                        " is due (lost records before it)",
                        name, s->first_batch, due);
    }
    return 0;
}

/* Scans segment i. Returns 0 to go on, 1 when the log ended here, or an error. */
static int scan_segment(struct wal *w, struct scan *sc, struct loaded *segs, size_t *n, size_t i,
                        struct wal_open_report *report)
{
    struct loaded *s = &segs[i];
    uint64_t off = WAL_SEGMENT_HEADER_BYTES;
    char name[IO_FS_NAME_MAX];
    wal_segment_name(s->seq, name, sizeof name);
    while (off < s->size) {
        struct wal_record r;
        size_t size = 0;
        enum wal_decode d = wal_record_decode(s->buf + off, s->size - off, &r, &size);
        if (d == WAL_DECODE_OK && off == WAL_SEGMENT_HEADER_BYTES && s->first_batch != 0 &&
            r.batch != s->first_batch) {
            /* A record the writer never put first here: a batch written at the wrong place
             * (misdirected) over the records that were. In the log's first segment nothing
             * before it would tell; this also catches a batch older than the one due. */
            return wal_fail(w, CRAFT_ECORRUPT,
                            "%s offset %" PRIu64 ": first record of batch %" PRIu64
                            " where the segment header says batch %" PRIu64,
                            name, off, r.batch, s->first_batch);
        }
        int rv = 0;
        if (d == WAL_DECODE_OK && apply_record(w, sc, &r, s->seq, off, &rv)) {
            off += size;
            continue;
        }
        if (rv != 0) {
            return rv;
        }
        if (i + 1 < *n && d != WAL_DECODE_ZERO) {
            /* A segment is synced before the next one is created, so a segment that is not the
             * last never has a torn tail: a bad record there is damage. */
            return wal_fail(w, CRAFT_ECORRUPT,
                            "%s offset %" PRIu64 ": bad record in a closed segment "
                            "(checksum or sequence mismatch)",
                            name, off);
        }
        uint64_t stop_batch = sc->last_end ? sc->last_batch + 1 : sc->last_batch;
        if (d == WAL_DECODE_OK && r.batch > stop_batch && sc->known) {
            return wal_fail(w, CRAFT_ECORRUPT,
                            "%s offset %" PRIu64 ": record of batch %" PRIu64
                            " where batch %" PRIu64 " was due (lost records before it)",
                            name, off, r.batch, stop_batch);
        }
        if (d == WAL_DECODE_ZERO && i + 1 < *n) {
            /* The writer moved on to the next segment; what it left behind was never written,
             * so anything but zeros there is damage. */
            if (!all_zero_from(s, off)) {
                return wal_fail(w, CRAFT_ECORRUPT,
                                "%s offset %" PRIu64 ": data after the last record of a closed "
                                "segment",
                                name, off);
            }
            break;
        }
        if (later_durable_record_exists(w, segs, *n, i, off + WAL_RECORD_ALIGN, stop_batch)) {
            return wal_fail(w, CRAFT_ECORRUPT,
                            "%s offset %" PRIu64 ": bad record before later durable ones "
                            "(checksum or sequence mismatch)",
                            name, off);
        }
        const struct wal_group *short_g = short_group(w);
        if (short_g != NULL) {
            /* A group's commit covers entries that were durable here: whatever ends its log
             * before them is damage, not a torn write (docs/DISK_FORMAT.md, "Recovery"). */
            return wal_fail(w, CRAFT_ECORRUPT,
                            "%s offset %" PRIu64 ": group %" PRIu64 "'s log ends at index %" PRIu64
                            " but its hard state's commit index %" PRIu64
                            " says it was durable up to there (damaged or lost records)",
                            name, off, short_g->id, wal_group_last(short_g), short_g->committed);
        }
        if (d != WAL_DECODE_ZERO || !all_zero_from(s, off) || !sc->last_end) {
            report->tail_truncated = true;
            report->tail_segment = s->seq;
            report->tail_offset = off;
            report->tail_bytes = s->size - off;
            rv = cut_tail(w, segs, n, i, off);
            if (rv != 0) {
                return rv;
            }
        }
        w->segs[w->n_segs - 1].used = off;
        return 1;
    }
    w->segs[w->n_segs - 1].used = off < s->size ? off : s->size;
    return 0;
}

/* A segment gets its final name only after its header was durable (wal_segment_create), so a
 * bad header is damage wherever the segment is, even the last one with nothing after it: that is
 * what a misdirected write of its first record leaves (docs/DISK_FORMAT.md, "Recovery"). */
static int check_header(struct wal *w, const struct loaded *s)
{
    if (s->header_ok) {
        return 0;
    }
    char name[IO_FS_NAME_MAX];
    wal_segment_name(s->seq, name, sizeof name);
    return wal_fail(w, CRAFT_ECORRUPT,
                    "%s offset 0: bad segment header (damaged after it was durable)", name);
}

static int adopt_segment(struct wal *w, const struct loaded *s)
{
    int rv = wal_segs_reserve(w);
    if (rv != 0) {
        return rv;
    }
    uint64_t capacity = s->size > w->cfg.segment_bytes ? s->size : w->cfg.segment_bytes;
    w->segs[w->n_segs++] = (struct wal_segment){
        .seq = s->seq, .file = s->file, .capacity = capacity, .used = WAL_SEGMENT_HEADER_BYTES};
    return 0;
}

/* The index of segment seq in w->segs (present). */
static size_t seg_index(const struct wal *w, uint64_t seq)
{
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
    CRAFT_ASSERT(lo < w->n_segs && w->segs[lo].seq == seq);
    return lo;
}

/* Hands each group's recovered entries out as pointers into the segments' read buffers. */
static int build_recovered(struct wal *w)
{
    for (size_t k = 0; k < w->n_groups; k++) {
        struct wal_group *g = w->groups[k];
        if (g->n_locs == 0) {
            continue;
        }
        g->recovered = craft_calloc(g->n_locs, sizeof *g->recovered);
        if (g->recovered == NULL) {
            return CRAFT_ENOMEM;
        }
        size_t seg = 0;
        for (size_t i = 0; i < g->n_locs; i++) {
            const struct wal_loc *loc = wal_loc_at(g, i);
            if (w->segs[seg].seq != loc->seq) {
                seg = seg_index(w, loc->seq); /* live entries never go back to an earlier one */
            }
            g->recovered[i] = (struct craft_entry){
                .term = loc->term,
                .index = g->first + i,
                .type = loc->type,
                .data = {.base = w->rbufs[seg].base + loc->off + WAL_RECORD_HEADER_BYTES,
                         .len = loc->len},
            };
        }
        g->n_recovered = g->n_locs;
    }
    return 0;
}

/* If recovery ended inside a batch (its tail was cut, or the segment it spilled into was
 * removed), a closing record (a truncate at last + 1 of the group of the batch's last record,
 * which changes nothing) ends it, so the next batch follows a closed one and the recovery rules
 * keep holding for it. */
static int close_open_batch(struct wal *w, struct scan *sc)
{
    if (sc->last_end || sc->last_batch == 0) {
        return 0;
    }
    CRAFT_ASSERT(sc->last_group != 0); /* an open batch has a record applied */
    struct wal_segment *seg = &w->segs[w->n_segs - 1];
    if (seg->capacity - seg->used < WAL_RECORD_HEADER_BYTES) {
        int rv = wal_segment_create(w, seg->seq + 1, sc->last_batch);
        if (rv != 0) {
            return rv;
        }
        seg = &w->segs[w->n_segs - 1];
    }
    unsigned char closing[WAL_RECORD_HEADER_BYTES];
    struct wal_record r = {.kind = WAL_RECORD_TRUNCATE,
                           .flags = WAL_FLAG_BATCH_END,
                           .batch = sc->last_batch,
                           .group = sc->last_group,
                           .index = wal_last_index_group(w, sc->last_group) + 1};
    wal_record_encode(&r, closing);
    int rv = io_fs_pwrite(w->fs, seg->file, closing, sizeof closing, seg->used);
    if (rv == 0) {
        rv = io_fs_fdatasync(w->fs, seg->file);
    }
    if (rv != 0) {
        return wal_fail(w, CRAFT_EIO, "closing an interrupted batch: %s", craft_strerror(rv));
    }
    seg->used += sizeof closing;
    sc->last_end = true;
    return 0;
}

static int recover(struct wal *w, struct loaded *segs, size_t n, struct wal_open_report *report)
{
    struct scan sc = {.known = false, .last_batch = 0, .last_end = true};
    int rv = 0;
    for (size_t i = 0; i < n; i++) {
        report->bytes_scanned += segs[i].size;
    }
    for (size_t i = 0; i < n && rv == 0; i++) {
        rv = check_header(w, &segs[i]);
        if (rv != 0) {
            break;
        }
        rv = adopt_segment(w, &segs[i]);
        if (rv != 0) {
            break;
        }
        w->rbufs[w->n_rbufs++] = segs[i].rbuf;
        segs[i].adopted = true;
        rv = enter_segment(w, &sc, &segs[i]);
        if (rv != 0) {
            break;
        }
        rv = scan_segment(w, &sc, segs, &n, i, report);
        if (rv == 1) {
            rv = 0;
            break;
        }
    }
    const struct wal_group *short_g = rv == 0 ? short_group(w) : NULL;
    if (short_g != NULL) {
        /* A log ended cleanly (no bad record), yet short of what was durable: segments or
         * records are missing. */
        char name[IO_FS_NAME_MAX] = "no WAL segment";
        uint64_t off = 0;
        if (w->n_segs > 0) {
            wal_segment_name(w->segs[w->n_segs - 1].seq, name, sizeof name);
            off = w->segs[w->n_segs - 1].used;
        }
        rv = wal_fail(w, CRAFT_ECORRUPT,
                      "%s offset %" PRIu64 ": group %" PRIu64 "'s log ends at index %" PRIu64
                      " but its hard state's commit index %" PRIu64
                      " says it was durable up to there (lost records)",
                      name, off, short_g->id, wal_group_last(short_g), short_g->committed);
    }
    if (rv == 0 && w->n_segs > 0) {
        rv = close_open_batch(w, &sc);
    }
    w->next_batch = sc.last_batch + 1;
    report->n_segments = w->n_segs;
    return rv;
}

static int wal_open_floor(struct io_fs *fs, const struct wal_config *cfg, craft_index committed,
                          const struct wal_group_cover *covers, size_t n_covers, struct wal **out,
                          struct wal_open_report *report, char *errmsg, size_t errmsg_len);

int wal_open(struct io_fs *fs, const struct wal_config *cfg, struct wal **out,
             struct wal_open_report *report, char *errmsg, size_t errmsg_len)
{
    return wal_open_committed(fs, cfg, 0, out, report, errmsg, errmsg_len);
}

int wal_open_committed(struct io_fs *fs, const struct wal_config *cfg, craft_index committed,
                       struct wal **out, struct wal_open_report *report, char *errmsg,
                       size_t errmsg_len)
{
    return wal_open_covered(fs, cfg, committed, 0, out, report, errmsg, errmsg_len);
}

int wal_open_covered(struct io_fs *fs, const struct wal_config *cfg, craft_index committed,
                     craft_index covered, struct wal **out, struct wal_open_report *report,
                     char *errmsg, size_t errmsg_len)
{
    struct wal_group_cover cover = {.group = WAL_GROUP_DEFAULT, .covered = covered};
    return wal_open_floor(fs, cfg, committed, &cover, 1, out, report, errmsg, errmsg_len);
}

int wal_open_groups(struct io_fs *fs, const struct wal_config *cfg,
                    const struct wal_group_cover *covers, size_t n_covers, struct wal **out,
                    struct wal_open_report *report, char *errmsg, size_t errmsg_len)
{
    return wal_open_floor(fs, cfg, 0, covers, n_covers, out, report, errmsg, errmsg_len);
}

/* Makes the groups that recovery is told about before it reads: the default group with a commit
 * floor known from elsewhere (wal_open_committed), and every group's snapshot. */
static int seed_groups(struct wal *w, craft_index committed, const struct wal_group_cover *covers,
                       size_t n_covers)
{
    if (committed > 0) {
        struct wal_group *g = wal_group_find(w, WAL_GROUP_DEFAULT, true);
        if (g == NULL) {
            return CRAFT_ENOMEM;
        }
        g->committed = committed;
    }
    for (size_t i = 0; i < n_covers; i++) {
        if (covers[i].covered == 0) {
            continue;
        }
        struct wal_group *g = wal_group_find(w, covers[i].group, true);
        if (g == NULL) {
            return CRAFT_ENOMEM;
        }
        g->covered = covers[i].covered;
        g->drop_upto = covers[i].covered;
    }
    return 0;
}

static int wal_open_floor(struct io_fs *fs, const struct wal_config *cfg, craft_index committed,
                          const struct wal_group_cover *covers, size_t n_covers, struct wal **out,
                          struct wal_open_report *report, char *errmsg, size_t errmsg_len)
{
    struct wal_open_report ignored;
    if (report == NULL) {
        report = &ignored;
    }
    memset(report, 0, sizeof *report);
    if (cfg->segment_bytes < WAL_SEGMENT_BYTES_MIN) {
        snprintf(errmsg, errmsg_len, "segment_bytes below %u", WAL_SEGMENT_BYTES_MIN);
        return CRAFT_EINVAL;
    }
    struct wal *w = craft_calloc(1, sizeof *w);
    if (w == NULL) {
        return CRAFT_ENOMEM;
    }
    w->fs = fs;
    w->cfg = *cfg;
    struct names names = {0};
    struct loaded *segs = NULL;
    size_t n = 0;
    int rv = seed_groups(w, committed, covers, n_covers);
    if (rv != 0) {
        goto fail;
    }
    rv = io_fs_list(fs, collect_segment, &names);
    if (rv != 0) {
        rv = wal_fail(w, rv == CRAFT_ENOMEM ? rv : CRAFT_EIO, "listing the directory: %s",
                      craft_strerror(rv));
        goto fail;
    }
    if (names.segs.n > 1) {
        qsort(names.segs.v, names.segs.n, sizeof *names.segs.v, compare_seq);
    }
    rv = remove_tmps(w, &names.tmps, report);
    if (rv != 0) {
        goto fail;
    }
    segs = craft_calloc(names.segs.n + 1, sizeof *segs);
    w->rbufs = craft_calloc(names.segs.n + 1, sizeof *w->rbufs);
    if (segs == NULL || w->rbufs == NULL) {
        rv = CRAFT_ENOMEM;
        goto fail;
    }
    for (; n < names.segs.n; n++) {
        rv = load_segment(w, names.segs.v[n], &segs[n]);
        if (rv != 0) {
            n++;
            goto fail;
        }
    }
    rv = recover(w, segs, n, report);
    if (rv == 0 && w->n_segs == 0) {
        /* An empty directory: recovery keeps every segment it finds or fails. */
        CRAFT_ASSERT(names.segs.n == 0);
        CRAFT_ASSERT(w->next_batch == 1);
        rv = wal_segment_create(w, 1, w->next_batch);
    }
    if (rv == 0) {
        /* After a process crash (no power loss) the page cache may hold a batch no fdatasync
         * covered, and we just read it as if it were durable: make it so before the core acts
         * on it. Only the last segment can hold such a batch (a segment is synced before the
         * writer leaves it). */
        struct wal_segment *last = &w->segs[w->n_segs - 1];
        rv = io_fs_fdatasync(fs, last->file);
        if (rv != 0) {
            rv = wal_fail(w, CRAFT_EIO, "fdatasync of the last segment: %s", craft_strerror(rv));
        }
    }
    if (rv == 0) {
        /* A segment we read may be named only in the page cache (its creation was cut short
         * after the rename, before the directory sync, and no crash came since), and a `.tmp`
         * we removed may still be named on disk: make the directory durable before anything is
         * appended to what it names. */
        rv = io_fs_sync_dir(fs);
        if (rv != 0) {
            rv = wal_fail(w, CRAFT_EIO, "sync of the directory: %s", craft_strerror(rv));
        }
    }
    if (rv == 0) {
        rv = build_recovered(w);
    }
    if (rv != 0) {
        goto fail;
    }
    craft_free(segs);
    craft_free(names.segs.v);
    craft_free(names.tmps.v);
    *out = w;
    return 0;

fail:
    snprintf(errmsg, errmsg_len, "%s", w->errmsg[0] ? w->errmsg : craft_strerror(rv));
    for (size_t i = 0; i < n; i++) {
        if (segs[i].adopted) {
            continue;
        }
        if (segs[i].file != NULL) {
            io_fs_close(fs, segs[i].file);
        }
        wal_rbuf_release(w, &segs[i].rbuf);
    }
    craft_free(segs);
    craft_free(names.segs.v);
    craft_free(names.tmps.v);
    wal_close(w);
    return rv;
}
