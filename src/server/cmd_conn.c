/* Connection commands: PING, ECHO, QUIT, AUTH, SELECT, CLIENT, HELLO, READONLY, READWRITE.
 * Replies and errors are Redis's own texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/commands.h"
#include "server/server.h"

void cmd_ping(struct conn *c, struct request *r, int argc, const char *const *argv,
              const size_t *lens)
{
    (void)c;
    if (argc > 2) {
        reply_arity(&r->reply, "ping");
    } else if (argc == 2) {
        resp_reply_bulk(&r->reply, argv[1], lens[1]);
    } else {
        resp_reply_simple(&r->reply, "PONG");
    }
    r->done = true;
}

void cmd_echo(struct conn *c, struct request *r, int argc, const char *const *argv,
              const size_t *lens)
{
    (void)c;
    (void)argc;
    resp_reply_bulk(&r->reply, argv[1], lens[1]);
    r->done = true;
}

void cmd_quit(struct conn *c, struct request *r, int argc, const char *const *argv,
              const size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    resp_reply_simple(&r->reply, "OK");
    r->done = true;
    c->close_after_flush = true;
}

/* Constant-time comparison: the time taken does not tell how much of a guess was right. */
static bool password_matches(const struct server *s, const char *p, size_t n)
{
    size_t want = strlen(s->cfg.requirepass);
    unsigned char diff = (unsigned char)(want != n);
    for (size_t i = 0; i < n; i++) {
        diff |= (unsigned char)(p[i] ^ s->cfg.requirepass[i < want ? i : 0]);
    }
    return diff == 0;
}

/* 0: authenticated; otherwise the error is in r. */
static int authenticate(struct conn *c, struct resp_reply *reply, const char *user,
                        size_t user_len, const char *pass, size_t pass_len)
{
    if (c->srv->cfg.requirepass[0] == '\0') {
        resp_reply_error(reply, "ERR AUTH <password> called without any password configured "
                                "for the default user. Are you sure your configuration is "
                                "correct?");
        return -1;
    }
    if ((user != NULL && !name_is(user, user_len, "default")) ||
        !password_matches(c->srv, pass, pass_len)) {
        resp_reply_error(reply, "WRONGPASS invalid username-password pair or user is disabled.");
        return -1;
    }
    c->authed = true;
    return 0;
}

void cmd_auth(struct conn *c, struct request *r, int argc, const char *const *argv,
              const size_t *lens)
{
    if (argc > 3) {
        resp_reply_error(&r->reply, "ERR syntax error");
    } else if (authenticate(c, &r->reply, argc == 3 ? argv[1] : NULL, argc == 3 ? lens[1] : 0,
                            argv[argc - 1], lens[argc - 1]) == 0) {
        resp_reply_simple(&r->reply, "OK");
    }
    r->done = true;
}

void cmd_select(struct conn *c, struct request *r, int argc, const char *const *argv,
                const size_t *lens)
{
    (void)c;
    (void)argc;
    char num[24];
    char *end;
    if (lens[1] == 0 || lens[1] >= sizeof num) {
        resp_reply_error(&r->reply, "ERR value is not an integer or out of range");
        r->done = true;
        return;
    }
    memcpy(num, argv[1], lens[1]);
    num[lens[1]] = '\0';
    long long db = strtoll(num, &end, 10);
    if (*end != '\0') {
        resp_reply_error(&r->reply, "ERR value is not an integer or out of range");
    } else if (db != 0) {
        resp_reply_error(&r->reply, "ERR DB index is out of range");
    } else {
        resp_reply_simple(&r->reply, "OK");
    }
    r->done = true;
}

void cmd_readonly(struct conn *c, struct request *r, int argc, const char *const *argv,
                  const size_t *lens)
{
    (void)argc;
    (void)lens;
    c->readonly = name_is(argv[0], lens[0], "readonly");
    resp_reply_simple(&r->reply, "OK");
    r->done = true;
}

static void client_info_line(struct conn *c, char *buf, size_t len)
{
    snprintf(buf, len, "id=%llu addr=%s name=%s db=0 multi=%d readonly=%d redirect=%d\n",
             (unsigned long long)c->id, c->peer, c->name, c->in_multi ? (int)c->multi_n : -1,
             c->readonly ? 1 : 0, c->redirect ? 1 : 0);
}

