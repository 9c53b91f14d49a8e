/* libFuzzer target: a snapshot file of arbitrary bytes. It is named after the index and term its
 * header claims (bytes 16..31), so a well-formed header is found; snapshot_latest and the reader
 * then run to the end or the first error. Every byte handed out must lie inside the file, and an
 * image that reads to its end must have the size the trailer promised. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "storage/snapshot_format.h"
#include "storage/snapshot_store.h"
#include "util/byteorder.h"

static void read_all(struct io_fs *fs, craft_index index, craft_term term, size_t file_len)
{
    struct snapshot_reader *r;
    struct craft_snapshot_meta meta;
    if (snapshot_reader_open(fs, index, term, &r, &meta) != 0) {
        return;
    }
    FUZZ_CHECK(meta.index == index && meta.term == term);
    FUZZ_CHECK(snapshot_meta_valid(&meta)); /* counts, duplicates, voters and learners apart */
    static unsigned char buf[4096];
    size_t total = 0;
    for (;;) {
        size_t n;
        int rv = snapshot_reader_read(r, buf, sizeof buf, &n);
        if (rv != 0) {
            FUZZ_CHECK(rv == CRAFT_ECORRUPT || rv == CRAFT_EIO);
            break;
        }
        if (n == 0) {
            break;
        }
        total += n;
        FUZZ_CHECK(total <= file_len);
    }
    snapshot_reader_close(r);
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
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(index, term, name, sizeof name);
    if (fuzz_put_file(fs, name, data, size) == 0) {
        struct craft_snapshot_meta meta;
        bool found = false;
        if (snapshot_latest(fs, &meta, &found) == 0 && found) {
            FUZZ_CHECK(meta.index == index && meta.term == term);
            FUZZ_CHECK(snapshot_meta_valid(&meta));
        }
        read_all(fs, index, term, size);
    }
    io_fs_sim_destroy(sim);
    return 0;
}
