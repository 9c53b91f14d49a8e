/* Writing and reading snapshot files: header with metadata, checksummed chunks, trailer. */
#include "snapshot_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

#define SNAPSHOT_VERSION 1u
#define SNAPSHOT_HEADER_FIXED 48u
#define SNAPSHOT_CHUNK_HEADER 8u
#define SNAPSHOT_TRAILER_BYTES 32u
#define SNAPSHOT_TMP_SUFFIX ".tmp"

static const unsigned char snapshot_magic[8] = {'C', 'R', 'A', 'F', 'T', 'S', 'N', 'P'};
static const unsigned char trailer_magic[8] = {'C', 'R', 'A', 'F', 'T', 'E', 'N', 'D'};

struct snapshot_writer {
    struct io_fs *fs;
    struct io_file *file; /* owned */
    struct snapshot_meta meta;
    uint64_t off;
    uint64_t data_bytes;
    uint64_t n_chunks;
    unsigned char *chunk; /* SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES; owned */
    size_t chunk_len;
    int error; /* the first failure, returned by finish */
};

struct snapshot_reader {
    struct io_fs *fs;
    struct io_file *file; /* owned */
    uint64_t off;
    uint64_t data_bytes;
    uint64_t n_chunks;
    unsigned char *chunk; /* owned */
    size_t chunk_len;
    size_t chunk_pos;
    bool done;
    char errmsg[160];
};

void snapshot_file_name(craft_index index, craft_term term, char *buf, size_t len)
{
    snprintf(buf, len, "snapshot-%016" PRIx64 "-%016" PRIx64 ".snap", index, term);
}

static size_t header_size(unsigned n_voters)
{
    return SNAPSHOT_HEADER_FIXED + 8u * n_voters + 4u;
}

static void header_encode(const struct snapshot_meta *m, unsigned char *b)
{
    size_t size = header_size(m->n_voters);
    memset(b, 0, size);
    memcpy(b, snapshot_magic, sizeof snapshot_magic);
    put_u32le(b + 8, SNAPSHOT_VERSION);
    put_u32le(b + 12, (uint32_t)size);
    put_u64le(b + 16, m->index);
    put_u64le(b + 24, m->term);
    put_u32le(b + 32, m->n_voters);
    put_u32le(b + 36, SNAPSHOT_CHUNK_BYTES);
    for (unsigned i = 0; i < m->n_voters; i++) {
        put_u64le(b + SNAPSHOT_HEADER_FIXED + 8 * i, m->voters[i]);
    }
    put_u32le(b + size - 4, crc32c(0, b, size - 4));
}

/* Decodes a header from buf (avail bytes); returns its size, or 0 if it is not a valid one. */
static size_t header_decode(const unsigned char *b, size_t avail, struct snapshot_meta *m)
{
    if (avail < SNAPSHOT_HEADER_FIXED || memcmp(b, snapshot_magic, sizeof snapshot_magic) != 0 ||
        get_u32le(b + 8) != SNAPSHOT_VERSION) {
        return 0;
    }
    uint32_t n_voters = get_u32le(b + 32);
    if (n_voters == 0 || n_voters > CRAFT_VOTERS_MAX) {
        return 0;
    }
    size_t size = header_size(n_voters);
    if (get_u32le(b + 12) != size || avail < size || get_u32le(b + 36) != SNAPSHOT_CHUNK_BYTES ||
        get_u32le(b + size - 4) != crc32c(0, b, size - 4)) {
        return 0;
    }
    m->index = get_u64le(b + 16);
    m->term = get_u64le(b + 24);
    m->n_voters = n_voters;
    for (unsigned i = 0; i < n_voters; i++) {
        m->voters[i] = get_u64le(b + SNAPSHOT_HEADER_FIXED + 8 * i);
    }
    return size;
}

static void tmp_name(const struct snapshot_meta *m, char *buf, size_t len)
{
    snapshot_file_name(m->index, m->term, buf, len - sizeof SNAPSHOT_TMP_SUFFIX);
    strcat(buf, SNAPSHOT_TMP_SUFFIX);
}

static int writer_put(struct snapshot_writer *w, const void *buf, size_t len)
{
    if (w->error != 0) {
        return w->error;
    }
    int rv = io_fs_pwrite(w->fs, w->file, buf, len, w->off);
    if (rv != 0) {
        w->error = rv == CRAFT_ENOSPC || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
        return w->error;
    }
    w->off += len;
    return 0;
}

