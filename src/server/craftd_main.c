/* craftd: a replicated key-value server on Raft that speaks RESP2. See `craftd --help` and
 * README.md ("craftd"). */
#include <stdio.h>

#include "server/server_api.h"

int main(int argc, char **argv)
{
    struct server_config cfg;
    char err[512] = "";
    server_config_init(&cfg);
    int rv = server_config_parse(&cfg, argc, argv, err, sizeof err);
    if (rv == 1) {
        server_config_usage(argv[0], stdout);
        return 0;
    }
    if (rv != 0) {
        fprintf(stderr, "craftd: %s\n", err);
        return 2;
    }
    struct server *s = server_create(&cfg, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "craftd: %s\n", err);
        return 1;
    }
    server_run(s);
    server_destroy(s);
    return 0;
}
