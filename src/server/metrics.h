/* craftd's metrics: a fixed registry of counters, gauges and latency histograms that any thread
 * updates with atomics, rendered in Prometheus's text exposition format 0.0.4, and a tiny
 * HTTP/1.x server on the caller's libuv loop that serves it at GET /metrics. */
#ifndef CRAFT_SERVER_METRICS_H
#define CRAFT_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "craft/errors.h"
#include "craft/node.h"

/* Every series craftd exports. One id is one series (a family with a fixed label value, such as
 * craftd_proposals_total{outcome="ok"}); ids of one family are adjacent. The table in
 * metrics.c names them; metrics_name() reads it. */
enum metrics_id {
    /* Counters. */
    METRIC_PROPOSALS_OK = 0,     /* a write's proposal committed and applied */
    METRIC_PROPOSALS_NOT_LEADER, /* CRAFT_ENOTLEADER */
    METRIC_PROPOSALS_UNKNOWN,    /* CRAFT_EUNKNOWN: leadership lost after it was appended */
    METRIC_PROPOSALS_BUSY,       /* CRAFT_EBUSY */
    METRIC_PROPOSALS_TIMEOUT,    /* the server's request timeout passed first */
    METRIC_PROPOSALS_ERROR,      /* any other outcome (CRAFT_ESHUTDOWN, CRAFT_ETOOBIG, ...) */
    METRIC_CONNECTIONS_TOTAL,    /* client connections accepted */
    METRIC_COMMANDS_TOTAL,       /* client commands dispatched */
    /* Gauges. */
    METRIC_ROLE_FOLLOWER, /* 1 for this node's role, 0 for the others */
    METRIC_ROLE_CANDIDATE,
    METRIC_ROLE_LEADER,
    METRIC_ROLE_STOPPED,
    METRIC_TERM,
    METRIC_LEADER_ID, /* 0: no leader known */
    METRIC_COMMIT_INDEX,
    METRIC_APPLIED_INDEX,
    METRIC_LAST_INDEX,
    METRIC_SNAPSHOT_INDEX,
    METRIC_CONNECTED_CLIENTS,
    /* Histograms (observed in microseconds, exported in seconds). */
    METRIC_COMMIT_LATENCY, /* propose -> result, every outcome */
    METRIC_READ_LATENCY,   /* linearizable read: request -> result */
    /* The node's disk I/O (fsync latency, WAL bytes, snapshots) is not here: it is rendered
     * from the copy metrics_update_from_stats keeps (craft_node_stats). */
    METRIC_N
};

/* The histograms' upper bounds in microseconds, 1-2.5-5 per decade from 50 us to 10 s (log
 * spaced: a commit is ~100 us on tmpfs and seconds under an election); +Inf is implicit. */
#define METRICS_BUCKETS_N 17
extern const uint64_t metrics_bucket_bounds_us[METRICS_BUCKETS_N];

/* Peer lag slots: one per follower a leader can have. */
#define METRICS_PEERS_MAX (CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX)

/* A request's head may be this long; a longer one is refused (431) and closed. */
#define METRICS_REQUEST_MAX 4096
/* Open scrape connections at once; more are closed on accept. */
#define METRICS_CONNS_MAX 16
/* A scrape connection that has not sent a whole request head by then is closed. */
#define METRICS_REQUEST_TIMEOUT_MS 5000

struct metrics; /* opaque; owned by whoever created it */

/* Fills the gauges just before a scrape is rendered, on the loop thread serving it (must not
 * block). ctx is the one given to metrics_set_refresh. */
typedef void (*metrics_refresh_fn)(void *ctx, struct metrics *m);

/* A registry with every series at zero, or NULL when out of memory. Any thread. */
struct metrics *metrics_create(void);
/* Frees m. Its HTTP server must have been stopped (metrics_serve_stop) first. */
void metrics_destroy(struct metrics *m);

/* Series updates: any thread, lock-free. id must be of the right kind (asserted). */
void metrics_counter_add(struct metrics *m, enum metrics_id id, uint64_t v);
/* Sets a counter that mirrors a monotonic total kept elsewhere (the server's INFO figures). */
void metrics_counter_set(struct metrics *m, enum metrics_id id, uint64_t v);
void metrics_gauge_set(struct metrics *m, enum metrics_id id, int64_t v);
void metrics_gauge_add(struct metrics *m, enum metrics_id id, int64_t v);
void metrics_histogram_observe(struct metrics *m, enum metrics_id id, uint64_t value_us);
/* A counter's or gauge's value (tests, INFO). */
int64_t metrics_value(struct metrics *m, enum metrics_id id);

/* Counts a proposal's outcome (0 or a CRAFT_E* code; timed_out for the server's own request
 * timeout) in craftd_proposals_total and its latency in the commit histogram. Any thread. */
void metrics_proposal_done(struct metrics *m, int status, int timed_out, uint64_t latency_us);

