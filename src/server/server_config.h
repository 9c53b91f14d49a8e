/* craftd's configuration: the command-line flags and the --config file (the same keys, one
 * "key value" per line, '#' comments), their defaults, validation and --help text. */
#ifndef CRAFT_SERVER_CONFIG_H
#define CRAFT_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "craft/node.h"

/* Node ids run from 1 to this: the ids above are where the node directory keeps peer
 * addresses (peer_dir.c). */
#define SERVER_NODE_ID_MAX ((1ull << 62) - 1)
#define SERVER_PEERS_MAX (CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX)
#define SERVER_PATH_MAX 512
#define SERVER_PASS_MAX 256

struct server_config {
    craft_id id;
    char bind[CRAFT_ADDRESS_MAX];
    uint16_t port;      /* clients (RESP) */
    uint16_t peer_port; /* Raft peers */
    char dir[SERVER_PATH_MAX];
    /* --peers as given: node ids and their peer addresses, this node's own entry included if
     * it was listed. */
    struct craft_peer peers[SERVER_PEERS_MAX];
    unsigned n_peers;
    uint64_t cluster_id;
    uint32_t election_timeout_ms;
    uint32_t heartbeat_ms;
    uint64_t snapshot_every;
    char requirepass[SERVER_PASS_MAX]; /* "" when no password is needed */
    int log_level;                     /* enum craft_log_level */
    uint32_t request_timeout_ms;
    uint64_t max_bulk;
    uint16_t metrics_port; /* 0: none */
    char join[CRAFT_ADDRESS_MAX]; /* a running node's client address, or "" */
};

void server_config_init(struct server_config *c);

/* Parses argv (flags "--name value" or "--name=value"; --config FILE reads the file where it
 * stands, so later flags override it) into c, then checks it. 0; 1 when --help was given (the
 * help text is printed to stdout); -1 on an error, explained in err. */
int server_config_parse(struct server_config *c, int argc, char **argv, char *err,
                        size_t err_len);

/* The --help text. */
void server_config_usage(const char *prog, void *file);

#endif
