/* Runs one parsed request: authentication, MULTI queueing, the server's own commands (commands.h
 * table), and the data commands of kv's table, with Redis's error texts for unknown commands and
 * wrong arity. */
#include <stdio.h>
#include <string.h>

#include "server/commands.h"
#include "server/server.h"
#include "util/alloc.h"

bool name_is(const char *s, size_t n, const char *lower)
{
    size_t i = 0;
    for (; i < n && lower[i] != '\0'; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z') {
            ch = (char)(ch - 'A' + 'a');
        }
        if (ch != lower[i]) {
            return false;
        }
    }
    return i == n && lower[i] == '\0';
}

/* Redis (processCommand): "unknown command 'foo', with args beginning with: 'a' 'b' ", the
 * arguments cut at 128 bytes in all, CR and LF turned into spaces so the reply stays one line. */
void reply_unknown_command(struct resp_reply *r, int argc, const char *const *argv,
                           const size_t *lens)
{
    char args[160] = "";
    size_t n = 0;
    for (int i = 1; i < argc && n < 128; i++) {
        int room = 128 - (int)n;
        int w = snprintf(args + n, sizeof args - n, "'%.*s' ",
                         (int)(lens[i] < (size_t)room ? lens[i] : (size_t)room), argv[i]);
        if (w < 0) {
            break;
        }
        n += (size_t)w < sizeof args - n ? (size_t)w : sizeof args - n - 1;
    }
    char text[320];
    snprintf(text, sizeof text, "ERR unknown command '%.*s', with args beginning with: %s",
             (int)(lens[0] < 128 ? lens[0] : 128), argv[0], args);
    for (char *p = text; *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n') {
            *p = ' ';
        }
    }
    resp_reply_error(r, text);
}

void reply_arity(struct resp_reply *r, const char *name)
{
    resp_reply_errorf(r, "ERR wrong number of arguments for '%s' command", name);
}

bool arity_ok(int arity, int argc)
{
    return arity > 0 ? argc == arity : argc >= -arity;
}

/* Inside MULTI: data commands are checked and queued; anything else fails the transaction. */
static void multi_queue(struct conn *c, struct request *r, const struct kv_command *kc, int argc,
                        const char *const *argv, const size_t *lens)
{
    if (kc == NULL) {
        reply_unknown_command(&r->reply, argc, argv, lens);
        c->multi_error = true;
        return;
    }
    if (!kv_command_check_arity(kc, argc, &r->reply)) {
        c->multi_error = true;
        return;
    }
    if (c->multi_n == CONN_MULTI_MAX ||
        !craft_grow((void **)&c->multi_cmds, &c->multi_cap, c->multi_n + 1,
                    sizeof *c->multi_cmds) ||
        cmd_args_copy(&c->multi_cmds[c->multi_n], argc, argv, lens) != 0) {
        resp_reply_error(&r->reply, "ERR craftd: too many commands in this MULTI");
        c->multi_error = true;
        return;
    }
    c->multi_n++;
    resp_reply_simple(&r->reply, "QUEUED");
}

void dispatch(struct conn *c, int argc, const char *const *argv, const size_t *lens)
{
    struct request *r = conn_request_new(c);
    if (r == NULL) {
        conn_close(c);
        return;
    }
    const struct server_command *sc = server_command_find(argv[0], lens[0]);
    const struct kv_command *kc = sc != NULL ? NULL : kv_command_find(argv[0], lens[0]);
    if (!c->authed && (sc == NULL || (sc->flags & CMD_NOAUTH) == 0)) {
        resp_reply_error(&r->reply, "NOAUTH Authentication required.");
        r->done = true;
        return;
    }
    if (c->in_multi && (sc == NULL || (sc->flags & CMD_MULTI_CONTROL) == 0)) {
        if (sc != NULL) {
            resp_reply_errorf(&r->reply,
                              "ERR craftd: '%s' cannot be queued in MULTI (only data commands)",
                              sc->name);
            c->multi_error = true;
        } else {
            multi_queue(c, r, kc, argc, argv, lens);
        }
        r->done = true;
        return;
    }
    if (sc != NULL) {
        if (!arity_ok(sc->arity, argc)) {
            reply_arity(&r->reply, sc->name);
            r->done = true;
            return;
        }
        sc->run(c, r, argc, argv, lens);
        return;
    }
    if (kc == NULL) {
        reply_unknown_command(&r->reply, argc, argv, lens);
        r->done = true;
        return;
    }
    if (!kv_command_check_arity(kc, argc, &r->reply)) {
        r->done = true;
        return;
    }
    data_command(c, r, kc->kind == KV_COMMAND_WRITE ? REQ_WRITE : REQ_READ, argc, argv, lens);
}
