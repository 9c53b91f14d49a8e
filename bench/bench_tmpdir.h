/* Scratch directories for the benchmarks that touch the file system. */
#ifndef CRAFT_BENCH_TMPDIR_H
#define CRAFT_BENCH_TMPDIR_H

/* Removes every file in dir (flat: no subdirectories), then dir itself. */
void bench_remove_dir(const char *dir);

#endif