/* Replaces the craftd_peer_lag series with n (peer, lag) pairs (n <= METRICS_PEERS_MAX;
 * borrowed for the call). Any thread; takes a short lock. */
void metrics_peer_lag_set(struct metrics *m, const craft_id *peers, const uint64_t *lags,
                          unsigned n);

/* Sets role, term, leader, commit/applied/last/snapshot index and, on a leader, each follower's
 * lag (st->last_index - match; none on a follower) from a status (borrowed). Any thread. */
void metrics_update_from_status(struct metrics *m, const struct craft_node_status *st);
/* Keeps a copy of the node's I/O statistics (borrowed), rendered as craftd_wal_* and
 * craftd_snapshot* families: the fsync and snapshot save histograms with the node's log2 buckets
 * (2^i us, in seconds), the counters and the last snapshots' sizes. Any thread; a short lock. */
void metrics_update_from_stats(struct metrics *m, const struct craft_node_stats *st);
/* A ready-made metrics_refresh_fn: ctx is the struct craft_node * to read the status and the
 * I/O statistics of. */
void metrics_refresh_node(void *ctx, struct metrics *m);

/* Calls fn(ctx, m) before each scrape is rendered (NULL: no refresh). Before serve_start. */
void metrics_set_refresh(struct metrics *m, metrics_refresh_fn fn, void *ctx);

/* Renders every series in the text exposition format 0.0.4 into a buffer of *len bytes that the
 * caller frees with craft_free. NULL when out of memory. Any thread. */
char *metrics_render(struct metrics *m, size_t *len);

/* --- the HTTP endpoint ------------------------------------------------------------------------ */

/* Serves GET /metrics on bind:port (an IP literal; port 0: the system picks) on loop. Loop
 * thread only; m is borrowed until metrics_serve_stop, loop until the close it starts completes.
 * CRAFT_EINVAL for a bad address, CRAFT_EIO when the port cannot be bound (message in errmsg
 * when not NULL), CRAFT_EBUSY when already serving. */
CRAFT_MUST_CHECK int metrics_serve_start(struct metrics *m, uv_loop_t *loop, const char *bind,
                                         uint16_t port, char *errmsg, size_t errmsg_len);
/* The port served (after serve_start), 0 when not serving. */
uint16_t metrics_serve_port(struct metrics *m);
/* Closes the listener and every scrape connection. Loop thread only. m may be destroyed right
 * after; the handles' memory is released from their close callbacks, so the loop must run until
 * they have closed before it is closed itself. Harmless when not serving. */
void metrics_serve_stop(struct metrics *m);

/* The parse of a request head: exposed for the tests. */
enum metrics_http_parse_result {
    METRICS_HTTP_INCOMPLETE = 0, /* no blank line yet: read more */
    METRICS_HTTP_OK = 1,         /* a whole head, well formed */
    METRICS_HTTP_BAD = 2,        /* malformed: answer 400 and close */
    METRICS_HTTP_TOO_LARGE = 3,  /* no end of head within METRICS_REQUEST_MAX bytes: 431 */
};

struct metrics_http_request {
    char method[16];
    char path[256]; /* without the query string */
    int minor;      /* HTTP/1.<minor> */
};

/* Parses the request head in buf[0..len) (not NUL-terminated). The head ends with an empty line
 * (CRLF CRLF, or LF LF from lenient clients); the request line is "METHOD SP target SP
 * HTTP/1.0|1.1"; header lines are not interpreted, but must contain a ':'. */
int metrics_http_parse(const char *buf, size_t len, struct metrics_http_request *req);

/* Builds the whole response (status line, headers, body) to a parsed request, or to a parse
 * failure (parse is the metrics_http_parse result): 200 with the rendered metrics for GET (HEAD:
 * without the body) of /metrics, 404 for another path, 405 for another method, 400 / 431 for a
 * bad or oversized head. Returns a craft_free'd buffer of *len bytes, NULL when out of memory. */
char *metrics_http_respond(struct metrics *m, int parse, const struct metrics_http_request *req,
                           size_t *len);

/* --- the server's hook (metrics_server.c) ---------------------------------------------------- */

struct server;
struct request;

/* Starts the endpoint on --bind:--metrics-port (nothing when the port is 0) with a registry in
 * s->metrics: 0, or an error (logged) that fails the server's start. Loop thread. */
int metrics_start(struct server *s);
/* Stops the endpoint and frees the registry (s->metrics NULL). Loop thread. */
void metrics_stop(struct server *s);
/* The monotonic clock in microseconds: a request's start (request.started_us). */
uint64_t metrics_now_us(void);
/* A request's node outcome arrived (loop thread): a write's proposal outcome and latency, a
 * linearizable read's latency. Nothing without a registry or for a request never started. */
void metrics_request_done(struct server *s, const struct request *r, int status);
/* A write's proposal passed the request timeout before its outcome (loop thread). */
void metrics_request_timeout(struct server *s, const struct request *r);

#endif
