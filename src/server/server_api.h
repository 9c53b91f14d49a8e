/* craftd's server as main() sees it: create from a configuration, run until SIGINT or SIGTERM
 * (or server_stop), destroy. */
#ifndef CRAFT_SERVER_API_H
#define CRAFT_SERVER_API_H

#include <stddef.h>

#include "server/server_config.h"

struct server;

/* Starts the node (recovering dir), listens for clients, and (with --join) asks to be added.
 * NULL on failure, explained in err. */
struct server *server_create(const struct server_config *cfg, char *err, size_t err_len);
/* Serves until stopped. Main thread. */
void server_run(struct server *s);
/* Stops serving: closes clients, destroys the node, lets server_run return. Loop thread. */
void server_stop(struct server *s);
/* 0 after a stop by signal; 1 when the node stopped after a fatal error (disk, apply). */
int server_exit_code(const struct server *s);
/* Frees everything. After server_run returned. */
void server_destroy(struct server *s);

#endif