int snapshot_writer_begin(struct io_fs *fs, const struct snapshot_meta *meta,
                          struct snapshot_writer **out)
{
    if (meta->n_voters == 0 || meta->n_voters > CRAFT_VOTERS_MAX || meta->index == 0 ||
        meta->term == 0) {
        return CRAFT_EINVAL;
    }
    struct snapshot_writer *w = craft_calloc(1, sizeof *w);
    if (w == NULL) {
        return CRAFT_ENOMEM;
    }
    w->chunk = craft_malloc(SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES);
    if (w->chunk == NULL) {
        craft_free(w);
        return CRAFT_ENOMEM;
    }
    w->fs = fs;
    w->meta = *meta;
    char name[IO_FS_NAME_MAX];
    tmp_name(meta, name, sizeof name);
    int rv = io_fs_open(fs, name, IO_FS_CREATE | IO_FS_TRUNC, &w->file);
    if (rv != 0) {
        craft_free(w->chunk);
        craft_free(w);
        return rv == CRAFT_ENOMEM || rv == CRAFT_ENOSPC ? rv : CRAFT_EIO;
    }
    unsigned char header[SNAPSHOT_HEADER_FIXED + 8 * CRAFT_VOTERS_MAX + 4];
    header_encode(meta, header);
    rv = writer_put(w, header, header_size(meta->n_voters));
    if (rv != 0) {
        snapshot_writer_abort(w);
        return rv;
    }
    *out = w;
    return 0;
}

static int flush_chunk(struct snapshot_writer *w)
{
    if (w->chunk_len == 0) {
        return 0;
    }
    put_u32le(w->chunk + 4, (uint32_t)w->chunk_len);
    put_u32le(w->chunk, crc32c(0, w->chunk + 4, 4 + w->chunk_len));
    int rv = writer_put(w, w->chunk, SNAPSHOT_CHUNK_HEADER + w->chunk_len);
    w->n_chunks++;
    w->chunk_len = 0;
    return rv;
}

int snapshot_writer_write(struct snapshot_writer *w, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        size_t room = SNAPSHOT_CHUNK_BYTES - w->chunk_len;
        size_t n = len < room ? len : room;
        memcpy(w->chunk + SNAPSHOT_CHUNK_HEADER + w->chunk_len, p, n);
        w->chunk_len += n;
        w->data_bytes += n;
        p += n;
        len -= n;
        if (w->chunk_len == SNAPSHOT_CHUNK_BYTES) {
            int rv = flush_chunk(w);
            if (rv != 0) {
                return rv;
            }
        }
    }
    return w->error;
}

static void trailer_encode(uint64_t data_bytes, uint64_t n_chunks, unsigned char *b)
{
    memset(b, 0, SNAPSHOT_TRAILER_BYTES);
    /* A trailer starts with a chunk header of length 0xFFFFFFFF, which no chunk can have. */
    put_u32le(b + 4, UINT32_MAX);
    memcpy(b + 8, trailer_magic, sizeof trailer_magic);
    put_u64le(b + 16, data_bytes);
    put_u32le(b + 24, (uint32_t)n_chunks);
    put_u32le(b + 28, (uint32_t)(n_chunks >> 32));
    put_u32le(b, crc32c(0, b + 4, SNAPSHOT_TRAILER_BYTES - 4));
}

struct older {
    struct io_fs *fs;
    char keep[IO_FS_NAME_MAX];
    int rv;
};

static int remove_other_snapshots(void *arg, const char *name)
{
    struct older *o = arg;
    size_t len = strlen(name);
    if (strncmp(name, "snapshot-", 9) == 0 && len > 5 && strcmp(name + len - 5, ".snap") == 0 &&
        strcmp(name, o->keep) != 0) {
        int rv = io_fs_unlink(o->fs, name);
        if (rv != 0 && o->rv == 0) {
            o->rv = rv;
        }
    }
    return 0;
}

