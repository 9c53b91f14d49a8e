/* Introspection for clients and tools: COMMAND (the server's and kv's tables), CONFIG GET (what
 * redis-benchmark and redis-cli ask), and the table of the server's own commands. */
#include <stdio.h>
#include <string.h>

#include "server/commands.h"
#include "server/server.h"

static const struct server_command table[] = {
    {"ping", -1, 0, cmd_ping, 0, 0, 0},
    {"echo", 2, 0, cmd_echo, 0, 0, 0},
    {"quit", -1, CMD_NOAUTH | CMD_MULTI_CONTROL, cmd_quit, 0, 0, 0},
    {"auth", -2, CMD_NOAUTH, cmd_auth, 0, 0, 0},
    {"hello", -1, CMD_NOAUTH, cmd_hello, 0, 0, 0},
    {"select", 2, 0, cmd_select, 0, 0, 0},
    {"client", -2, 0, cmd_client, 0, 0, 0},
    {"command", -1, 0, cmd_command, 0, 0, 0},
    {"config", -2, 0, cmd_config, 0, 0, 0},
    {"info", -1, 0, cmd_info, 0, 0, 0},
    {"readonly", 1, 0, cmd_readonly, 0, 0, 0},
    {"readwrite", 1, 0, cmd_readonly, 0, 0, 0},
    {"multi", 1, CMD_MULTI_CONTROL, cmd_multi, 0, 0, 0},
    {"exec", 1, CMD_MULTI_CONTROL, cmd_exec, 0, 0, 0},
    {"discard", 1, CMD_MULTI_CONTROL, cmd_discard, 0, 0, 0},
    {"raft.req", -4, 0, cmd_raft_req, 0, 0, 0},
    {"raft.info", 1, 0, cmd_raft_info, 0, 0, 0},
    {"raft.addnode", 3, 0, cmd_admin, 0, 0, 0},
    {"raft.removenode", 2, 0, cmd_admin, 0, 0, 0},
    {"raft.transfer", -1, 0, cmd_admin, 0, 0, 0},
    {"raft.snapshot", 1, 0, cmd_raft_snapshot, 0, 0, 0},
};

#define N_TABLE (sizeof table / sizeof table[0])

const struct server_command *server_command_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        if (name_is(name, len, table[i].name)) {
            return &table[i];
        }
    }
    return NULL;
}

const struct server_command *server_command_all(size_t *n)
{
    *n = N_TABLE;
    return table;
}

/* One COMMAND entry in the classic six-field form: name, arity, flags, first, last, step. */
static void command_entry(struct resp_reply *out, const char *name, int arity, const char *flag,
                          int first, int last, int step)
{
    resp_reply_array(out, 6);
    resp_reply_bulk_cstr(out, name);
    resp_reply_integer(out, arity);
    resp_reply_array(out, 1);
    resp_reply_simple(out, flag);
    resp_reply_integer(out, first);
    resp_reply_integer(out, last);
    resp_reply_integer(out, step);
}

/* Writes the entry of the command named (name, len); false when there is none. */
static bool command_info(struct resp_reply *out, const char *name, size_t len)
{
    const struct server_command *sc = server_command_find(name, len);
    if (sc != NULL) {
        command_entry(out, sc->name, sc->arity, "fast", 0, 0, 0);
        return true;
    }
    const struct kv_command *kc = kv_command_find(name, len);
    if (kc != NULL) {
        command_entry(out, kc->name, kc->arity,
                      kc->kind == KV_COMMAND_WRITE ? "write" : "readonly", kc->key_first,
                      kc->key_last, kc->key_step);
        return true;
    }
    return false;
}

