/* A simulated io_fs for tests and the deterministic simulator: files in memory with a page-cache
 * model (unsynced writes lost, applied or torn on a crash), deterministic fault injection and
 * crash-point enumeration, all driven by one seed. See docs/IO.md for the model. */
#ifndef CRAFT_IO_SIM_FS_SIM_H
#define CRAFT_IO_SIM_FS_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "io/fs.h"

struct io_fs_sim; /* opaque; one thread at a time */

/* What happens at a crash to writes, size changes and directory changes not yet synced. */
enum io_fs_sim_crash_policy {
    IO_FS_SIM_CRASH_LOSE_ALL = 1, /* all lost: only synced state survives */
    IO_FS_SIM_CRASH_KEEP_ALL = 2, /* all landed: the crash loses nothing */
    /* Each pending write independently lost, landed, or torn (a random prefix of its bytes, or a
     * random subset of its 512-byte sectors); each size change lost or landed; a random prefix
     * of the directory changes since the last sync_dir landed (the journal commits in order). */
    IO_FS_SIM_CRASH_RANDOM = 3,
};

/* The sector size of the tearing model: a sector lands whole or not at all. */
#define IO_FS_SIM_SECTOR 512

/* A file may not grow past this (a write or size change beyond it fails with CRAFT_EINVAL): the
 * content lives in memory. */
#define IO_FS_SIM_FILE_MAX ((uint64_t)1 << 32)

/* The fault knobs; fill with io_fs_sim_faults_init, then edit. Probabilities are per million. */
struct io_fs_sim_faults {
    uint32_t write_eio_ppm;    /* a pwritev fails with CRAFT_EIO and has no effect */
    uint32_t write_enospc_ppm; /* a pwritev fails with CRAFT_ENOSPC and has no effect */
    /* An fdatasync fails with CRAFT_EIO; each of the file's pending writes then has landed, not
     * landed, or torn, per the seed, and the ones that did not land never will (like Linux after
     * a failed fsync, the pages are clean: reads still see the data until a crash). */
    uint32_t fsync_eio_ppm;
    uint64_t capacity_bytes; /* total current size of all files; 0 = unlimited. CRAFT_ENOSPC */
    /* A sync_dir fails with CRAFT_EIO and makes nothing durable: the directory changes since the
     * last sync_dir stay pending (a later sync_dir or a crash decides them). */
    uint32_t sync_dir_eio_ppm;
    enum io_fs_sim_crash_policy crash_policy;
};

/* No faults, unlimited capacity, crash policy RANDOM. */
void io_fs_sim_faults_init(struct io_fs_sim_faults *faults);

/* Creates an empty simulated directory whose every random choice derives from seed. *out is
 * owned by the caller until io_fs_sim_destroy. Returns 0 or CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int io_fs_sim_create(uint64_t seed, struct io_fs_sim **out);

/* Frees everything, including io_files still open (they must not be used afterwards). */
void io_fs_sim_destroy(struct io_fs_sim *sim);

/* The io_fs to hand to storage; lives as long as sim. */
struct io_fs *io_fs_sim_fs(struct io_fs_sim *sim);

/* Replaces the fault configuration (copied). Takes effect from the next call. */
void io_fs_sim_set_faults(struct io_fs_sim *sim, const struct io_fs_sim_faults *faults);

/* Power loss. Every open io_file becomes invalid: any call with it returns CRAFT_EIO, and
 * io_fs_close still frees it. The directory reverts to its last synced state and each file to
 * its synced content, plus whichever pending changes the crash policy lets land. Clears
 * die_after and a pending misdirection (the process restarts). Returns 0, or CRAFT_ENOMEM after
 * which sim is fit only for io_fs_sim_destroy. */
CRAFT_MUST_CHECK int io_fs_sim_crash(struct io_fs_sim *sim);

/* The process dies (kill -9) but the machine keeps running: every open io_file becomes invalid
 * (any call with it returns CRAFT_EIO; io_fs_close still frees it), die_after and a pending
 * misdirection are cleared, and nothing else changes: writes and directory changes no sync
 * covered stay in the page cache, visible to the next process and still pending (a later sync
 * makes them durable, a later crash decides them by the policy). */
void io_fs_sim_kill(struct io_fs_sim *sim);

/* The number of mutating calls so far (each pwritev, fdatasync, truncate, fallocate, sync_dir,
 * rename, unlink, and open with IO_FS_CREATE or IO_FS_TRUNC counts one, whether it succeeded or
 * not; calls refused for a bad name or an invalid handle do not count). Never reset. */
uint64_t io_fs_sim_ops(const struct io_fs_sim *sim);

/* The number of fdatasync calls that were carried out (counted after a dying process's refusal,
 * so every call that could make data durable counts, whether it then failed or not). Never
 * reset: tests take the difference around the calls they measure. */
uint64_t io_fs_sim_fdatasyncs(const struct io_fs_sim *sim);

/* The process dies after the n-th mutating call (counted as io_fs_sim_ops counts): every later
 * mutating call fails with CRAFT_EIO and has no effect, until io_fs_sim_crash. Reads still work.
 * n below the current count kills the very next call. */
void io_fs_sim_die_after(struct io_fs_sim *sim, uint64_t n);

/* The next pwritev lands at offset + delta (clamped at 0) instead of offset: a misdirected write.
 * It reports success; reads at offset then see the old bytes. One-shot. */
void io_fs_sim_misdirect_next_write(struct io_fs_sim *sim, int64_t delta);

/* Flips bit bit_offset (bit 0 = least significant bit of byte 0) of the file name in the current
 * content, the durable content and any pending write covering it: media corruption that every
 * view sees. Returns 0, CRAFT_ENOTFOUND (no such name now), CRAFT_EINVAL (past the end of both
 * the current and the durable content). */
CRAFT_MUST_CHECK int io_fs_sim_flip_bit(struct io_fs_sim *sim, const char *name,
                                        uint64_t bit_offset);

/* Which state a test reads: what reads see now, or what a LOSE_ALL crash would leave. */
enum io_fs_sim_view {
    IO_FS_SIM_CURRENT = 1,
    IO_FS_SIM_DURABLE = 2,
};

/* True if name exists in view. */
bool io_fs_sim_exists(const struct io_fs_sim *sim, const char *name, enum io_fs_sim_view view);

/* The size of name in view. Returns 0 or CRAFT_ENOTFOUND. */
CRAFT_MUST_CHECK int io_fs_sim_file_size(const struct io_fs_sim *sim, const char *name,
                                         enum io_fs_sim_view view, uint64_t *out);

/* Copies up to len bytes of name in view from offset into buf; *n_read < len only at the end.
 * Returns 0 or CRAFT_ENOTFOUND. Counts as no operation and draws nothing from the seed. */
CRAFT_MUST_CHECK int io_fs_sim_read(const struct io_fs_sim *sim, const char *name,
                                    enum io_fs_sim_view view, uint64_t offset, void *buf,
                                    size_t len, size_t *n_read);

#endif
