/* Transactions and exactly-once writes: MULTI/EXEC/DISCARD (a transaction with a write goes
 * into one entry whose reply is an array, its reads answered inside the entry, after the writes
 * queued before them; a transaction of reads only runs under one read barrier, with no entry)
 * and RAFT.REQ <client-id> <seq> <write command...> (an entry with a session). */
#include <stdlib.h>
#include <string.h>

#include "server/commands.h"
#include "server/server.h"
#include "util/alloc.h"
#include "util/assert.h"

void cmd_multi(struct conn *c, struct request *r, int argc, const char *const *argv,
               const size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    if (c->in_multi) {
        resp_reply_error(&r->reply, "ERR MULTI calls can not be nested");
    } else {
        conn_multi_reset(c);
        c->in_multi = true;
        resp_reply_simple(&r->reply, "OK");
    }
    r->done = true;
}

void cmd_discard(struct conn *c, struct request *r, int argc, const char *const *argv,
                 const size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    if (!c->in_multi) {
        resp_reply_error(&r->reply, "ERR DISCARD without MULTI");
    } else {
        conn_multi_reset(c);
        resp_reply_simple(&r->reply, "OK");
    }
    r->done = true;
}

/* Whether c's queued transaction holds a write: then it is one log entry (its reads run in
 * it, kv_apply), else a read under one barrier. */
static bool multi_has_write(const struct conn *c)
{
    for (size_t i = 0; i < c->multi_n; i++) {
        const struct cmd_args *a = &c->multi_cmds[i];
        const struct kv_command *kc = kv_command_find(a->argv[0], a->lens[0]);
        CRAFT_ASSERT(kc != NULL); /* multi_queue queues only kv's commands */
        if (kc->kind == KV_COMMAND_WRITE) {
            return true;
        }
    }
    return false;
}

void cmd_exec(struct conn *c, struct request *r, int argc, const char *const *argv,
              const size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    if (!c->in_multi) {
        resp_reply_error(&r->reply, "ERR EXEC without MULTI");
        r->done = true;
        return;
    }
    if (c->multi_error) {
        resp_reply_error(&r->reply, "EXECABORT Transaction discarded because of previous errors.");
        conn_multi_reset(c);
        r->done = true;
        return;
    }
    if (c->multi_n == 0) {
        resp_reply_array(&r->reply, 0);
        conn_multi_reset(c);
        r->done = true;
        return;
    }
    r->kind = multi_has_write(c) ? REQ_WRITE : REQ_READ;
    r->stale = c->readonly;
    r->multi = true;
    /* The queued commands move to the request. */
    r->cmds = c->multi_cmds;
    r->n_cmds = c->multi_n;
    c->multi_cmds = NULL;
    c->multi_cap = 0;
    c->multi_n = 0;
    conn_multi_reset(c);
    data_start(c->srv, r);
}

void cmd_raft_req(struct conn *c, struct request *r, int argc, const char *const *argv,
                  const size_t *lens)
{
    r->done = true;
    if (!arg_u64(argv[1], lens[1], &r->client) || r->client == 0 ||
        !arg_u64(argv[2], lens[2], &r->seq)) {
        resp_reply_error(&r->reply,
                         "ERR RAFT.REQ wants a client id above 0 and a sequence number");
        return;
    }
    const struct kv_command *kc = kv_command_find(argv[3], lens[3]);
    if (kc == NULL) {
        reply_unknown_command(&r->reply, argc - 3, argv + 3, lens + 3);
        return;
    }
    if (kc->kind != KV_COMMAND_WRITE) {
        resp_reply_errorf(&r->reply, "ERR RAFT.REQ wraps write commands; '%s' reads",
                          kc->name);
        return;
    }
    if (!kv_command_check_arity(kc, argc - 3, &r->reply)) {
        return;
    }
    r->done = false;
    r->session = true;
    data_command(c, r, REQ_WRITE, argc, argv, lens);
}
