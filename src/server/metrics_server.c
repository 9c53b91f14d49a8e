/* The metrics endpoint in craftd: started and stopped with the server (--metrics-port), its
 * gauges refreshed from the node's status, I/O statistics and the server's figures at each
 * scrape, and the requests' outcomes counted as the loop learns them. */
#include <time.h>

#include "server/metrics.h"
#include "server/server.h"
#include "util/log.h"

/* Loop thread, before each scrape renders. */
static void refresh(void *ctx, struct metrics *m)
{
    struct server *s = ctx;
    struct craft_node_status st;
    struct craft_node_stats io;
    server_status(s, &st);
    metrics_update_from_status(m, &st);
    craft_node_stats(s->node, &io);
    metrics_update_from_stats(m, &io);
    metrics_counter_set(m, METRIC_COMMANDS_TOTAL, s->n_commands);
    metrics_counter_set(m, METRIC_CONNECTIONS_TOTAL, s->n_connections);
    metrics_gauge_set(m, METRIC_CONNECTED_CLIENTS, s->n_conns);
}

int metrics_start(struct server *s)
{
    if (s->cfg.metrics_port == 0) {
        return 0;
    }
    s->metrics = metrics_create();
    if (s->metrics == NULL) {
        craft_log(CRAFT_LOG_ERROR, s->cfg.id, 0, "metrics: out of memory");
        return CRAFT_ENOMEM;
    }
    metrics_set_refresh(s->metrics, refresh, s);
    char err[160];
    int rv = metrics_serve_start(s->metrics, &s->loop, s->cfg.bind, s->cfg.metrics_port, err,
                                 sizeof err);
    if (rv != 0) {
        craft_log(CRAFT_LOG_ERROR, s->cfg.id, 0, "%s", err);
        metrics_destroy(s->metrics);
        s->metrics = NULL;
        return rv;
    }
    craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "metrics on http://%s:%u/metrics", s->cfg.bind,
              (unsigned)metrics_serve_port(s->metrics));
    return 0;
}

void metrics_stop(struct server *s)
{
    if (s->metrics == NULL) {
        return;
    }
    metrics_serve_stop(s->metrics);
    metrics_destroy(s->metrics);
    s->metrics = NULL;
}

uint64_t metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t elapsed_us(const struct request *r)
{
    uint64_t now = metrics_now_us();
    return now > r->started_us ? now - r->started_us : 0;
}

void metrics_request_done(struct server *s, const struct request *r, int status)
{
    if (s->metrics == NULL || r->started_us == 0) {
        return;
    }
    if (r->kind == REQ_WRITE) {
        metrics_proposal_done(s->metrics, status, 0, elapsed_us(r));
    } else if (r->kind == REQ_READ && !r->stale && status == 0) {
        metrics_histogram_observe(s->metrics, METRIC_READ_LATENCY, elapsed_us(r));
    }
}

void metrics_request_timeout(struct server *s, const struct request *r)
{
    if (s->metrics == NULL || r->started_us == 0 || r->kind != REQ_WRITE) {
        return;
    }
    metrics_proposal_done(s->metrics, 0, 1, elapsed_us(r));
}
