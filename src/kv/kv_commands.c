/* The command table: Redis's names, arities and key positions (what COMMAND reports), each
 * with its handler, and the internal commands the server writes itself (not listed). */
#include <string.h>

#include "kv_internal.h"

#define W KV_COMMAND_WRITE
#define R KV_COMMAND_READ

/* Kept in step with handlers[] below, one row each. */
static const struct kv_command commands[] = {
    {"get", 2, R, 1, 1, 1},      {"set", -3, W, 1, 1, 1},    {"getset", 3, W, 1, 1, 1},
    {"setnx", 3, W, 1, 1, 1},    {"del", -2, W, 1, -1, 1},   {"append", 3, W, 1, 1, 1},
    {"incr", 2, W, 1, 1, 1},     {"incrby", 3, W, 1, 1, 1},  {"decr", 2, W, 1, 1, 1},
    {"decrby", 3, W, 1, 1, 1},   {"mset", -3, W, 1, -1, 2},  {"expire", -3, W, 1, 1, 1},
    {"pexpire", -3, W, 1, 1, 1}, {"persist", 2, W, 1, 1, 1}, {"flushdb", -1, W, 0, 0, 0},
    {"exists", -2, R, 1, -1, 1}, {"strlen", 2, R, 1, 1, 1},  {"mget", -2, R, 1, -1, 1},
    {"keys", 2, R, 0, 0, 0},     {"scan", -2, R, 0, 0, 0},   {"dbsize", 1, R, 0, 0, 0},
    {"type", 2, R, 1, 1, 1},     {"ttl", 2, R, 1, 1, 1},     {"pttl", 2, R, 1, 1, 1},
};

struct handler {
    kv_write_fn write;
    kv_read_fn read;
};

static const struct handler handlers[] = {
    {NULL, kv_read_get},      {kv_write_set, NULL},     {kv_write_getset, NULL},
    {kv_write_setnx, NULL},   {kv_write_del, NULL},     {kv_write_append, NULL},
    {kv_write_incr, NULL},    {kv_write_incrby, NULL},  {kv_write_decr, NULL},
    {kv_write_decrby, NULL},  {kv_write_mset, NULL},    {kv_write_expire, NULL},
    {kv_write_pexpire, NULL}, {kv_write_persist, NULL}, {kv_write_flushdb, NULL},
    {NULL, kv_read_exists},   {NULL, kv_read_strlen},   {NULL, kv_read_mget},
    {NULL, kv_read_keys},     {NULL, kv_read_scan},     {NULL, kv_read_dbsize},
    {NULL, kv_read_type},     {NULL, kv_read_ttl},      {NULL, kv_read_pttl},
};

_Static_assert(sizeof commands / sizeof commands[0] == sizeof handlers / sizeof handlers[0],
               "one handler per command");

/* raft.advertise <node-id> <client-address>: written by the server, never by a client. */
static const struct kv_command advertise = {"raft.advertise", 3, W, 0, 0, 0};

static size_t index_of(const char *name, size_t len)
{
    size_t n = sizeof commands / sizeof commands[0];
    for (size_t i = 0; i < n; i++) {
        if (kv_word_is(name, len, commands[i].name)) {
            return i;
        }
    }
    return n;
}

const struct kv_command *kv_command_find(const char *name, size_t len)
{
    size_t i = index_of(name, len);
    return i < sizeof commands / sizeof commands[0] ? &commands[i] : NULL;
}

const struct kv_command *kv_command_all(size_t *n)
{
    *n = sizeof commands / sizeof commands[0];
    return commands;
}

bool kv_command_check_arity(const struct kv_command *cmd, int argc, struct resp_reply *reply)
{
    bool ok = cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
    if (!ok) {
        resp_reply_errorf(reply, "ERR wrong number of arguments for '%s' command", cmd->name);
    }
    return ok;
}

kv_write_fn kv_write_find(const char *name, size_t len, const struct kv_command **cmd)
{
    if (kv_word_is(name, len, advertise.name)) {
        *cmd = &advertise;
        return kv_write_advertise;
    }
    size_t i = index_of(name, len);
    if (i == sizeof commands / sizeof commands[0] || handlers[i].write == NULL) {
        return NULL;
    }
    *cmd = &commands[i];
    return handlers[i].write;
}

kv_read_fn kv_read_find(const char *name, size_t len)
{
    size_t i = index_of(name, len);
    return i < sizeof commands / sizeof commands[0] ? handlers[i].read : NULL;
}