int snapshot_writer_finish(struct snapshot_writer *w)
{
    unsigned char trailer[SNAPSHOT_TRAILER_BYTES];
    int rv = flush_chunk(w);
    if (rv == 0) {
        trailer_encode(w->data_bytes, w->n_chunks, trailer);
        rv = writer_put(w, trailer, sizeof trailer);
    }
    if (rv == 0) {
        rv = io_fs_fdatasync(w->fs, w->file);
    }
    char tmp[IO_FS_NAME_MAX];
    struct older o = {.fs = w->fs};
    tmp_name(&w->meta, tmp, sizeof tmp);
    snapshot_file_name(w->meta.index, w->meta.term, o.keep, sizeof o.keep);
    if (rv == 0) {
        rv = io_fs_rename(w->fs, tmp, o.keep);
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(w->fs);
    }
    if (rv != 0) {
        snapshot_writer_abort(w);
        return rv == CRAFT_ENOSPC || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    io_fs_close(w->fs, w->file);
    struct io_fs *fs = w->fs;
    craft_free(w->chunk);
    craft_free(w);
    /* Only now, with the new one durable, do the older ones go. */
    rv = io_fs_list(fs, remove_other_snapshots, &o);
    if (rv == 0) {
        rv = o.rv;
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(fs);
    }
    return rv == 0 ? 0 : CRAFT_EIO;
}

void snapshot_writer_abort(struct snapshot_writer *w)
{
    char tmp[IO_FS_NAME_MAX];
    tmp_name(&w->meta, tmp, sizeof tmp);
    io_fs_close(w->fs, w->file);
    int rv = io_fs_unlink(w->fs, tmp); /* best effort: snapshot_latest removes leftovers */
    (void)rv;
    craft_free(w->chunk);
    craft_free(w);
}

struct latest {
    struct io_fs *fs;
    struct snapshot_meta best;
    bool found;
    int rv;
};

static int read_header(struct io_fs *fs, const char *name, struct snapshot_meta *m, bool *ok)
{
    struct io_file *f;
    *ok = false;
    int rv = io_fs_open(fs, name, 0, &f);
    if (rv != 0) {
        return rv;
    }
    unsigned char buf[SNAPSHOT_HEADER_FIXED + 8 * CRAFT_VOTERS_MAX + 4];
    size_t n_read;
    rv = io_fs_pread(fs, f, buf, sizeof buf, 0, &n_read);
    io_fs_close(fs, f);
    if (rv == 0) {
        *ok = header_decode(buf, n_read, m) > 0;
    }
    return rv;
}

static int consider_snapshot(void *arg, const char *name)
{
    struct latest *l = arg;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, SNAPSHOT_TMP_SUFFIX) == 0 &&
        strncmp(name, "snapshot-", 9) == 0) {
        /* An unfinished write from before a crash; if it cannot go now, it goes next time. */
        int rv = io_fs_unlink(l->fs, name);
        (void)rv;
        return 0;
    }
    if (strncmp(name, "snapshot-", 9) != 0 || len < 5 || strcmp(name + len - 5, ".snap") != 0) {
        return 0;
    }
    struct snapshot_meta m;
    bool ok;
    int rv = read_header(l->fs, name, &m, &ok);
    if (rv != 0) {
        l->rv = rv;
        return 1;
    }
    char want[IO_FS_NAME_MAX];
    snapshot_file_name(m.index, m.term, want, sizeof want);
    if (ok && strcmp(want, name) == 0 && (!l->found || m.index > l->best.index)) {
        l->best = m;
        l->found = true;
    }
    return 0;
}

