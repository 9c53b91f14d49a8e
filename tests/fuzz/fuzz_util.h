/* Shared by the fuzz targets: put bytes into a fresh simulated directory as a durable file, and
 * stop loudly when a property that must hold does not (libFuzzer reports the abort as a crash). */
#ifndef CRAFT_FUZZ_UTIL_H
#define CRAFT_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/fs.h"
#include "io/sim/fs_sim.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Writes len bytes as file name, durable (fdatasync and directory sync). Returns 0 or an error;
 * the fuzz targets give up on an input whose setup fails (it cannot, short of memory). */
static inline int fuzz_put_file(struct io_fs *fs, const char *name, const uint8_t *data, size_t len)
{
    struct io_file *f;
    int rv = io_fs_open(fs, name, IO_FS_CREATE | IO_FS_TRUNC, &f);
    if (rv != 0) {
        return rv;
    }
    if (len > 0) {
        rv = io_fs_pwrite(fs, f, data, len, 0);
    }
    if (rv == 0) {
        rv = io_fs_fdatasync(fs, f);
    }
    io_fs_close(fs, f);
    return rv == 0 ? io_fs_sync_dir(fs) : rv;
}

#endif
