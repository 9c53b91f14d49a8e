/* The commands craftd answers itself (connection, transaction, introspection and admin
 * commands); the data commands come from kv's table. */
#ifndef CRAFT_SERVER_COMMANDS_H
#define CRAFT_SERVER_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct request;
struct resp_reply;

enum server_command_flags {
    CMD_NOAUTH = 1,        /* allowed before AUTH */
    CMD_MULTI_CONTROL = 2, /* runs inside MULTI instead of being queued */
};

typedef void (*server_command_fn)(struct conn *c, struct request *r, int argc,
                                  const char *const *argv, const size_t *lens);

struct server_command {
    const char *name; /* lower case */
    int arity;        /* Redis convention: > 0 exact, < 0 at least -arity */
    unsigned flags;
    server_command_fn run; /* answers r (r->done), or starts it and answers later */
    int key_first, key_last, key_step;
};

const struct server_command *server_command_find(const char *name, size_t len);
const struct server_command *server_command_all(size_t *n);

#define CRAFTD_VERSION "0.1.0"

/* The commands' handlers (server_command_fn), by file. */
#define SERVER_COMMAND(name)                                                                       \
    void name(struct conn *c, struct request *r, int argc, const char *const *argv,                \
              const size_t *lens)
SERVER_COMMAND(cmd_ping);     /* cmd_conn.c */
SERVER_COMMAND(cmd_echo);
SERVER_COMMAND(cmd_quit);
SERVER_COMMAND(cmd_auth);
SERVER_COMMAND(cmd_hello);
SERVER_COMMAND(cmd_select);
SERVER_COMMAND(cmd_client);
SERVER_COMMAND(cmd_readonly); /* READONLY and READWRITE */
SERVER_COMMAND(cmd_command);  /* cmd_meta.c */
SERVER_COMMAND(cmd_config);
SERVER_COMMAND(cmd_multi);    /* cmd_multi.c */
SERVER_COMMAND(cmd_exec);
SERVER_COMMAND(cmd_discard);
SERVER_COMMAND(cmd_raft_req);
SERVER_COMMAND(cmd_info);     /* cmd_info.c */
SERVER_COMMAND(cmd_raft_info);
SERVER_COMMAND(cmd_admin);    /* cmd_admin.c: RAFT.ADDNODE, RAFT.REMOVENODE, RAFT.TRANSFER */
SERVER_COMMAND(cmd_raft_snapshot);

/* dispatch.c */
void reply_arity(struct resp_reply *r, const char *name);
bool arity_ok(int arity, int argc);

#endif
