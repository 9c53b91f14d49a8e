/* Unit tests for the simulated file system: what survives a crash under each policy, tearing,
 * fault injection, crash-point enumeration with die_after, dead handles, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "util/alloc.h"

/* Recorded from seed 1234; S sector-torn, A applied, L lost, P prefix-torn. A change here means
 * the seed stream or the tearing model changed: check it is on purpose, then record again. */
#define EXPECTED_TEAR_FATES "SAAALLAASALALAPALPLLAAAA"

static struct io_fs_sim *sim_new(uint64_t seed, enum io_fs_sim_crash_policy policy)
{
    struct io_fs_sim *sim;
    struct io_fs_sim_faults faults;

    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = policy;
    io_fs_sim_set_faults(sim, &faults);
    return sim;
}

/* Creates name with content, fdatasyncs it and syncs the directory. */
static void put_synced(struct io_fs_sim *sim, const char *name, const void *data, size_t len)
{
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;

    assert_int_equal(io_fs_open(fs, name, IO_FS_CREATE | IO_FS_TRUNC, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, data, len, 0), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    assert_int_equal(io_fs_sync_dir(fs), 0);
    io_fs_close(fs, f);
}

/* Asserts that name holds exactly data in view. */
static void assert_content(struct io_fs_sim *sim, const char *name, enum io_fs_sim_view view,
                           const void *data, size_t len)
{
    uint8_t buf[256];
    size_t n;
    uint64_t size;

    assert_true(len <= sizeof buf);
    assert_int_equal(io_fs_sim_file_size(sim, name, view, &size), 0);
    assert_int_equal(size, len);
    assert_int_equal(io_fs_sim_read(sim, name, view, 0, buf, sizeof buf, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(buf, data, len);
}

static void test_fs_sim_unsynced_write_lost_on_lose_all_crash(void **state)
{
    struct io_fs_sim *sim = sim_new(1, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;

    (void)state;
    put_synced(sim, "log", "durable", 7);
    assert_int_equal(io_fs_open(fs, "log", 0, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "+volatile", 9, 7), 0);
    assert_content(sim, "log", IO_FS_SIM_CURRENT, "durable+volatile", 16);
    assert_content(sim, "log", IO_FS_SIM_DURABLE, "durable", 7);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "log", IO_FS_SIM_CURRENT, "durable", 7);
    io_fs_close(fs, f);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_synced_write_survives_crash(void **state)
{
    struct io_fs_sim *sim = sim_new(2, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;

    (void)state;
    put_synced(sim, "log", "one", 3);
    assert_int_equal(io_fs_open(fs, "log", 0, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "two", 3, 3), 0);
    assert_int_equal(io_fs_truncate(fs, f, 5), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "log", IO_FS_SIM_CURRENT, "onetw", 5);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_keep_all_crash_keeps_everything(void **state)
{
    struct io_fs_sim *sim = sim_new(3, IO_FS_SIM_CRASH_KEEP_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;

    (void)state;
    assert_int_equal(io_fs_open(fs, "a", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "abc", 3, 0), 0);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_rename(fs, "a", "b"), 0);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_false(io_fs_sim_exists(sim, "a", IO_FS_SIM_CURRENT));
    assert_content(sim, "b", IO_FS_SIM_CURRENT, "abc", 3);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_rename_without_sync_dir_reverts(void **state)
{
    struct io_fs_sim *sim = sim_new(4, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);

    (void)state;
    put_synced(sim, "state", "old", 3);
    put_synced(sim, "state.tmp", "new", 3);
    assert_int_equal(io_fs_rename(fs, "state.tmp", "state"), 0);
    assert_content(sim, "state", IO_FS_SIM_CURRENT, "new", 3);
    assert_false(io_fs_sim_exists(sim, "state.tmp", IO_FS_SIM_CURRENT));
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "state", IO_FS_SIM_CURRENT, "old", 3);
    assert_content(sim, "state.tmp", IO_FS_SIM_CURRENT, "new", 3);

    /* With the directory synced, the rename holds. */
    assert_int_equal(io_fs_rename(fs, "state.tmp", "state"), 0);
    assert_int_equal(io_fs_sync_dir(fs), 0);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "state", IO_FS_SIM_CURRENT, "new", 3);
    assert_false(io_fs_sim_exists(sim, "state.tmp", IO_FS_SIM_CURRENT));
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_created_file_without_sync_dir_disappears(void **state)
{
    struct io_fs_sim *sim = sim_new(5, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;

    (void)state;
    assert_int_equal(io_fs_open(fs, "seg", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "data", 4, 0), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0); /* the data is durable, the name is not */
    io_fs_close(fs, f);
    assert_true(io_fs_sim_exists(sim, "seg", IO_FS_SIM_CURRENT));
    assert_false(io_fs_sim_exists(sim, "seg", IO_FS_SIM_DURABLE));
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_false(io_fs_sim_exists(sim, "seg", IO_FS_SIM_CURRENT));
    assert_int_equal(io_fs_open(fs, "seg", 0, &f), CRAFT_ENOTFOUND);

    /* An unlink without sync_dir comes back. */
    put_synced(sim, "keep", "k", 1);
    assert_int_equal(io_fs_unlink(fs, "keep"), 0);
    assert_false(io_fs_sim_exists(sim, "keep", IO_FS_SIM_CURRENT));
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "keep", IO_FS_SIM_CURRENT, "k", 1);
    io_fs_sim_destroy(sim);
}

enum outcome { LOST = 'L', APPLIED = 'A', PREFIX = 'P', SECTORS = 'S', OTHER = '?' };

/* Classifies which bytes of a write of len bytes filled with fill at offset landed in got. */
static enum outcome classify(const uint8_t *got, uint64_t offset, size_t len, uint8_t fill)
{
    size_t n_landed = 0;
    size_t first_old = len;

    for (size_t i = 0; i < len; i++) {
        if (got[i] == fill) {
            n_landed++;
        } else if (first_old == len) {
            first_old = i;
        }
    }
    if (n_landed == 0) {
        return LOST;
    }
    if (n_landed == len) {
        return APPLIED;
    }
    if (n_landed == first_old) {
        return PREFIX;
    }
    /* Otherwise every 512-byte sector piece must have landed whole or not at all. */
    for (size_t i = 0; i < len;) {
        uint64_t sector_end = ((offset + i) / IO_FS_SIM_SECTOR + 1) * IO_FS_SIM_SECTOR;
        size_t piece_end =
            (size_t)(sector_end - offset) < len ? (size_t)(sector_end - offset) : len;
        for (size_t j = i; j < piece_end; j++) {
            if ((got[j] == fill) != (got[i] == fill)) {
                return OTHER;
            }
        }
        i = piece_end;
    }
    return SECTORS;
}

#define TEAR_WRITES 24
#define TEAR_LEN 2000
#define TEAR_STRIDE 4096

/* Writes TEAR_WRITES pending writes over a synced zero file, crashes with RANDOM, and returns
 * each write's fate as a letter in out (TEAR_WRITES + 1 bytes). */
static void tear_run(uint64_t seed, char *out)
{
    struct io_fs_sim *sim = sim_new(seed, IO_FS_SIM_CRASH_RANDOM);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;
    static uint8_t buf[TEAR_LEN];
    uint64_t size;
    size_t n;

    assert_int_equal(io_fs_open(fs, "wal", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_fallocate(fs, f, TEAR_WRITES * TEAR_STRIDE), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    assert_int_equal(io_fs_sync_dir(fs), 0);
    for (int i = 0; i < TEAR_WRITES; i++) {
        memset(buf, i + 1, TEAR_LEN);
        /* Offsets off the sector grid, so a sector tear cuts the write at odd places. */
        assert_int_equal(io_fs_pwrite(fs, f, buf, TEAR_LEN, (uint64_t)i * TEAR_STRIDE + 100), 0);
    }
    assert_int_equal(io_fs_sim_crash(sim), 0);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sim_file_size(sim, "wal", IO_FS_SIM_CURRENT, &size), 0);
    assert_int_equal(size, TEAR_WRITES * TEAR_STRIDE);
    for (int i = 0; i < TEAR_WRITES; i++) {
        uint64_t offset = (uint64_t)i * TEAR_STRIDE + 100;
        assert_int_equal(io_fs_sim_read(sim, "wal", IO_FS_SIM_CURRENT, offset, buf, TEAR_LEN, &n),
                         0);
        assert_int_equal(n, TEAR_LEN);
        out[i] = (char)classify(buf, offset, TEAR_LEN, (uint8_t)(i + 1));
    }
    out[TEAR_WRITES] = '\0';
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_random_crash_tears_writes(void **state)
{
    char fates[TEAR_WRITES + 1];
    char again[TEAR_WRITES + 1];

    (void)state;
    tear_run(1234, fates);
    /* The fates for this seed, fixed: lost, applied, torn by prefix and torn by sector all
     * occur, and nothing else (no byte lands outside the model). */
    assert_string_equal(fates, EXPECTED_TEAR_FATES);
    assert_non_null(strchr(fates, LOST));
    assert_non_null(strchr(fates, APPLIED));
    assert_non_null(strchr(fates, PREFIX));
    assert_non_null(strchr(fates, SECTORS));
    assert_null(strchr(fates, OTHER));
    tear_run(1234, again);
    assert_string_equal(fates, again);
}

static void test_fs_sim_flip_bit_changes_exactly_one_bit(void **state)
{
    struct io_fs_sim *sim = sim_new(6, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;
    uint8_t want[8] = "abcdefgh";
    uint8_t got[8];
    size_t n;

    (void)state;
    put_synced(sim, "snap", want, sizeof want);
    assert_int_equal(io_fs_sim_flip_bit(sim, "snap", 8 * 3 + 5), 0);
    want[3] ^= 1u << 5;
    assert_content(sim, "snap", IO_FS_SIM_CURRENT, want, sizeof want);
    assert_content(sim, "snap", IO_FS_SIM_DURABLE, want, sizeof want);
    assert_int_equal(io_fs_open(fs, "snap", 0, &f), 0);
    assert_int_equal(io_fs_pread(fs, f, got, sizeof got, 0, &n), 0);
    assert_memory_equal(got, want, sizeof want);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "snap", IO_FS_SIM_CURRENT, want, sizeof want);
    assert_int_equal(io_fs_sim_flip_bit(sim, "snap", 64), CRAFT_EINVAL);
    assert_int_equal(io_fs_sim_flip_bit(sim, "nope", 0), CRAFT_ENOTFOUND);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_misdirected_write_lands_elsewhere(void **state)
{
    struct io_fs_sim *sim = sim_new(7, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;
    uint8_t buf[8];
    size_t n;

    (void)state;
    put_synced(sim, "wal", "AAAABBBBCCCC", 12);
    assert_int_equal(io_fs_open(fs, "wal", 0, &f), 0);
    io_fs_sim_misdirect_next_write(sim, 8);
    assert_int_equal(io_fs_pwrite(fs, f, "xxxx", 4, 0), 0); /* reported as success */
    assert_int_equal(io_fs_pread(fs, f, buf, 4, 0, &n), 0);
    assert_memory_equal(buf, "AAAA", 4);
    assert_int_equal(io_fs_pread(fs, f, buf, 4, 8, &n), 0);
    assert_memory_equal(buf, "xxxx", 4);
    /* One-shot: the next write lands where asked. */
    assert_int_equal(io_fs_pwrite(fs, f, "yyyy", 4, 4), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    io_fs_close(fs, f);
    assert_content(sim, "wal", IO_FS_SIM_DURABLE, "AAAAyyyyxxxx", 12);
    io_fs_sim_destroy(sim);
}

/* The atomic-replace workload: write state.tmp, fdatasync, rename over state, sync_dir. */
static void replace_state(struct io_fs *fs, const char *content)
{
    struct io_file *f;
    int rv = io_fs_open(fs, "state.tmp", IO_FS_CREATE | IO_FS_TRUNC, &f);

    if (rv != 0) {
        return; /* the process died; what is left is for the crash to judge */
    }
    rv = io_fs_pwrite(fs, f, content, strlen(content), 0);
    if (rv == 0) {
        rv = io_fs_fdatasync(fs, f);
    }
    if (rv == 0) {
        rv = io_fs_rename(fs, "state.tmp", "state");
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(fs);
    }
    (void)rv; /* a failure means the process died; the caller's crash judges what is left */
    io_fs_close(fs, f);
}

static void test_fs_sim_die_after_stops_effects(void **state)
{
    struct io_fs_sim *sim = sim_new(8, IO_FS_SIM_CRASH_RANDOM);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;
    uint64_t base;
    uint64_t n_ops;

    (void)state;
    /* A first run counts the workload's operations. */
    put_synced(sim, "state", "v1", 2);
    base = io_fs_sim_ops(sim);
    replace_state(fs, "version-2");
    n_ops = io_fs_sim_ops(sim) - base;
    assert_int_equal(n_ops, 5); /* open+trunc, pwrite, fdatasync, rename, sync_dir */
    io_fs_sim_destroy(sim);

    /* Then the process dies after each k of them; whatever the crash does, state is whole. */
    for (uint64_t seed = 0; seed < 20; seed++) {
        for (uint64_t k = 0; k <= n_ops; k++) {
            uint8_t buf[16];
            size_t n;

            sim = sim_new(seed, IO_FS_SIM_CRASH_RANDOM);
            fs = io_fs_sim_fs(sim);
            put_synced(sim, "state", "v1", 2);
            base = io_fs_sim_ops(sim);
            io_fs_sim_die_after(sim, base + k);
            replace_state(fs, "version-2");
            /* The k live calls and the one that found the process dead were counted. */
            assert_true(io_fs_sim_ops(sim) - base >= (k < n_ops ? k + 1 : n_ops));
            if (k == 0) {
                assert_false(io_fs_sim_exists(sim, "state.tmp", IO_FS_SIM_CURRENT));
            }
            assert_int_equal(io_fs_sim_crash(sim), 0);
            assert_int_equal(io_fs_sim_read(sim, "state", IO_FS_SIM_CURRENT, 0, buf, 16, &n), 0);
            if (k == n_ops) {
                assert_int_equal(n, 9);
                assert_memory_equal(buf, "version-2", 9);
            } else {
                assert_true((n == 2 && memcmp(buf, "v1", 2) == 0) ||
                            (n == 9 && memcmp(buf, "version-2", 9) == 0));
            }
            io_fs_sim_destroy(sim);
        }
    }

    /* A dead process's write fails and has no effect; reads still work; crash revives. */
    sim = sim_new(9, IO_FS_SIM_CRASH_KEEP_ALL);
    fs = io_fs_sim_fs(sim);
    put_synced(sim, "log", "abc", 3);
    assert_int_equal(io_fs_open(fs, "log", 0, &f), 0);
    io_fs_sim_die_after(sim, io_fs_sim_ops(sim));
    assert_int_equal(io_fs_pwrite(fs, f, "zzz", 3, 0), CRAFT_EIO);
    assert_int_equal(io_fs_unlink(fs, "log"), CRAFT_EIO);
    assert_content(sim, "log", IO_FS_SIM_CURRENT, "abc", 3);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "log", IO_FS_SIM_CURRENT, "abc", 3);
    assert_int_equal(io_fs_unlink(fs, "log"), 0);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_capacity_gives_enospc(void **state)
{
    struct io_fs_sim *sim;
    struct io_fs *fs;
    struct io_fs_sim_faults faults;
    struct io_file *f;
    static uint8_t buf[800];
    uint64_t size;

    (void)state;
    assert_int_equal(io_fs_sim_create(10, &sim), 0);
    fs = io_fs_sim_fs(sim);
    io_fs_sim_faults_init(&faults);
    faults.capacity_bytes = 1000;
    io_fs_sim_set_faults(sim, &faults);
    assert_int_equal(io_fs_open(fs, "a", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, buf, 800, 0), 0);
    assert_int_equal(io_fs_pwrite(fs, f, buf, 300, 800), CRAFT_ENOSPC);
    assert_int_equal(io_fs_size(fs, f, &size), 0);
    assert_int_equal(size, 800);
    assert_int_equal(io_fs_pwrite(fs, f, buf, 300, 500), 0); /* overwriting costs nothing */
    assert_int_equal(io_fs_fallocate(fs, f, 1001), CRAFT_ENOSPC);
    assert_int_equal(io_fs_truncate(fs, f, 1001), CRAFT_ENOSPC);
    assert_int_equal(io_fs_truncate(fs, f, 1000), 0);
    assert_int_equal(io_fs_truncate(fs, f, 10), 0); /* shrinking frees space */
    assert_int_equal(io_fs_pwrite(fs, f, buf, 800, 10), 0);
    io_fs_close(fs, f);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_write_and_fsync_faults(void **state)
{
    struct io_fs_sim *sim;
    struct io_fs *fs;
    struct io_fs_sim_faults faults;
    struct io_file *f;
    uint8_t dur[128];
    size_t n_dur;

    (void)state;
    assert_int_equal(io_fs_sim_create(11, &sim), 0);
    fs = io_fs_sim_fs(sim);
    put_synced(sim, "a", "base", 4);
    assert_int_equal(io_fs_open(fs, "a", 0, &f), 0);
    io_fs_sim_faults_init(&faults);
    faults.write_eio_ppm = 1000000;
    io_fs_sim_set_faults(sim, &faults);
    assert_int_equal(io_fs_pwrite(fs, f, "x", 1, 0), CRAFT_EIO);
    faults.write_eio_ppm = 0;
    faults.write_enospc_ppm = 1000000;
    io_fs_sim_set_faults(sim, &faults);
    assert_int_equal(io_fs_pwrite(fs, f, "x", 1, 0), CRAFT_ENOSPC);
    assert_content(sim, "a", IO_FS_SIM_CURRENT, "base", 4);

    /* A failed fdatasync: reads still see every write, but what did not land never will. */
    faults.write_enospc_ppm = 0;
    io_fs_sim_set_faults(sim, &faults);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(io_fs_pwrite(fs, f, "0123", 4, 4 + 4 * (uint64_t)i), 0);
    }
    faults.fsync_eio_ppm = 1000000;
    io_fs_sim_set_faults(sim, &faults);
    assert_int_equal(io_fs_fdatasync(fs, f), CRAFT_EIO);
    assert_int_equal(io_fs_sim_read(sim, "a", IO_FS_SIM_DURABLE, 0, dur, sizeof dur, &n_dur), 0);
    faults.fsync_eio_ppm = 0;
    faults.crash_policy = IO_FS_SIM_CRASH_KEEP_ALL;
    io_fs_sim_set_faults(sim, &faults);
    assert_int_equal(io_fs_fdatasync(fs, f), 0); /* succeeds, and persists nothing more */
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "a", IO_FS_SIM_CURRENT, dur, n_dur);
    assert_true(n_dur < 68 || memcmp(dur + 4, "0123012301230123", 16) != 0);
    io_fs_close(fs, f);
    io_fs_sim_destroy(sim);
}

static void test_fs_sim_handles_after_crash_return_eio(void **state)
{
    struct io_fs_sim *sim = sim_new(12, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_file *f;
    struct io_file *unlinked;
    uint8_t buf[4];
    size_t n;
    uint64_t size;

    (void)state;
    put_synced(sim, "a", "abcd", 4);
    assert_int_equal(io_fs_open(fs, "a", 0, &f), 0);
    /* An unlinked file stays readable through its handle until the crash. */
    assert_int_equal(io_fs_open(fs, "gone", IO_FS_CREATE, &unlinked), 0);
    assert_int_equal(io_fs_pwrite(fs, unlinked, "zz", 2, 0), 0);
    assert_int_equal(io_fs_unlink(fs, "gone"), 0);
    assert_int_equal(io_fs_pread(fs, unlinked, buf, 2, 0, &n), 0);
    assert_memory_equal(buf, "zz", 2);

    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_int_equal(io_fs_pread(fs, f, buf, 4, 0, &n), CRAFT_EIO);
    assert_int_equal(io_fs_pwrite(fs, f, "x", 1, 0), CRAFT_EIO);
    assert_int_equal(io_fs_fdatasync(fs, f), CRAFT_EIO);
    assert_int_equal(io_fs_size(fs, f, &size), CRAFT_EIO);
    assert_int_equal(io_fs_truncate(fs, f, 0), CRAFT_EIO);
    assert_int_equal(io_fs_fallocate(fs, f, 10), CRAFT_EIO);
    assert_int_equal(io_fs_pread(fs, unlinked, buf, 2, 0, &n), CRAFT_EIO);
    io_fs_close(fs, f);
    /* unlinked is left open on purpose: destroy frees it. */
    assert_content(sim, "a", IO_FS_SIM_CURRENT, "abcd", 4);
    io_fs_sim_destroy(sim);
}

static int count_name(void *arg, const char *name)
{
    (void)name;
    (*(int *)arg)++;
    return 0;
}

/* A mixed workload under RANDOM crashes; returns a digest of every file after the last crash. */
static uint64_t workload_digest(uint64_t seed)
{
    struct io_fs_sim *sim = sim_new(seed, IO_FS_SIM_CRASH_RANDOM);
    struct io_fs *fs = io_fs_sim_fs(sim);
    uint64_t digest = 1469598103934665603ULL;
    static const char *names[] = {"a", "b", "c"};

    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 3; i++) {
            struct io_file *f;
            uint8_t buf[700];
            memset(buf, 'a' + round * 3 + i, sizeof buf);
            assert_int_equal(io_fs_open(fs, names[i], IO_FS_CREATE, &f), 0);
            assert_int_equal(io_fs_pwrite(fs, f, buf, sizeof buf, (uint64_t)round * 300), 0);
            if ((round + i) % 2 == 0) {
                assert_int_equal(io_fs_fdatasync(fs, f), 0);
            }
            io_fs_close(fs, f);
        }
        if (round % 2 == 1) {
            assert_int_equal(io_fs_sync_dir(fs), 0);
        }
        assert_int_equal(io_fs_sim_crash(sim), 0);
    }
    for (int i = 0; i < 3; i++) {
        uint8_t buf[4096];
        size_t n = 0;
        if (io_fs_sim_read(sim, names[i], IO_FS_SIM_CURRENT, 0, buf, sizeof buf, &n) != 0) {
            digest = (digest ^ 0xdead) * 1099511628211ULL;
        }
        for (size_t j = 0; j < n; j++) {
            digest = (digest ^ buf[j]) * 1099511628211ULL;
        }
        digest = (digest ^ n) * 1099511628211ULL;
    }
    int n_names = 0;
    assert_int_equal(io_fs_list(fs, count_name, &n_names), 0);
    digest = (digest ^ (uint64_t)n_names) * 1099511628211ULL;
    io_fs_sim_destroy(sim);
    return digest;
}

static void test_fs_sim_same_seed_same_outcome(void **state)
{
    (void)state;
    assert_true(workload_digest(77) == workload_digest(77));
    assert_true(workload_digest(78) == workload_digest(78));
    /* And the seed matters: these two differ. */
    assert_true(workload_digest(77) != workload_digest(78));
}

/* Every allocation the simulator makes may fail: each failure is reported, nothing leaks (the
 * sanitizer build checks), and destroy works from any state. */
static void test_fs_sim_allocation_failures_are_clean(void **state)
{
    (void)state;
    for (long n = 0; n < 60; n++) {
        struct io_fs_sim *sim;
        struct io_fs *fs;
        struct io_file *f = NULL;
        int rv;

        alloc_fail_after(n);
        if (io_fs_sim_create((uint64_t)n, &sim) != 0) {
            alloc_fail_reset();
            continue;
        }
        fs = io_fs_sim_fs(sim);
        rv = io_fs_open(fs, "a", IO_FS_CREATE, &f);
        if (rv == 0) {
            rv = io_fs_pwrite(fs, f, "hello", 5, 4000);
            rv = rv == 0 ? io_fs_fdatasync(fs, f) : rv;
            rv = rv == 0 ? io_fs_pwrite(fs, f, "world", 5, 0) : rv;
        }
        rv = rv == 0 ? io_fs_rename(fs, "a", "b") : rv;
        rv = rv == 0 ? io_fs_sync_dir(fs) : rv;
        assert_true(rv == 0 || rv == CRAFT_ENOMEM);
        rv = io_fs_sim_crash(sim);
        assert_true(rv == 0 || rv == CRAFT_ENOMEM);
        io_fs_close(fs, f);
        alloc_fail_reset();
        io_fs_sim_destroy(sim);
    }
}

/* kill -9 without power loss: handles die, the page cache stays (visible, still pending). */
static void test_fs_sim_kill_keeps_the_page_cache(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sim_new(5, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    put_synced(sim, "a", "old", 3);
    struct io_file *f;
    assert_int_equal(io_fs_open(fs, "a", 0, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "new", 3, 0), 0);
    struct io_file *g;
    assert_int_equal(io_fs_open(fs, "b", IO_FS_CREATE, &g), 0); /* name not synced */
    io_fs_sim_die_after(sim, 0);
    io_fs_sim_kill(sim);
    /* The dead process's handles fail; closing them still frees them. */
    size_t n;
    char buf[8];
    assert_int_equal(io_fs_pread(fs, f, buf, sizeof buf, 0, &n), CRAFT_EIO);
    assert_int_equal(io_fs_pwrite(fs, g, "x", 1, 0), CRAFT_EIO);
    io_fs_close(fs, f);
    io_fs_close(fs, g);
    /* The next process sees the page cache; die_after was cleared with the process. */
    assert_content(sim, "a", IO_FS_SIM_CURRENT, "new", 3);
    assert_content(sim, "a", IO_FS_SIM_DURABLE, "old", 3);
    assert_true(io_fs_sim_exists(sim, "b", IO_FS_SIM_CURRENT));
    assert_false(io_fs_sim_exists(sim, "b", IO_FS_SIM_DURABLE));
    assert_int_equal(io_fs_open(fs, "a", 0, &f), 0);
    assert_int_equal(io_fs_pread(fs, f, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "new", 3);
    /* Still pending: a power loss now takes the write and the name away... */
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "a", IO_FS_SIM_CURRENT, "old", 3);
    assert_false(io_fs_sim_exists(sim, "b", IO_FS_SIM_CURRENT));
    io_fs_sim_destroy(sim);
}

/* ...while a sync by the next process makes the dead one's writes durable. */
static void test_fs_sim_kill_then_sync_makes_it_durable(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sim_new(6, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    put_synced(sim, "a", "old", 3);
    struct io_file *f;
    assert_int_equal(io_fs_open(fs, "a", 0, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "new", 3, 0), 0);
    io_fs_sim_kill(sim);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_open(fs, "a", 0, &f), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "a", IO_FS_SIM_CURRENT, "new", 3);
    io_fs_sim_destroy(sim);
}

/* A failed sync_dir makes nothing durable; the changes stay pending for the next one. */
static void test_fs_sim_sync_dir_eio_makes_nothing_durable(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sim_new(7, IO_FS_SIM_CRASH_LOSE_ALL);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_LOSE_ALL;
    faults.sync_dir_eio_ppm = 1000000;
    io_fs_sim_set_faults(sim, &faults);
    struct io_file *f;
    assert_int_equal(io_fs_open(fs, "a", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "abc", 3, 0), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    io_fs_close(fs, f);
    assert_int_equal(io_fs_sync_dir(fs), CRAFT_EIO);
    assert_false(io_fs_sim_exists(sim, "a", IO_FS_SIM_DURABLE));
    assert_true(io_fs_sim_exists(sim, "a", IO_FS_SIM_CURRENT));
    faults.sync_dir_eio_ppm = 0;
    io_fs_sim_set_faults(sim, &faults);
    assert_int_equal(io_fs_sync_dir(fs), 0);
    assert_true(io_fs_sim_exists(sim, "a", IO_FS_SIM_DURABLE));
    assert_int_equal(io_fs_sim_crash(sim), 0);
    assert_content(sim, "a", IO_FS_SIM_CURRENT, "abc", 3);
    io_fs_sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_sim_unsynced_write_lost_on_lose_all_crash),
        cmocka_unit_test(test_fs_sim_synced_write_survives_crash),
        cmocka_unit_test(test_fs_sim_keep_all_crash_keeps_everything),
        cmocka_unit_test(test_fs_sim_rename_without_sync_dir_reverts),
        cmocka_unit_test(test_fs_sim_created_file_without_sync_dir_disappears),
        cmocka_unit_test(test_fs_sim_random_crash_tears_writes),
        cmocka_unit_test(test_fs_sim_flip_bit_changes_exactly_one_bit),
        cmocka_unit_test(test_fs_sim_misdirected_write_lands_elsewhere),
        cmocka_unit_test(test_fs_sim_die_after_stops_effects),
        cmocka_unit_test(test_fs_sim_capacity_gives_enospc),
        cmocka_unit_test(test_fs_sim_write_and_fsync_faults),
        cmocka_unit_test(test_fs_sim_handles_after_crash_return_eio),
        cmocka_unit_test(test_fs_sim_same_seed_same_outcome),
        cmocka_unit_test(test_fs_sim_allocation_failures_are_clean),
        cmocka_unit_test(test_fs_sim_kill_keeps_the_page_cache),
        cmocka_unit_test(test_fs_sim_kill_then_sync_makes_it_durable),
        cmocka_unit_test(test_fs_sim_sync_dir_eio_makes_nothing_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
