/* Reading a snapshot file: the header, then chunk by chunk, each checked before a byte of it is
 * handed out; the end only once the trailer matches everything read. Also checks whole files
 * (snapshot_verify) for the sink. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "snapshot_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

struct snapshot_reader {
    struct io_fs *fs;
    struct io_file *file; /* owned when own_file */
    bool own_file;
    uint64_t size;     /* of the file, at open */
    uint64_t off;      /* of the next chunk or the trailer */
    uint32_t file_crc; /* of every byte before off */
    uint64_t data_bytes;
    uint64_t n_chunks;
    unsigned char *chunk; /* SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES; owned */
    size_t chunk_len;
    size_t chunk_pos;
    bool done;
    char errmsg[160];
};

static int reader_corrupt(struct snapshot_reader *r, const char *what)
{
    snprintf(r->errmsg, sizeof r->errmsg, "snapshot offset %" PRIu64 ": %s", r->off, what);
    return CRAFT_ECORRUPT;
}

/* Sets r up over f and checks the header; on error r holds nothing to free but the chunk. */
static int reader_start(struct snapshot_reader *r, struct io_fs *fs, struct io_file *f,
                        uint64_t group, craft_index index, craft_term term,
                        struct craft_snapshot_meta *meta)
{
    r->fs = fs;
    r->file = f;
    r->chunk = craft_malloc(SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES);
    if (r->chunk == NULL) {
        return CRAFT_ENOMEM;
    }
    unsigned char buf[SNAPSHOT_HEADER_MAX];
    size_t n_read;
    int rv = io_fs_size(fs, f, &r->size);
    if (rv == 0) {
        rv = io_fs_pread(fs, f, buf, sizeof buf, 0, &n_read);
    }
    if (rv != 0) {
        snprintf(r->errmsg, sizeof r->errmsg, "reading the header: %s", craft_strerror(rv));
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    uint64_t header_group = 0;
    size_t size = snapshot_header_decode(buf, n_read, &header_group, meta);
    if (size == 0) {
        return reader_corrupt(r, "bad header");
    }
    if (header_group != group || meta->index != index || meta->term != term) {
        return reader_corrupt(r, "the header is of another snapshot");
    }
    CRAFT_ASSERT(size <= n_read);
    r->off = size;
    r->file_crc = crc32c(0, buf, size);
    return 0;
}

int snapshot_reader_open(struct io_fs *fs, craft_index index, craft_term term,
                         struct snapshot_reader **out, struct craft_snapshot_meta *meta)
{
    return snapshot_reader_open_group(fs, SNAPSHOT_GROUP_DEFAULT, index, term, out, meta);
}

int snapshot_reader_open_group(struct io_fs *fs, uint64_t group, craft_index index, craft_term term,
                               struct snapshot_reader **out, struct craft_snapshot_meta *meta)
{
    char name[IO_FS_NAME_MAX];
    snapshot_file_name_group(group, index, term, name, sizeof name);
    struct snapshot_reader *r = craft_calloc(1, sizeof *r);
    if (r == NULL) {
        return CRAFT_ENOMEM;
    }
    struct io_file *f;
    int rv = io_fs_open(fs, name, 0, &f);
    if (rv != 0) {
        craft_free(r);
        return rv == CRAFT_ENOTFOUND || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    r->own_file = true;
    rv = reader_start(r, fs, f, group, index, term, meta);
    if (rv != 0) {
        snapshot_reader_close(r);
        return rv;
    }
    *out = r;
    return 0;
}

static int check_trailer(struct snapshot_reader *r)
{
    unsigned char b[SNAPSHOT_TRAILER_BYTES];
    size_t n_read;
    int rv = io_fs_pread(r->fs, r->file, b, sizeof b, r->off, &n_read);
    if (rv != 0) {
        return CRAFT_EIO;
    }
    struct snapshot_trailer t;
    if (n_read != sizeof b || !snapshot_trailer_decode(b, &t)) {
        return reader_corrupt(r, "bad trailer");
    }
    if (t.data_bytes != r->data_bytes || t.n_chunks != r->n_chunks) {
        return reader_corrupt(r, "the trailer's counts differ from the chunks read");
    }
    if (t.file_crc != r->file_crc) {
        return reader_corrupt(r, "the file fails the trailer's checksum");
    }
    if (r->off + sizeof b != r->size) {
        return reader_corrupt(r, "bytes after the trailer");
    }
    r->done = true;
    return 0;
}

/* Loads the next chunk, or checks the trailer and marks the end. */
static int next_chunk(struct snapshot_reader *r)
{
    size_t n_read;
    int rv = io_fs_pread(r->fs, r->file, r->chunk, SNAPSHOT_CHUNK_HEADER, r->off, &n_read);
    if (rv != 0) {
        return CRAFT_EIO;
    }
    if (n_read < SNAPSHOT_CHUNK_HEADER) {
        return reader_corrupt(r, "file ends without a trailer");
    }
    uint32_t len = get_u32le(r->chunk + 4);
    if (len == SNAPSHOT_TRAILER_MARK) {
        return check_trailer(r);
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
    r->file_crc = crc32c(r->file_crc, r->chunk, SNAPSHOT_CHUNK_HEADER + len);
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
    if (r->own_file) {
        io_fs_close(r->fs, r->file);
    }
    craft_free(r->chunk);
    craft_free(r);
}

int snapshot_verify(struct io_fs *fs, struct io_file *f, uint64_t group, craft_index index,
                    craft_term term, struct craft_snapshot_meta *meta, char *errmsg,
                    size_t errmsg_len)
{
    struct snapshot_reader *r = craft_calloc(1, sizeof *r);
    if (r == NULL) {
        return CRAFT_ENOMEM;
    }
    int rv = reader_start(r, fs, f, group, index, term, meta); /* borrows f */
    while (rv == 0 && !r->done) {
        rv = next_chunk(r);
    }
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "%s", r->errmsg[0] != '\0' ? r->errmsg : craft_strerror(rv));
    }
    snapshot_reader_close(r);
    return rv;
}
