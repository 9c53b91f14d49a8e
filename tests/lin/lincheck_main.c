/* craft-lincheck: checks a history written in the text format of lincheck.h.
 *   craft-lincheck [--max-states N] FILE   ('-': standard input)
 * Exit status: 0 linearizable, 1 not linearizable (with a printout), 2 unknown (the search
 * bound was reached), 3 the file could not be read or parsed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

static int usage(void)
{
    fprintf(stderr, "usage: craft-lincheck [--max-states N] FILE\n");
    return 3;
}

int main(int argc, char **argv)
{
    uint64_t max_states = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-states") == 0 && i + 1 < argc) {
            max_states = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (path == NULL) {
        return usage();
    }
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return 3;
    }
    struct lin_history h;
    lin_history_init(&h);
    char err[256];
    int rv = lin_load(&h, f, err, sizeof err);
    if (f != stdin) {
        fclose(f);
    }
    if (rv != 0) {
        fprintf(stderr, "craft-lincheck: %s: %s\n", path, err);
        lin_history_close(&h);
        return 3;
    }
    struct lin_result res;
    int v = lin_check(&h, max_states, &res);
    const char *what = v == LIN_OK          ? "linearizable"
                       : v == LIN_VIOLATION ? "NOT linearizable"
                                            : "unknown";
    printf("%s: keys=%zu ops=%zu states=%" PRIu64 " unknown_keys=%zu\n", what, res.n_keys,
           res.n_ops, res.states, res.n_keys_unknown);
    if (v == LIN_VIOLATION) {
        lin_print_violation(&h, &res, stdout, "  ", 8, 40);
    }
    lin_history_close(&h);
    return v == LIN_OK ? 0 : v == LIN_VIOLATION ? 1 : 2;
}
