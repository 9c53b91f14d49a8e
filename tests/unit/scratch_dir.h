/* Removing a scratch directory the POSIX tests made: it holds only flat files. Header-only. */
#ifndef CRAFT_TEST_SCRATCH_DIR_H
#define CRAFT_TEST_SCRATCH_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Unlinks every file in dir, then dir itself. */
static inline void scratch_dir_remove(const char *dir)
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

#endif
