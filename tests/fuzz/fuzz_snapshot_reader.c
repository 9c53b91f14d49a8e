/* libFuzzer target: a snapshot file of arbitrary bytes. It is named after the index and term its
 * header claims (bytes 16..31) and its group (bytes 40..47; 1 where they say 0, so a header of
 * group 0 is tried too), so a well-formed header is found; snapshot_latest and the reader
 * then run to the end or the first error. Every byte handed out must lie inside the file, and an
 * image that reads to its end must have the size the trailer promised. The same bytes received
 * by a snapshot sink (in pieces whose sizes come from the input) must be published exactly when
 * the reader read them to the end. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "storage/snapshot_format.h"
#include "storage/snapshot_store.h"
#include "storage/snapshot_stream.h"
#include "util/byteorder.h"

/* Returns true if the image read to its end without an error. */
static bool read_all(struct io_fs *fs, uint64_t group, craft_index index, craft_term term,
                     size_t file_len)
{
    struct snapshot_reader *r;
    struct craft_snapshot_meta meta;
    if (snapshot_reader_open_group(fs, group, index, term, &r, &meta) != 0) {
        return false;
    }
    FUZZ_CHECK(meta.index == index && meta.term == term);
    FUZZ_CHECK(snapshot_meta_valid(&meta)); /* counts, duplicates, voters and learners apart */
    static unsigned char buf[4096];
    size_t total = 0;
    bool ok = false;
    for (;;) {
        size_t n;
        int rv = snapshot_reader_read(r, buf, sizeof buf, &n);
        if (rv != 0) {
            FUZZ_CHECK(rv == CRAFT_ECORRUPT || rv == CRAFT_EIO);
            break;
        }
        if (n == 0) {
            ok = true;
            break;
        }
        total += n;
        FUZZ_CHECK(total <= file_len);
    }
    snapshot_reader_close(r);
    return ok;
}

/* Sends data through a sink in a fresh directory; returns finish's result. */
static int receive_all(uint64_t group, craft_index index, craft_term term, const uint8_t *data,
                       size_t size)
{
    struct io_fs_sim *sim;
    if (io_fs_sim_create(2, &sim) != 0) {
        return CRAFT_ENOMEM;
    }
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct snapshot_sink *sink;
    int rv = snapshot_sink_begin_group(fs, group, index, term, &sink);
    if (rv != 0) {
        io_fs_sim_destroy(sim);
        return rv;
    }
    for (size_t off = 0; off < size && rv == 0;) {
        size_t len = 1 + (size_t)data[off] * 7; /* piece sizes drawn from the input */
        if (len > size - off) {
            len = size - off;
        }
        FUZZ_CHECK(snapshot_sink_write(sink, off + 1, data + off, len) == CRAFT_EINVAL);
        rv = snapshot_sink_write(sink, off, data + off, len);
        off += len;
        FUZZ_CHECK(rv != 0 || snapshot_sink_offset(sink) == off);
    }
    struct craft_snapshot_meta meta;
    char errmsg[256];
    if (rv == 0) {
        rv = snapshot_sink_finish(sink, &meta, errmsg, sizeof errmsg);
        FUZZ_CHECK(rv != 0 || (meta.index == index && meta.term == term));
    } else {
        snapshot_sink_abort(sink);
    }
    io_fs_sim_destroy(sim);
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct io_fs_sim *sim;
    if (io_fs_sim_create(1, &sim) != 0) {
        return 0;
    }
    struct io_fs *fs = io_fs_sim_fs(sim);
    craft_index index = size >= 32 ? get_u64le(data + 16) : 1;
    craft_term term = size >= 32 ? get_u64le(data + 24) : 1;
    uint64_t group = size >= 48 ? get_u64le(data + 40) : 1;
    group = group != 0 ? group : 1;
    char name[IO_FS_NAME_MAX];
    snapshot_file_name_group(group, index, term, name, sizeof name);
    if (fuzz_put_file(fs, name, data, size) == 0) {
        struct craft_snapshot_meta meta;
        bool found = false;
        if (snapshot_latest_group(fs, group, &meta, &found) == 0 && found) {
            FUZZ_CHECK(meta.index == index && meta.term == term);
            FUZZ_CHECK(snapshot_meta_valid(&meta));
        }
        bool ok = read_all(fs, group, index, term, size);
        if (index != 0 && term != 0) {
            int rv = receive_all(group, index, term, data, size);
            FUZZ_CHECK(ok ? rv == 0 : rv == CRAFT_ECORRUPT);
        }
    }
    io_fs_sim_destroy(sim);
    return 0;
}
