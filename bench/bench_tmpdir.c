/* Scratch directories for the benchmarks that touch the file system. */
#define _GNU_SOURCE /* mkdtemp */
#include "bench_tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_make_dir(const char *tag, char *path, size_t len)
{
    int n = snprintf(path, len, "/tmp/craft-bench-%s.XXXXXX", tag);
    if (n < 0 || (size_t)n >= len) {
        fprintf(stderr, "craft-bench: directory name too long for '%s'\n", tag);
        return -1;
    }
    if (mkdtemp(path) == NULL) {
        perror("craft-bench: mkdtemp");
        return -1;
    }
    return 0;
}

/* Removes every file in dir, then dir itself (it holds only flat files we made). */
void bench_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char path[512];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}
