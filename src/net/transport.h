/* The TCP transport between nodes, on a caller's libuv loop: one connection per peer node, a
 * hello first each way (docs/WIRE_FORMAT.md), bounded per-peer send queues written in batches,
 * frames cut, checked and routed on arrival, reconnects with capped backoff. All calls and all
 * callbacks run on the loop's thread. */
#ifndef CRAFT_NET_TRANSPORT_H
#define CRAFT_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "craft/errors.h"
#include "craft/types.h"
#include "wire.h"

#define NET_HOST_MAX 64 /* an IPv4 or IPv6 literal, or a host name, and its NUL fit */
/* Bulk bytes in one write (whole frames, at least one): a control frame queued while a write is
 * in flight waits for at most this much of chunks (a few ms at LAN speed), while each write is
 * still large enough that its system call cost does not matter. */
#define NET_BULK_WRITE_BYTES_MAX (128u << 10)
/* Defaults of net_transport_config_init. */
#define NET_SEND_QUEUE_BYTES_DEFAULT (8u << 20) /* a few AppendEntries batches per peer */
#define NET_BACKOFF_MS_MIN_DEFAULT 50u
#define NET_BACKOFF_MS_MAX_DEFAULT 5000u
#define NET_HELLO_TIMEOUT_MS_DEFAULT 5000u

struct net_transport_config {
    uint64_t cluster; /* must match the peers' */
    craft_id node;    /* this node: not 0 */
    /* An IP literal, or a host name resolved once by net_transport_create (synchronously, its
     * first address); default "127.0.0.1". */
    char listen_host[NET_HOST_MAX];
    uint16_t listen_port;        /* 0: the system picks one (net_transport_port) */
    uint32_t body_max;           /* longest frame body accepted; default WIRE_BODY_MAX_DEFAULT */
    size_t send_queue_bytes_max; /* per peer and class: queued plus being written */
    uint32_t backoff_ms_min;     /* reconnect delays, see backoff.h */
    uint32_t backoff_ms_max;
    uint32_t hello_timeout_ms; /* a connection whose hello has not come by then is closed */
    uint64_t seed;             /* of the backoff jitter */
};

/* Counters, for logs and tests. */
struct net_transport_stats {
    uint64_t n_frames_sent;     /* handed to a write */
    uint64_t n_frames_received; /* delivered to on_frame */
    uint64_t n_frames_dropped;  /* sent while the peer was not connected, or lost with a conn */
    uint64_t n_refused;         /* connections closed at the hello */
    uint64_t n_bad_frames;      /* connections closed for a malformed or misrouted frame */
    uint64_t n_connected;       /* hellos accepted */
};

struct net_transport;

/* Delivers one decoded frame (not the hello) from peer; f and whatever it points to live only
 * for the call. The callback may send, and may close the transport. */
typedef void (*net_frame_cb)(void *ctx, craft_id peer, const struct wire_frame *f);
/* Runs once after net_transport_close, when every handle is closed and the memory is freed. */
typedef void (*net_close_cb)(void *ctx);

/* Fills c with defaults; the caller then sets at least cluster and node. */
void net_transport_config_init(struct net_transport_config *c);

/* Creates a transport on loop (borrowed; it must outlive the transport) and starts listening.
 * c is copied. ctx is handed to the callbacks. Returns 0 and *out (owned by the caller until
 * net_transport_close), CRAFT_EINVAL (a bad config), CRAFT_EIO (cannot listen; logged) or
 * CRAFT_ENOMEM. After CRAFT_EIO the handles already made are closing: run the loop before
 * uv_loop_close, and the memory is freed then. */
CRAFT_MUST_CHECK int net_transport_create(uv_loop_t *loop, const struct net_transport_config *c,
                                          void *ctx, net_frame_cb on_frame,
                                          struct net_transport **out);

/* The port the transport listens on (the one picked when the config said 0). */
uint16_t net_transport_port(const struct net_transport *t);

/* Adds peer id at host:port (copied) and starts dialing it. host is an IPv4 or IPv6 literal, or
 * a host name: a name is resolved on the loop (uv_getaddrinfo, in libuv's thread pool) at every
 * dial, since its address may change; a name with several addresses is dialed at the next one
 * after a failed connect. A name that does not resolve is a failed dial: logged, then retried
 * after the backoff. Returns 0, CRAFT_EINVAL (id 0 or this node, a host that is neither a literal
 * nor a valid name), CRAFT_EEXIST or CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int net_transport_add_peer(struct net_transport *t, craft_id id, const char *host,
                                            uint16_t port);

/* Queues one encoded frame (bytes copied) for peer; it is written with the others queued in the
 * same loop turn. Returns 0 (also when the peer is not connected: the frame is dropped and
 * counted), CRAFT_ENOTFOUND (not a peer), CRAFT_EBUSY (the bound of the peer's queue for
 * this frame's class is reached: snapshot chunks, or everything else),
 * CRAFT_ESHUTDOWN (closing) or CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int net_transport_send(struct net_transport *t, craft_id peer, const void *frame,
                                        size_t len);
/* Encodes and queues one Raft message of group to m->to (m->from is this node, asserted). */
CRAFT_MUST_CHECK int net_transport_send_msg(struct net_transport *t, uint64_t group,
                                            const struct craft_msg *m);
CRAFT_MUST_CHECK int net_transport_send_chunk(struct net_transport *t, uint64_t group, craft_id to,
                                              const struct wire_snap_chunk *c);
CRAFT_MUST_CHECK int net_transport_send_ack(struct net_transport *t, uint64_t group, craft_id to,
                                            const struct wire_snap_ack *a);

/* True when host is an IPv4 or IPv6 literal. */
bool net_host_is_ip(const char *host);
/* NULL when name is a valid host name (RFC 1123: dot-separated labels of letters, digits and
 * '-', not beginning or ending with '-', at most 63 characters each, the whole shorter than
 * NET_HOST_MAX, the last label not all digits); else why not, a static string. Any thread. */
const char *net_host_name_check(const char *name);

/* True while peer has an established connection (hello done both ways). */
bool net_transport_connected(const struct net_transport *t, craft_id peer);
void net_transport_get_stats(const struct net_transport *t, struct net_transport_stats *out);

/* Closes every connection, timer and the listener; queued frames are dropped. done(ctx) runs
 * from the loop once libuv has closed every handle and t is freed; t must not be used after this
 * call. */
void net_transport_close(struct net_transport *t, net_close_cb done);

#endif
