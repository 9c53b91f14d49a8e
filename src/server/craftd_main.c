/* craftd: a replicated key-value server on Raft that speaks RESP2. See `craftd --help` and
 * README.md ("craftd"). */
#include <signal.h>
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
    /* A client (or peer) that goes away mid-write must be a write error, not a fatal signal:
     * libuv writes with write(2), which raises SIGPIPE on a reset connection. */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
    struct server *s = server_create(&cfg, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "craftd: %s\n", err);
        return 1;
    }
    server_run(s);
    rv = server_exit_code(s);
    server_destroy(s);
    return rv;
}
