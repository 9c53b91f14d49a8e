/* The receiving side of a snapshot transfer: raw file bytes written strictly in order into a
 * temporary file, the whole file checked, then published like a locally written snapshot. */
#include "snapshot_stream.h"

#include <stdio.h>

#include "snapshot_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

struct snapshot_sink {
    struct io_fs *fs;
    struct io_file *file; /* owned */
    uint64_t group;
    craft_index index;
    craft_term term;
    uint64_t off; /* bytes received, all written at [0, off) */
    int error;    /* the first I/O failure; final */
};

static int io_error(int rv)
{
    return rv == CRAFT_ENOSPC || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
}

int snapshot_sink_begin(struct io_fs *fs, craft_index index, craft_term term,
                        struct snapshot_sink **out)
{
    return snapshot_sink_begin_group(fs, SNAPSHOT_GROUP_DEFAULT, index, term, out);
}

int snapshot_sink_begin_group(struct io_fs *fs, uint64_t group, craft_index index, craft_term term,
                              struct snapshot_sink **out)
{
    if (group == 0 || index == 0 || term == 0) {
        return CRAFT_EINVAL;
    }
    struct snapshot_sink *sink = craft_calloc(1, sizeof *sink);
    if (sink == NULL) {
        return CRAFT_ENOMEM;
    }
    *sink = (struct snapshot_sink){.fs = fs, .group = group, .index = index, .term = term};
    char name[IO_FS_NAME_MAX];
    snapshot_recv_name(group, index, term, name, sizeof name);
    int rv = io_fs_open(fs, name, IO_FS_CREATE | IO_FS_TRUNC, &sink->file);
    if (rv != 0) {
        craft_free(sink);
        return io_error(rv);
    }
    *out = sink;
    return 0;
}

uint64_t snapshot_sink_offset(const struct snapshot_sink *sink)
{
    return sink->off;
}

int snapshot_sink_write(struct snapshot_sink *sink, uint64_t offset, const void *buf, size_t len)
{
    if (sink->error != 0) {
        return sink->error;
    }
    if (offset != sink->off) {
        return CRAFT_EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    int rv = io_fs_pwrite(sink->fs, sink->file, buf, len, offset);
    if (rv != 0) {
        sink->error = io_error(rv);
        return sink->error;
    }
    sink->off += len;
    return 0;
}

int snapshot_sink_finish(struct snapshot_sink *sink, struct craft_snapshot_meta *meta, char *errmsg,
                         size_t errmsg_len)
{
    int rv = sink->error;
    struct craft_snapshot_meta m;
    if (rv == 0) {
        rv = snapshot_verify(sink->fs, sink->file, sink->group, sink->index, sink->term, &m, errmsg,
                             errmsg_len);
    } else {
        snprintf(errmsg, errmsg_len, "an earlier write failed: %s", craft_strerror(rv));
    }
    bool renamed = false;
    if (rv == 0) {
        CRAFT_ASSERT(m.index == sink->index);
        CRAFT_ASSERT(m.term == sink->term);
        char tmp[IO_FS_NAME_MAX];
        snapshot_recv_name(sink->group, sink->index, sink->term, tmp, sizeof tmp);
        rv = snapshot_publish(sink->fs, sink->file, tmp, sink->group, &m, &renamed);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "publishing the snapshot: %s", craft_strerror(rv));
        }
    }
    if (!renamed) {
        snapshot_sink_abort(sink);
        return rv;
    }
    io_fs_close(sink->fs, sink->file);
    craft_free(sink);
    if (rv == 0) {
        *meta = m;
    }
    return rv;
}

void snapshot_sink_abort(struct snapshot_sink *sink)
{
    char tmp[IO_FS_NAME_MAX];
    snapshot_recv_name(sink->group, sink->index, sink->term, tmp, sizeof tmp);
    io_fs_close(sink->fs, sink->file);
    int rv = io_fs_unlink(sink->fs, tmp); /* best effort: snapshot_latest removes leftovers */
    (void)rv;
    craft_free(sink);
}
