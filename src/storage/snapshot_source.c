/* The sending side of a snapshot transfer: a durable snapshot file read as raw bytes at any
 * offset, so a sender can resume wherever the receiver says it stands. */
#include "snapshot_stream.h"

#include "snapshot_format.h"
#include "util/alloc.h"
#include "util/assert.h"

struct snapshot_source {
    struct io_fs *fs;
    struct io_file *file; /* owned */
    uint64_t size;        /* of the file at open; a published snapshot never changes */
};

int snapshot_source_open(struct io_fs *fs, craft_index index, craft_term term,
                         struct snapshot_source **out, struct craft_snapshot_meta *meta,
                         uint64_t *size)
{
    return snapshot_source_open_group(fs, SNAPSHOT_GROUP_DEFAULT, index, term, out, meta, size);
}

int snapshot_source_open_group(struct io_fs *fs, uint64_t group, craft_index index, craft_term term,
                               struct snapshot_source **out, struct craft_snapshot_meta *meta,
                               uint64_t *size)
{
    struct snapshot_source *src = craft_calloc(1, sizeof *src);
    if (src == NULL) {
        return CRAFT_ENOMEM;
    }
    src->fs = fs;
    char name[IO_FS_NAME_MAX];
    snapshot_file_name_group(group, index, term, name, sizeof name);
    int rv = io_fs_open(fs, name, 0, &src->file);
    if (rv != 0) {
        craft_free(src);
        return rv == CRAFT_ENOTFOUND || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    unsigned char header[SNAPSHOT_HEADER_MAX];
    size_t n_read = 0;
    rv = io_fs_size(fs, src->file, &src->size);
    if (rv == 0) {
        rv = io_fs_pread(fs, src->file, header, sizeof header, 0, &n_read);
    }
    if (rv != 0) {
        snapshot_source_close(src);
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    struct craft_snapshot_meta m;
    uint64_t header_group = 0;
    size_t header_size = snapshot_header_decode(header, n_read, &header_group, &m);
    if (header_size == 0 || header_group != group || m.index != index || m.term != term) {
        snapshot_source_close(src);
        return CRAFT_ECORRUPT;
    }
    CRAFT_ASSERT(header_size <= src->size);
    *meta = m;
    *size = src->size;
    *out = src;
    return 0;
}

int snapshot_source_read(struct snapshot_source *src, uint64_t offset, void *buf, size_t len,
                         size_t *n_read)
{
    if (offset > src->size) {
        return CRAFT_EINVAL;
    }
    uint64_t left = src->size - offset;
    size_t want = left < len ? (size_t)left : len;
    size_t got = 0;
    int rv = want > 0 ? io_fs_pread(src->fs, src->file, buf, want, offset, &got) : 0;
    if (rv != 0 || got != want) {
        return CRAFT_EIO; /* a short read of a file that does not change is an I/O failure */
    }
    *n_read = got;
    return 0;
}

void snapshot_source_close(struct snapshot_source *src)
{
    if (src == NULL) {
        return;
    }
    io_fs_close(src->fs, src->file);
    craft_free(src);
}
