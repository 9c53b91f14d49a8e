/* craftd's server: one libuv loop on the main thread serving RESP2 clients, in front of one
 * craft_node whose state machine is the key-value store. This header is the server's internal
 * structure, shared by its files (conn.c, dispatch.c, cmd_*.c, forward.c, ...). */
#ifndef CRAFT_SERVER_SERVER_H
#define CRAFT_SERVER_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "craft/node.h"
#include "kv/kv.h"
#include "kv/resp_reply.h"
#include "server/completion.h"
#include "server/forward.h"
#include "server/resp_parse.h"
#include "server/server_config.h"
#include "server/wbuf.h"

/* Per connection: requests parsed but not yet answered, and reply bytes not yet written, past
 * which the connection stops reading (backpressure); it reads again below half of each. */
#define CONN_PENDING_MAX 1024
#define CONN_OUT_BYTES_MAX (64u * 1024u * 1024u)
/* Client connections at once (Redis's maxclients default). */
#define SERVER_CONNS_MAX 10000
/* Read buffer space offered to the socket per read. */
#define CONN_READ_CHUNK (64u * 1024u)
/* Commands queued in one MULTI. */
#define CONN_MULTI_MAX 4096
/* A connection's pipelined plain writes, read in one parse pass, go into one log entry (a
 * batch, data.c) of at most this many commands and this many entry bytes; a write alone past
 * the bytes still goes, as its own entry. Why these: per-entry costs (a proposal, a WAL record,
 * a result, a wake-up) are already spread thin at 128 (redis-benchmark -P 16 needs 16), while
 * the entry stays short to apply (reads on the apply side wait behind it) and its requests'
 * replies wait for one another no longer than that; 512 KiB is half the node's smallest
 * entry_bytes_max (1 MiB: server.c only raises it), so a batch is never refused as too large
 * where its commands one by one would not be. */
#define SERVER_BATCH_MAX 128
#define SERVER_BATCH_BYTES_MAX (512u * 1024u)
/* How often the server looks at deadlines, the node's role and waiting requests. */
#define SERVER_TICK_MS 50
/* A log entry's size: a value of --max-bulk bytes plus room for the command around it, at most
 * SERVER_ENTRY_MAX (half of a peer frame's 64 MiB: entries travel in batches). */
#define SERVER_ENTRY_SLACK (64u * 1024u)
#define SERVER_ENTRY_MAX (32u * 1024u * 1024u)
/* Bytes of the `raft.advertise` client address and of an INFO reply's leader address. */
#define SERVER_ADDR_MAX CRAFT_ADDRESS_MAX

struct server;
struct conn;
struct metrics;
struct join;

/* A command's arguments copied into one allocation (argv[i] is lens[i] bytes). */
struct cmd_args {
    int argc;
    const char **argv;
    size_t *lens;
};

enum request_kind {
    REQ_NONE = 0, /* answered at once */
    REQ_WRITE,    /* a proposal of args (or of the MULTI's commands) */
    REQ_READ,     /* a read running args (or a MULTI of reads) on the apply side */
    REQ_INFO,     /* INFO: a stale read for the keyspace figures */
    REQ_ADMIN,    /* a membership change or a transfer */
    REQ_SNAPSHOT, /* RAFT.SNAPSHOT: this node's own snapshot, ordered as a read */
    REQ_FORWARD,  /* sent to the leader over the forwarder */
};

/* One request: a slot in its connection's ordered queue, answered in order. Freed once it is
 * neither queued (its connection still waits for it) nor in flight (a node callback, the
 * forwarder or the waiting list still holds it). */
