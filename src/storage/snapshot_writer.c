/* Writing a snapshot file: the header, the image in checksummed chunks, the trailer with the
 * counts and the checksum of the whole file, then publishing it (snapshot_dir.c). */
#include <string.h>

#include "snapshot_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/crc32c.h"

struct snapshot_writer {
    struct io_fs *fs;
    struct io_file *file; /* owned */
    uint64_t group;
    struct craft_snapshot_meta meta;
    uint64_t off;
    uint32_t file_crc; /* of every byte written so far */
    uint64_t data_bytes;
    uint64_t n_chunks;
    unsigned char *chunk; /* SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES; owned */
    size_t chunk_len;
    int error; /* the first failure, returned by every later call */
};

static int io_error(int rv)
{
    return rv == CRAFT_ENOSPC || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
}

static int writer_put(struct snapshot_writer *w, const void *buf, size_t len)
{
    if (w->error != 0) {
        return w->error;
    }
    int rv = io_fs_pwrite(w->fs, w->file, buf, len, w->off);
    if (rv != 0) {
        w->error = io_error(rv);
        return w->error;
    }
    w->file_crc = crc32c(w->file_crc, buf, len);
    w->off += len;
    return 0;
}

int snapshot_writer_begin(struct io_fs *fs, const struct craft_snapshot_meta *meta,
                          struct snapshot_writer **out)
{
    return snapshot_writer_begin_group(fs, SNAPSHOT_GROUP_DEFAULT, meta, out);
}

int snapshot_writer_begin_group(struct io_fs *fs, uint64_t group,
                                const struct craft_snapshot_meta *meta,
                                struct snapshot_writer **out)
{
    if (group == 0 || !snapshot_meta_valid(meta)) {
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
    w->group = group;
    w->meta = *meta;
    char name[IO_FS_NAME_MAX];
    snapshot_tmp_name(group, meta->index, meta->term, name, sizeof name);
    int rv = io_fs_open(fs, name, IO_FS_CREATE | IO_FS_TRUNC, &w->file);
    if (rv != 0) {
        craft_free(w->chunk);
        craft_free(w);
        return io_error(rv);
    }
    unsigned char header[SNAPSHOT_HEADER_MAX];
    size_t size = snapshot_header_encode(group, meta, header);
    rv = writer_put(w, header, size);
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
    snapshot_chunk_seal(w->chunk, w->chunk_len);
    int rv = writer_put(w, w->chunk, SNAPSHOT_CHUNK_HEADER + w->chunk_len);
    w->n_chunks++;
    w->chunk_len = 0;
    return rv;
}

int snapshot_writer_write(struct snapshot_writer *w, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0 && w->error == 0) {
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

int snapshot_writer_finish(struct snapshot_writer *w)
{
    uint64_t file_bytes;
    return snapshot_writer_finish_size(w, &file_bytes);
}

int snapshot_writer_finish_size(struct snapshot_writer *w, uint64_t *file_bytes)
{
    int rv = flush_chunk(w);
    if (rv == 0) {
        unsigned char trailer[SNAPSHOT_TRAILER_BYTES];
        struct snapshot_trailer t = {
            .data_bytes = w->data_bytes, .n_chunks = w->n_chunks, .file_crc = w->file_crc};
        snapshot_trailer_encode(&t, trailer);
        rv = writer_put(w, trailer, sizeof trailer);
    }
    bool renamed = false;
    if (rv == 0) {
        char tmp[IO_FS_NAME_MAX];
        snapshot_tmp_name(w->group, w->meta.index, w->meta.term, tmp, sizeof tmp);
        rv = snapshot_publish(w->fs, w->file, tmp, w->group, &w->meta, &renamed);
    }
    if (!renamed) {
        snapshot_writer_abort(w);
        return rv;
    }
    if (rv == 0) {
        *file_bytes = w->off; /* everything was written: the trailer ends the file */
    }
    io_fs_close(w->fs, w->file);
    craft_free(w->chunk);
    craft_free(w);
    return rv;
}

void snapshot_writer_abort(struct snapshot_writer *w)
{
    char tmp[IO_FS_NAME_MAX];
    snapshot_tmp_name(w->group, w->meta.index, w->meta.term, tmp, sizeof tmp);
    io_fs_close(w->fs, w->file);
    int rv = io_fs_unlink(w->fs, tmp); /* best effort: snapshot_latest removes leftovers */
    (void)rv;
    craft_free(w->chunk);
    craft_free(w);
}
