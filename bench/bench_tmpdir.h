/* Scratch directories for the benchmarks that touch the file system. */
#ifndef CRAFT_BENCH_TMPDIR_H
#define CRAFT_BENCH_TMPDIR_H

#include <stddef.h>

/* Creates a fresh directory /tmp/craft-bench-<tag>.XXXXXX (on the disk that holds /tmp) and puts
 * its path into path[0..len). Returns 0, or -1 after printing why. The caller removes it. */
int bench_make_dir(const char *tag, char *path, size_t len);

/* Removes every file in dir (flat: no subdirectories), then dir itself. */
void bench_remove_dir(const char *dir);

#endif