struct request {
    struct server *srv;
    struct conn *conn; /* NULL once the connection closed; loop thread only */
    struct request *next;
    struct request *wait_next; /* in the server's list of requests waiting for a leader */
    struct request *batch_next; /* the next request of its batch (data.c); the first carries
                                 * the batch's proposal and outcome (its ev) */
    int kind;                  /* enum request_kind */
    bool queued;
    bool in_flight;
    bool done;     /* reply holds the answer */
    bool multi;    /* cmds are a MULTI's commands: one entry (or read), an array reply */
    bool stale;    /* a stale read (READONLY) */
    bool session;  /* cmds[0] is RAFT.REQ <client> <seq> <command...> */
    bool waiting;  /* in the server's list of requests waiting for a leader */
    bool deferred; /* held back behind earlier requests of its connection (data.c) */
    uint64_t client, seq; /* RAFT.REQ's session */
    uint64_t deadline_ms; /* the loop's clock */
    uint64_t started_us;  /* metrics: when last proposed or read (metrics_now_us), 0: never */
    struct resp_reply reply;  /* loop-owned: what the client gets */
    struct resp_reply result; /* apply-side: what a read's fn wrote */
    struct cmd_args one;      /* the command, when not a MULTI */
    struct cmd_args *cmds;    /* &one, or an owned array of a MULTI's commands */
    size_t n_cmds;
    struct completion ev; /* the node's outcome, on its way to the loop */
    uint64_t keys;        /* INFO's figures, filled on the apply side */
    uint64_t expires;
    uint64_t bytes;
};

struct server {
    struct server_config cfg;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    uv_timer_t tick;
    uv_async_t wake; /* the node's callbacks hand over completions */
    uv_prepare_t writer; /* writes the connections of write_head before the loop polls */
    struct conn *write_head; /* connections with replies to write this turn (conn.c) */
    struct completion_queue cq;
    struct craft_node *node;
    struct kv_store *store;
    struct resp_limits limits;
    struct conn *conns; /* every open client connection */
    unsigned n_conns;
    uint64_t next_client_id;
    struct request *waiting; /* requests waiting for a leader to be known, oldest first */
    struct request *waiting_tail;
    struct kv_entry entry;   /* reused for every proposal (loop thread) */
    struct forwarder fwd;
    char client_address[SERVER_ADDR_MAX]; /* what this node advertises when it leads */
    craft_term advertised_term;           /* the term whose raft.advertise committed */
    craft_term advertise_term;            /* the term of the one in flight */
    bool advertising;
    struct completion advertise_ev;
    struct completion promote_ev;
    craft_id promoting; /* a learner RAFT.ADDNODE added, to be made a voter when caught up */
    bool promote_in_flight;
    craft_id dir_peers[SERVER_PEERS_MAX]; /* peers told to the node from the directory */
    unsigned n_dir_peers;
    unsigned dir_ticks;
    bool stopping;
    int exit_code;     /* server_exit_code */
    struct join *join; /* the --join attempt under way, or NULL */
    bool joined;       /* no --join, or it succeeded */
    uint64_t join_next_ms;
    unsigned join_attempts; /* lookups of a --join host name: its addresses are dialed in turn */
    uint64_t started_ms;
    uint64_t n_commands; /* processed, for INFO stats */
    uint64_t n_connections;
    void (*metrics_hook)(struct server *s); /* the metrics endpoint starts here (ops) */
    struct metrics *metrics; /* owned (metrics_server.c); NULL without --metrics-port */
};

/* A client connection. */
struct conn {
    struct server *srv;
    uv_tcp_t tcp;
    struct conn *prev, *next;
    uint64_t id;
    char name[64];
    char peer[SERVER_ADDR_MAX];
    struct resp_parser parser;
    char *rbuf; /* owned: bytes read; the unparsed ones start at rstart */
    size_t rlen, rcap, rstart;
    size_t need; /* the parser's hint: bytes the current request needs from rstart */
    struct request *head, *tail; /* the ordered queue */
    unsigned n_pending;
    unsigned n_deferred; /* requests held back for their connection's order */
    bool releasing;      /* data_release_deferred is walking the queue */
    bool processing;     /* process() is parsing and dispatching */
    struct request *batch_head; /* plain writes of this parse pass, not yet proposed */
    struct request *batch_tail;
    unsigned batch_n;
    size_t batch_bytes; /* their entry's size so far */
    struct wbuf wb;     /* replies not yet written */
    uv_write_t wreq;
    struct conn *write_next; /* in srv->write_head while write_queued */
    bool write_queued;
    bool writing;
    bool reading;
    bool closing;
    bool close_after_flush; /* QUIT or a protocol error: close once the replies are out */
    bool authed;
    bool readonly;
    bool redirect; /* CLIENT REDIRECT on: -MOVED instead of forwarding */
    bool in_multi;
    bool multi_error;                /* a command failed to queue: EXEC aborts */
    struct cmd_args *multi_cmds;     /* owned: the commands queued since MULTI */
    size_t multi_n, multi_cap;
};

