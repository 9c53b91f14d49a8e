/* Shared by the seed corpus generators (gen_corpus.c, gen_corpus_kv.c): stop on a failed
 * step, and write one seed file into <root>/<target>/<name>. */
#ifndef CRAFT_FUZZ_GEN_CORPUS_UTIL_H
#define CRAFT_FUZZ_GEN_CORPUS_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x);                                \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *root; /* the corpus directory, from the command line */

static inline void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

#endif