void cmd_command(struct conn *c, struct request *r, int argc, const char *const *argv,
                 const size_t *lens)
{
    (void)c;
    struct resp_reply *out = &r->reply;
    size_t n_kv;
    const struct kv_command *kv = kv_command_all(&n_kv);
    r->done = true;
    if (argc == 1) {
        resp_reply_array(out, (int64_t)(N_TABLE + n_kv));
        for (size_t i = 0; i < N_TABLE; i++) {
            command_info(out, table[i].name, strlen(table[i].name));
        }
        for (size_t i = 0; i < n_kv; i++) {
            command_info(out, kv[i].name, strlen(kv[i].name));
        }
    } else if (name_is(argv[1], lens[1], "count") && argc == 2) {
        resp_reply_integer(out, (int64_t)(N_TABLE + n_kv));
    } else if (name_is(argv[1], lens[1], "docs")) {
        /* Documentation is optional for redis-cli: an empty map (RESP2: an empty array). */
        resp_reply_array(out, 0);
    } else if (name_is(argv[1], lens[1], "info")) {
        resp_reply_array(out, argc - 2);
        for (int i = 2; i < argc; i++) {
            if (!command_info(out, argv[i], lens[i])) {
                resp_reply_null_array(out);
            }
        }
    } else if (name_is(argv[1], lens[1], "list") && argc == 2) {
        resp_reply_array(out, (int64_t)(N_TABLE + n_kv));
        for (size_t i = 0; i < N_TABLE; i++) {
            resp_reply_bulk_cstr(out, table[i].name);
        }
        for (size_t i = 0; i < n_kv; i++) {
            resp_reply_bulk_cstr(out, kv[i].name);
        }
    } else {
        resp_reply_errorf(out, "ERR unknown subcommand or wrong number of arguments for "
                               "'%.*s'. Try COMMAND HELP.",
                          (int)(lens[1] < 64 ? lens[1] : 64), argv[1]);
    }
}

/* Redis's glob subset for CONFIG GET: '*', '?' and literal bytes, case-insensitive. */
static bool glob_match(const char *p, size_t pn, const char *s)
{
    if (pn == 0) {
        return *s == '\0';
    }
    if (*p == '*') {
        for (;; s++) {
            if (glob_match(p + 1, pn - 1, s)) {
                return true;
            }
            if (*s == '\0') {
                return false;
            }
        }
    }
    if (*s == '\0') {
        return false;
    }
    char a = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
    if (a != '?' && a != *s) {
        return false;
    }
    return glob_match(p + 1, pn - 1, s + 1);
}

void cmd_config(struct conn *c, struct request *r, int argc, const char *const *argv,
                const size_t *lens)
{
    struct resp_reply *out = &r->reply;
    const struct server_config *cfg = &c->srv->cfg;
    r->done = true;
    if (name_is(argv[1], lens[1], "get") && argc >= 3) {
        char port[8], bulk[24], timeout[16];
        snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
        snprintf(bulk, sizeof bulk, "%llu", (unsigned long long)cfg->max_bulk);
        snprintf(timeout, sizeof timeout, "%u", (unsigned)cfg->request_timeout_ms);
        /* Every write is durable in the Raft log before it is acknowledged: appendonly in
         * spirit, with no RDB save points. */
        const char *const params[][2] = {
            {"save", ""},
            {"appendonly", "yes"},
            {"appendfsync", "always"},
            {"databases", "1"},
            {"port", port},
            {"bind", cfg->bind},
            {"dir", cfg->dir},
            {"proto-max-bulk-len", bulk},
            {"maxmemory", "0"},
            {"cluster-enabled", "no"},
            {"request-timeout-ms", timeout},
        };
        size_t n_params = sizeof params / sizeof params[0];
        bool hit[sizeof params / sizeof params[0]] = {false};
        int64_t n = 0;
        for (int i = 2; i < argc; i++) {
            for (size_t k = 0; k < n_params; k++) {
                if (!hit[k] && glob_match(argv[i], lens[i], params[k][0])) {
                    hit[k] = true;
                    n++;
                }
            }
        }
        resp_reply_array(out, 2 * n);
        for (size_t k = 0; k < n_params; k++) {
            if (hit[k]) {
                resp_reply_bulk_cstr(out, params[k][0]);
                resp_reply_bulk_cstr(out, params[k][1]);
            }
        }
    } else if (name_is(argv[1], lens[1], "resetstat") && argc == 2) {
        resp_reply_simple(out, "OK");
    } else if (name_is(argv[1], lens[1], "set")) {
        resp_reply_error(out, "ERR craftd: CONFIG SET is not supported (restart with flags)");
    } else {
        resp_reply_errorf(out, "ERR unknown subcommand or wrong number of arguments for "
                               "'%.*s'. Try CONFIG HELP.",
                          (int)(lens[1] < 64 ? lens[1] : 64), argv[1]);
    }
}