/* server.c */
uint64_t server_now_ms(struct server *s); /* the loop's monotonic clock */
uint64_t server_wall_ms(void);            /* the wall clock (expiry times) */
void server_status(struct server *s, struct craft_node_status *st);

/* conn.c */
int conn_listen(struct server *s);
int conn_accept(struct server *s);
void conn_multi_reset(struct conn *c);
struct request *conn_request_new(struct conn *c);
void conn_flush(struct conn *c); /* moves answered requests' replies out, in order; writes */
void conn_close(struct conn *c);
void conn_writer_init(struct server *s); /* the prepare handle that writes replies */
void conn_check_deadlines(struct conn *c, uint64_t now_ms);
void request_release(struct request *r); /* drops the in-flight hold */
/* r (queued) is answered: its reply is filled. Drops the in-flight hold, sends what is ready. */
void request_complete(struct request *r);

/* dispatch.c: runs one parsed request of c (argv borrowed for the call). */
void dispatch(struct conn *c, int argc, const char *const *argv, const size_t *lens);
/* The error for an unknown command, as Redis words it. */
void reply_unknown_command(struct resp_reply *r, int argc, const char *const *argv,
                           const size_t *lens);
bool name_is(const char *s, size_t n, const char *lower);

/* cmd_args.c */
int cmd_args_copy(struct cmd_args *a, int argc, const char *const *argv, const size_t *lens);
void cmd_args_free(struct cmd_args *a);
/* Copies the command into r (r->one, one command); false when out of memory (r answered). */
bool request_take_args(struct request *r, int argc, const char *const *argv, const size_t *lens);
/* A decimal uint64 argument, digits only. */
bool arg_u64(const char *p, size_t n, uint64_t *out);

/* data.c: writes and reads through the node. */
/* Copies the command and starts it as kind (REQ_WRITE, REQ_READ, REQ_INFO, REQ_ADMIN). */
void data_command(struct conn *c, struct request *r, int kind, int argc,
                  const char *const *argv, const size_t *lens);
void data_start(struct server *s, struct request *r); /* r's kind, cmds and flags are set */
void data_wait(struct server *s, struct request *r); /* until a leader is known */
void data_release_deferred(struct conn *c);
/* Proposes c's open batch (the end of a parse pass); drops it when c is closing. */
void data_batch_flush(struct conn *c);
void data_retry_waiting(struct server *s);
void data_release_waiting(struct server *s);
void data_on_completion(struct server *s, struct completion *e);
int data_propose_args(struct server *s, struct request *r);

/* cmd_info.c */
void cmd_info_finish(struct server *s, struct request *r);
void info_count_keys(struct request *r, const struct kv_store *store, uint64_t now_ms);
void info_raft(struct server *s, struct resp_reply *text);

/* cmd_admin.c */
void admin_start(struct server *s, struct request *r);
/* RAFT.SNAPSHOT's request, once the connection's earlier writes are answered. */
void admin_snapshot_start(struct server *s, struct request *r);
void admin_reply_error(struct request *r, int rv);
void admin_tick(struct server *s);
void admin_on_completion(struct server *s, struct completion *e);

/* leader.c: raft.advertise when this node leads; the leader's client address. */
void leader_tick(struct server *s);
bool leader_client_address(struct server *s, craft_id leader, char *buf, size_t len);
void leader_on_advertised(struct server *s, struct completion *e);
/* Proposes `raft.advertise <key> <address>` (kv's node directory). 0, or why not. */
int advertise_propose(struct server *s, uint64_t key, const char *address, craft_result_fn cb,
                      void *arg);

/* peer_dir.c: peer addresses published in the log (kv's node directory). */
void peer_dir_publish(struct server *s, craft_id id, const char *address);
void peer_dir_tick(struct server *s);
void peer_dir_own_address(const struct server *s, char *buf, size_t len);

#endif