int snapshot_latest(struct io_fs *fs, struct snapshot_meta *meta, bool *found)
{
    struct latest l = {.fs = fs};
    int rv = io_fs_list(fs, consider_snapshot, &l);
    if (rv == 1 || rv == 0) {
        rv = l.rv;
    }
    if (rv != 0) {
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    *found = l.found;
    if (l.found) {
        *meta = l.best;
    }
    return 0;
}

int snapshot_reader_open(struct io_fs *fs, craft_index index, craft_term term,
                         struct snapshot_reader **out, struct snapshot_meta *meta)
{
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(index, term, name, sizeof name);
    struct snapshot_reader *r = craft_calloc(1, sizeof *r);
    if (r == NULL) {
        return CRAFT_ENOMEM;
    }
    r->chunk = craft_malloc(SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES);
    if (r->chunk == NULL) {
        craft_free(r);
        return CRAFT_ENOMEM;
    }
    r->fs = fs;
    int rv = io_fs_open(fs, name, 0, &r->file);
    if (rv != 0) {
        craft_free(r->chunk);
        craft_free(r);
        return rv == CRAFT_ENOTFOUND || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    unsigned char buf[SNAPSHOT_HEADER_FIXED + 8 * CRAFT_VOTERS_MAX + 4];
    size_t n_read;
    rv = io_fs_pread(fs, r->file, buf, sizeof buf, 0, &n_read);
    size_t size = rv == 0 ? header_decode(buf, n_read, meta) : 0;
    if (rv != 0 || size == 0 || meta->index != index || meta->term != term) {
        snapshot_reader_close(r);
        return rv != 0 ? CRAFT_EIO : CRAFT_ECORRUPT;
    }
    r->off = size;
    *out = r;
    return 0;
}

static int reader_corrupt(struct snapshot_reader *r, const char *what)
{
    snprintf(r->errmsg, sizeof r->errmsg, "snapshot offset %" PRIu64 ": %s", r->off, what);
    return CRAFT_ECORRUPT;
}

/* Loads the next chunk, or checks the trailer and marks the end. */
static int next_chunk(struct snapshot_reader *r)
{
    unsigned char head[SNAPSHOT_TRAILER_BYTES];
    size_t n_read;
    int rv = io_fs_pread(r->fs, r->file, head, SNAPSHOT_CHUNK_HEADER, r->off, &n_read);
    if (rv != 0) {
        return CRAFT_EIO;
    }
    if (n_read < SNAPSHOT_CHUNK_HEADER) {
        return reader_corrupt(r, "file ends without a trailer");
    }
    uint32_t len = get_u32le(head + 4);
    if (len == UINT32_MAX) {
        rv = io_fs_pread(r->fs, r->file, head, sizeof head, r->off, &n_read);
        if (rv != 0) {
            return CRAFT_EIO;
        }
        uint64_t n_chunks = get_u32le(head + 24) | (uint64_t)get_u32le(head + 28) << 32;
        if (n_read != sizeof head || get_u32le(head) != crc32c(0, head + 4, sizeof head - 4) ||
            memcmp(head + 8, trailer_magic, sizeof trailer_magic) != 0 ||
            get_u64le(head + 16) != r->data_bytes || n_chunks != r->n_chunks) {
            return reader_corrupt(r, "bad trailer");
        }
        r->done = true;
        return 0;
    }
    if (len == 0 || len > SNAPSHOT_CHUNK_BYTES) {
        return reader_corrupt(r, "bad chunk length");
    }
    rv = io_fs_pread(r->fs, r->file, r->chunk, SNAPSHOT_CHUNK_HEADER + len, r->off, &n_read);
    if (rv != 0) {
        return CRAFT_EIO;
    }
    if (n_read != SNAPSHOT_CHUNK_HEADER + len ||
        get_u32le(r->chunk) != crc32c(0, r->chunk + 4, 4 + (size_t)len)) {
        return reader_corrupt(r, "chunk fails its checksum");
    }
    r->off += SNAPSHOT_CHUNK_HEADER + len;
    r->chunk_len = len;
    r->chunk_pos = 0;
    r->n_chunks++;
    r->data_bytes += len;
    return 0;
}

int snapshot_reader_read(struct snapshot_reader *r, void *buf, size_t len, size_t *n_read)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < len && !r->done) {
        if (r->chunk_pos == r->chunk_len) {
            int rv = next_chunk(r);
            if (rv != 0) {
                return rv;
            }
            continue;
        }
        size_t n = r->chunk_len - r->chunk_pos;
        if (n > len - done) {
            n = len - done;
        }
        memcpy(p + done, r->chunk + SNAPSHOT_CHUNK_HEADER + r->chunk_pos, n);
        r->chunk_pos += n;
        done += n;
    }
    *n_read = done;
    return 0;
}

const char *snapshot_reader_errmsg(const struct snapshot_reader *r)
{
    return r->errmsg;
}

void snapshot_reader_close(struct snapshot_reader *r)
{
    if (r == NULL) {
        return;
    }
    io_fs_close(r->fs, r->file);
    craft_free(r->chunk);
    craft_free(r);
}
