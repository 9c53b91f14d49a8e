/* What the transport's files share: the transport, its peers and its connections. */
#ifndef CRAFT_NET_TRANSPORT_INTERNAL_H
#define CRAFT_NET_TRANSPORT_INTERNAL_H

#include "backoff.h"
#include "send_queue.h"
#include "transport.h"
#include "util/log.h"
#include "util/prng.h"

#define NET_PEERS_MAX 64           /* peers per transport: a cluster's nodes */
#define NET_READ_CHUNK (64u << 10) /* free room offered to each read */
/* Accepted connections still waiting for their hello: beyond, new ones are closed at once, so
 * silent clients cannot pile up (each costs a socket and a read buffer until its deadline). */
#define NET_UNNAMED_MAX 64

struct tcp_conn;

struct net_peer {
    craft_id id;
    struct net_transport *t;
    char host[NET_HOST_MAX]; /* as added: an IP literal, or a name resolved at each dial */
    uint16_t port;
    bool is_name;
    struct sockaddr_storage addr; /* the literal's, or the name's last resolved address */
    uv_getaddrinfo_t resolve_req; /* in flight while resolving: counted in t->n_handles */
    bool resolving;
    unsigned addr_turn;       /* which of the name's addresses to dial: the next after a failure */
    struct tcp_conn *conn;    /* the established connection, or NULL; owned by t's conn list */
    struct tcp_conn *dialing; /* our dial in progress (connect or hello), or NULL */
    uv_timer_t timer;         /* the next dial */
    struct backoff backoff;
    struct send_queue pending; /* frames queued for the next write; owned here */
};

struct net_transport {
    uv_loop_t *loop; /* borrowed */
    struct net_transport_config config;
    void *ctx;
    net_frame_cb on_frame;
    net_close_cb on_close;
    struct prng prng;
    uv_tcp_t listener;
    uv_prepare_t flusher; /* runs once per loop turn while frames wait for a write */
    uv_timer_t sweeper;   /* closes connections whose hello is late (hello_deadline.c) */
    struct net_peer *peers[NET_PEERS_MAX]; /* owned */
    unsigned n_peers;
    struct tcp_conn *conns; /* every open connection, a list; each owned by it */
    unsigned n_handles;     /* handles not yet closed and resolutions in flight: freed at 0 */
    bool closing;
    struct net_transport_stats stats;
};

struct tcp_conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct net_transport *t;
    struct tcp_conn *prev, *next; /* t->conns */
    craft_id dialed;              /* the peer we dialed, or 0 for an accepted connection */
    craft_id peer;                /* the peer its hello named; 0 before */
    uint64_t opened_ms;           /* uv_now when created: the hello is due hello_timeout_ms later */
    bool writing;                 /* write_req in flight with the head of out */
    bool closing;
    struct send_queue out; /* frames being written, then the rest of the chunks; owned here */
    size_t write_bytes[SEND_CLASSES];    /* of each class of out, in the write in flight */
    uint64_t write_frames[SEND_CLASSES]; /* the frames among them */
    unsigned char *in;                   /* bytes read but not yet cut into frames; owned here */
    size_t in_len, in_cap;
    struct wire_scratch scratch;
};

/* transport.c */
struct net_peer *transport_peer(const struct net_transport *t, craft_id id);
void transport_handle_closed(struct net_transport *t);
void transport_want_flush(struct net_transport *t);

/* transport_peer.c: dialing and a peer's connection coming and going. */
void peer_dial_later(struct net_transport *t, struct net_peer *p);
void peer_dial_now(struct net_transport *t, struct net_peer *p);
/* The transport is closing: cancels p's resolution, if any (its callback still runs). */
void peer_cancel_resolve(struct net_peer *p);
/* A connection's hello was read: accept or refuse it (then the conn is closed). */
void peer_on_hello(struct tcp_conn *c, const struct wire_frame *f);
/* c is closing: if it was the peer's, the peer dials again later. */
void peer_on_conn_closed(struct tcp_conn *c);
void peer_drop_pending(struct net_transport *t, struct net_peer *p);
void peer_flush(struct net_transport *t, struct net_peer *p);

/* tcp_conn.c: one connection's bytes. */
struct tcp_conn *tcp_conn_new(struct net_transport *t, craft_id dialed);
/* Starts reading; a dialed connection sends its hello first. Returns 0, or an error after
 * closing c. */
int tcp_conn_start(struct tcp_conn *c);
/* Writes our hello (to the dialed node, or answering the accepted peer's hello). */
int tcp_conn_send_hello(struct tcp_conn *c);
/* Closes c (once), logging reason at level when reason is not NULL. */
void tcp_conn_close(struct tcp_conn *c, enum craft_log_level level, const char *reason);
/* When no write is in flight, moves each class of *pending whose turn it is into the
 * connection's out queue (swapping buffers) and writes, in one uv_write, every control frame
 * then at most NET_BULK_WRITE_BYTES_MAX of whole chunks (at least one); the rest of the chunks
 * go in the next writes, each after the control frames queued meanwhile. */
void tcp_conn_write(struct tcp_conn *c, struct send_queue *pending);

/* hello_deadline.c: starts the sweep of connections whose hello is late. */
void hello_deadline_start(struct net_transport *t);

/* tcp_listen.c */
int tcp_listen_start(struct net_transport *t);

#endif
