/* libFuzzer target: WAL recovery over arbitrary segment files. Input: one byte of settings (bit
 * 0-1: the first segment's sequence number - 1; bit 2: a gap of one in the numbering; bit 3:
 * 8 KiB instead of 4 KiB segments; bit 4: the last file is a segment creation cut short,
 * `wal-<seq>.seg.tmp`), then up to four files, each a 16-bit little-endian length and that many
 * bytes. wal_open may fail with any code; if it opens, the `.tmp` is gone, every recovered entry
 * of every group must be readable and equal to what wal_read_group returns, and the log must take
 * one more batch and reopen. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "storage/wal.h"

#define FILES_MAX 4

/* Checks one group's recovered entries against what the WAL reads back. */
static void check_group(struct wal *w, uint64_t group)
{
    size_t n;
    const struct craft_entry *got = wal_recovered_group(w, group, &n);
    static unsigned char buf[1 << 17];
    FUZZ_CHECK(n == 0 || wal_last_index_group(w, group) == got[n - 1].index);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(got[i].index == wal_first_index_group(w, group) + i);
        FUZZ_CHECK(i == 0 || got[i].term >= got[i - 1].term);
        struct craft_entry e;
        int rv = wal_read_group(w, group, got[i].index, &e, buf, sizeof buf);
        if (rv == CRAFT_ETOOBIG) {
            continue;
        }
        FUZZ_CHECK(rv == 0);
        FUZZ_CHECK(e.term == got[i].term);
        FUZZ_CHECK(e.data.len == got[i].data.len);
        FUZZ_CHECK(e.data.len == 0 || memcmp(e.data.base, got[i].data.base, e.data.len) == 0);
    }
}

/* Checks an opened WAL, and closes it. */
static void check_open_wal(struct io_fs *fs, const struct wal_config *cfg, struct wal *w)
{
    size_t n;
    const struct craft_entry *got = wal_recovered(w, &n);
    for (size_t i = 0; i < wal_n_groups(w); i++) {
        FUZZ_CHECK(i == 0 || wal_group_id(w, i) > wal_group_id(w, i - 1));
        check_group(w, wal_group_id(w, i));
    }
    craft_index last = wal_last_index(w);
    craft_term term = last > 0 ? wal_term_at(w, last) : 1;
    FUZZ_CHECK(n == 0 || last == got[n - 1].index);
    wal_recovered_release(w);
    struct craft_entry e = {
        .term = term, .index = last + 1, .type = CRAFT_ENTRY_NORMAL, .data = {"fuzz", 4}};
    if (last + 1 == 0 || wal_append(w, &e, 1) != 0 || wal_sync(w) != 0) {
        wal_close(w);
        return;
    }
    wal_close(w);
    char errmsg[256];
    struct wal *again = NULL;
    int rv = wal_open(fs, cfg, &again, NULL, errmsg, sizeof errmsg);
    /* What one open accepted and then extended, the next open accepts too. */
    if (rv != 0) {
        fprintf(stderr, "reopen after recovery + one batch: %s: %s\n", craft_errname(rv), errmsg);
    }
    FUZZ_CHECK(rv == 0);
    FUZZ_CHECK(wal_last_index(again) == last + 1);
    wal_close(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t settings = data[0];
    data++;
    size--;
    struct io_fs_sim *sim;
    if (io_fs_sim_create(1, &sim) != 0) {
        return 0;
    }
    struct io_fs *fs = io_fs_sim_fs(sim);
    uint64_t seq = 1 + (settings & 3u);
    char tmp[IO_FS_NAME_MAX] = "";
    for (int i = 0; i < FILES_MAX && size >= 2; i++) {
        size_t len = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (len > size) {
            len = size;
        }
        char name[IO_FS_NAME_MAX];
        snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)seq);
        if ((settings & 16u) && (i == FILES_MAX - 1 || size - len < 2)) {
            strcat(name, ".tmp"); /* the last file */
            snprintf(tmp, sizeof tmp, "%s", name);
        }
        if (fuzz_put_file(fs, name, data, len) != 0) {
            io_fs_sim_destroy(sim);
            return 0;
        }
        data += len;
        size -= len;
        seq += (settings & 4u) && i == 0 ? 2 : 1;
    }
    struct wal_config cfg;
    wal_config_init(&cfg);
    cfg.segment_bytes = (settings & 8u) ? 8192 : 4096;
    struct wal *w = NULL;
    char errmsg[256];
    int rv = wal_open(fs, &cfg, &w, NULL, errmsg, sizeof errmsg);
    if (rv == 0) {
        FUZZ_CHECK(tmp[0] == '\0' || !io_fs_sim_exists(sim, tmp, IO_FS_SIM_CURRENT));
        check_open_wal(fs, &cfg, w);
    }
    io_fs_sim_destroy(sim);
    return 0;
}