void cmd_client(struct conn *c, struct request *r, int argc, const char *const *argv,
                const size_t *lens)
{
    struct resp_reply *out = &r->reply;
    r->done = true;
    if (name_is(argv[1], lens[1], "id") && argc == 2) {
        resp_reply_integer(out, (int64_t)c->id);
    } else if (name_is(argv[1], lens[1], "getname") && argc == 2) {
        if (c->name[0] == '\0') {
            resp_reply_null(out);
        } else {
            resp_reply_bulk_cstr(out, c->name);
        }
    } else if (name_is(argv[1], lens[1], "setname") && argc == 3) {
        for (size_t i = 0; i < lens[2]; i++) {
            if (argv[2][i] < '!' || argv[2][i] > '~') {
                resp_reply_error(out, "ERR Client names cannot contain spaces, newlines or "
                                      "special characters.");
                return;
            }
        }
        if (lens[2] >= sizeof c->name) {
            resp_reply_error(out, "ERR craftd: client name too long");
            return;
        }
        memcpy(c->name, argv[2], lens[2]);
        c->name[lens[2]] = '\0';
        resp_reply_simple(out, "OK");
    } else if (name_is(argv[1], lens[1], "redirect") && argc == 3) {
        /* craftd's extension: -MOVED to the leader instead of forwarding writes. */
        if (name_is(argv[2], lens[2], "on")) {
            c->redirect = true;
        } else if (name_is(argv[2], lens[2], "off")) {
            c->redirect = false;
        } else {
            resp_reply_error(out, "ERR syntax error");
            return;
        }
        resp_reply_simple(out, "OK");
    } else if (name_is(argv[1], lens[1], "info") && argc == 2) {
        char line[256];
        client_info_line(c, line, sizeof line);
        resp_reply_bulk_cstr(out, line);
    } else if (name_is(argv[1], lens[1], "list") && argc == 2) {
        struct resp_reply all;
        resp_reply_init(&all);
        for (struct conn *o = c->srv->conns; o != NULL; o = o->next) {
            char line[256];
            client_info_line(o, line, sizeof line);
            resp_reply_raw(&all, line, strlen(line));
        }
        resp_reply_bulk(out, all.data, all.len);
        resp_reply_close(&all);
    } else if (name_is(argv[1], lens[1], "setinfo") && argc == 4) {
        resp_reply_simple(out, "OK");
    } else {
        resp_reply_errorf(out, "ERR unknown subcommand or wrong number of arguments for "
                               "'%.*s'. Try CLIENT HELP.",
                          (int)(lens[1] < 64 ? lens[1] : 64), argv[1]);
    }
}

/* HELLO [protover [AUTH user pass] [SETNAME name]]: only RESP2 is spoken. */
void cmd_hello(struct conn *c, struct request *r, int argc, const char *const *argv,
               const size_t *lens)
{
    struct resp_reply *out = &r->reply;
    r->done = true;
    if (argc >= 2) {
        if (lens[1] != 1 || argv[1][0] < '0' || argv[1][0] > '9') {
            resp_reply_error(out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (argv[1][0] != '2') {
            resp_reply_error(out, "NOPROTO unsupported protocol version");
            return;
        }
    }
    const char *setname = NULL;
    size_t setname_len = 0;
    for (int i = 2; i < argc; i++) {
        if (name_is(argv[i], lens[i], "auth") && i + 2 < argc) {
            if (authenticate(c, out, argv[i + 1], lens[i + 1], argv[i + 2], lens[i + 2]) != 0) {
                return;
            }
            i += 2;
        } else if (name_is(argv[i], lens[i], "setname") && i + 1 < argc) {
            setname = argv[i + 1];
            setname_len = lens[i + 1];
            i++;
        } else {
            resp_reply_errorf(out, "ERR Syntax error in HELLO option '%.*s'",
                              (int)(lens[i] < 64 ? lens[i] : 64), argv[i]);
            return;
        }
    }
    if (!c->authed) {
        resp_reply_error(out, "NOAUTH HELLO must be called with the client already "
                              "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                              "option can be used to authenticate the client and select the "
                              "RESP protocol version at the same time");
        return;
    }
    if (setname != NULL) {
        size_t n = setname_len < sizeof c->name - 1 ? setname_len : sizeof c->name - 1;
        memcpy(c->name, setname, n);
        c->name[n] = '\0';
    }
    struct craft_node_status st;
    server_status(c->srv, &st);
    resp_reply_array(out, 14);
    resp_reply_bulk_cstr(out, "server");
    resp_reply_bulk_cstr(out, "craftd");
    resp_reply_bulk_cstr(out, "version");
    resp_reply_bulk_cstr(out, CRAFTD_VERSION);
    resp_reply_bulk_cstr(out, "proto");
    resp_reply_integer(out, 2);
    resp_reply_bulk_cstr(out, "id");
    resp_reply_integer(out, (int64_t)c->id);
    resp_reply_bulk_cstr(out, "mode");
    resp_reply_bulk_cstr(out, "standalone");
    resp_reply_bulk_cstr(out, "role");
    resp_reply_bulk_cstr(out, st.role == CRAFT_NODE_LEADER ? "master" : "replica");
    resp_reply_bulk_cstr(out, "modules");
    resp_reply_array(out, 0);
}
