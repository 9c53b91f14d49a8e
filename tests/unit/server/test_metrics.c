/* Unit tests for craftd's metrics: the registry's updates from many threads, the text exposition
 * format, the HTTP request parsing and responses, and the endpoint over a real socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server/metrics.h"
#include "util/alloc.h"

static char *render(struct metrics *m)
{
    size_t len = 0;
    char *text = metrics_render(m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* text holds (or lacks) want; a failure prints what was missing (or found). */
static void assert_has(const char *text, const char *want)
{
    if (strstr(text, want) == NULL) {
        fail_msg("missing: %s", want);
    }
}

static void assert_lacks(const char *text, const char *unwanted)
{
    if (strstr(text, unwanted) != NULL) {
        fail_msg("unexpected: %s", unwanted);
    }
}

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* True when line is a sample "name{labels} value" of the 0.0.4 text format. */
static bool is_sample(const char *line, size_t len, char *name, size_t name_max)
{
    size_t i = 0;
    if (len == 0 || !(isalpha((unsigned char)line[0]) || line[0] == '_' || line[0] == ':')) {
        return false;
    }
    while (i < len && (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == ':')) {
        i++;
    }
    if (i >= name_max) {
        return false;
    }
    memcpy(name, line, i);
    name[i] = '\0';
    if (i < len && line[i] == '{') {
        while (i < len && line[i] != '}') {
            if (line[i] == '=' && (i + 1 >= len || line[i + 1] != '"')) {
                return false; /* label values are quoted */
            }
            i++;
        }
        if (i == len) {
            return false;
        }
        i++;
    }
    if (i >= len || line[i] != ' ') {
        return false;
    }
    i++;
    if (i >= len) {
        return false;
    }
    for (; i < len; i++) {
        if (!(isdigit((unsigned char)line[i]) || line[i] == '.' || line[i] == '-')) {
            return false;
        }
    }
    return true;
}

/* Every line is a HELP, a TYPE or a sample; each sample's family was TYPEd before it, once. */
static void assert_exposition_format(const char *text)
{
    char typed[64][96];
    int n_typed = 0;
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl); /* every line ends with \n, the last one too */
        size_t len = (size_t)(nl - line);
        char name[96];
        if (strncmp(line, "# HELP ", 7) == 0) {
            /* fine */
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_true(n_typed < 64);
            assert_int_equal(sscanf(line + 7, "%95s", typed[n_typed]), 1);
            for (int i = 0; i < n_typed; i++) {
                assert_string_not_equal(typed[i], typed[n_typed]);
            }
            n_typed++;
        } else {
            assert_true(is_sample(line, len, name, sizeof name));
            bool known = false;
            for (int i = 0; i < n_typed && !known; i++) {
                size_t fl = strlen(typed[i]);
                known = strncmp(name, typed[i], fl) == 0 &&
                        (name[fl] == '\0' || strcmp(name + fl, "_bucket") == 0 ||
                         strcmp(name + fl, "_sum") == 0 || strcmp(name + fl, "_count") == 0);
            }
            assert_true(known);
        }
        line = nl + 1;
    }
}

/* A fresh registry renders every family at zero, in the exposition format. */
static void test_metrics_render_fresh_registry(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    assert_non_null(m);
    char *text = render(m);
    assert_exposition_format(text);
    assert_int_equal(count_substr(text, "# TYPE craftd_proposals_total counter\n"), 1);
    assert_int_equal(count_substr(text, "# TYPE craftd_role gauge\n"), 1);
    assert_int_equal(count_substr(text, "# TYPE craftd_commit_latency_seconds histogram\n"), 1);
    assert_has(text, "\ncraftd_proposals_total{outcome=\"ok\"} 0\n");
    assert_has(text, "\ncraftd_term 0\n");
    assert_has(text, "\ncraftd_commit_latency_seconds_bucket{le=\"+Inf\"} 0\n");
    assert_lacks(text, "craftd_peer_lag{"); /* no follower known */
    craft_free(text);
    metrics_destroy(m);
}

/* Each outcome of a proposal lands in its own series, and in the latency histogram. */
static void test_metrics_proposal_outcomes(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    metrics_proposal_done(m, 0, 0, 100);
    metrics_proposal_done(m, 0, 0, 100);
    metrics_proposal_done(m, CRAFT_ENOTLEADER, 0, 10);
    metrics_proposal_done(m, CRAFT_EUNKNOWN, 0, 10);
    metrics_proposal_done(m, CRAFT_EBUSY, 0, 10);
    metrics_proposal_done(m, 0, 1, 10);
    metrics_proposal_done(m, CRAFT_ESHUTDOWN, 0, 10);
    assert_int_equal(metrics_value(m, METRIC_PROPOSALS_OK), 2);
    assert_int_equal(metrics_value(m, METRIC_PROPOSALS_NOT_LEADER), 1);
    assert_int_equal(metrics_value(m, METRIC_PROPOSALS_UNKNOWN), 1);
    assert_int_equal(metrics_value(m, METRIC_PROPOSALS_BUSY), 1);
    assert_int_equal(metrics_value(m, METRIC_PROPOSALS_TIMEOUT), 1);
    assert_int_equal(metrics_value(m, METRIC_PROPOSALS_ERROR), 1);
    char *text = render(m);
    assert_has(text, "\ncraftd_proposals_total{outcome=\"ok\"} 2\n");
    assert_has(text, "\ncraftd_proposals_total{outcome=\"timeout\"} 1\n");
    assert_has(text, "\ncraftd_commit_latency_seconds_count 7\n");
    assert_has(text, "\ncraftd_commit_latency_seconds_sum 0.00025\n");
    craft_free(text);
    metrics_destroy(m);
}

/* Buckets are cumulative with "le" bounds inclusive, exported in seconds; beyond the last bound
 * only +Inf counts. */
static void test_metrics_histogram_buckets(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    metrics_histogram_observe(m, METRIC_COMMIT_LATENCY, 50);       /* == first bound */
    metrics_histogram_observe(m, METRIC_COMMIT_LATENCY, 51);       /* second bucket */
    metrics_histogram_observe(m, METRIC_COMMIT_LATENCY, 2500000);  /* 2.5 s */
    metrics_histogram_observe(m, METRIC_COMMIT_LATENCY, 20000000); /* past 10 s */
    char *text = render(m);
    assert_exposition_format(text);
    assert_has(text, "craftd_commit_latency_seconds_bucket{le=\"0.00005\"} 1\n");
    assert_has(text, "craftd_commit_latency_seconds_bucket{le=\"0.0001\"} 2\n");
    assert_has(text, "craftd_commit_latency_seconds_bucket{le=\"1\"} 2\n");
    assert_has(text, "craftd_commit_latency_seconds_bucket{le=\"2.5\"} 3\n");
    assert_has(text, "craftd_commit_latency_seconds_bucket{le=\"10\"} 3\n");
    assert_has(text, "craftd_commit_latency_seconds_bucket{le=\"+Inf\"} 4\n");
    assert_has(text, "craftd_commit_latency_seconds_sum 22.500101\n");
    assert_has(text, "craftd_commit_latency_seconds_count 4\n");
    /* The other histograms are untouched. */
    assert_has(text, "craftd_read_latency_seconds_count 0\n");
    craft_free(text);
    metrics_destroy(m);
}

/* A leader's status gives its role, indexes and each follower's lag; a follower's gives no lag. */
static void test_metrics_update_from_status(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    struct craft_node_status st;
    memset(&st, 0, sizeof st);
    st.id = 1;
    st.role = CRAFT_NODE_LEADER;
    st.term = 7;
    st.leader = 1;
    st.commit = 90;
    st.applied = 88;
    st.last_index = 100;
    st.snapshot_index = 50;
    st.followers[0] = (struct craft_node_follower){.id = 1, .match = 100, .voter = true};
    st.followers[1] = (struct craft_node_follower){.id = 2, .match = 97, .voter = true};
    st.followers[2] = (struct craft_node_follower){.id = 3, .match = 0, .voter = true};
    st.n_followers = 3;
    metrics_update_from_status(m, &st);
    char *text = render(m);
    assert_exposition_format(text);
    assert_has(text, "\ncraftd_role{role=\"leader\"} 1\n");
    assert_has(text, "\ncraftd_role{role=\"follower\"} 0\n");
    assert_has(text, "\ncraftd_term 7\n");
    assert_has(text, "\ncraftd_commit_index 90\n");
    assert_has(text, "\ncraftd_applied_index 88\n");
    assert_has(text, "\ncraftd_last_index 100\n");
    assert_has(text, "\ncraftd_snapshot_index 50\n");
    assert_has(text, "\ncraftd_peer_lag{peer=\"2\"} 3\n");
    assert_has(text, "\ncraftd_peer_lag{peer=\"3\"} 100\n");
    assert_lacks(text, "craftd_peer_lag{peer=\"1\"}"); /* not itself */
    craft_free(text);

    st.role = CRAFT_NODE_FOLLOWER;
    st.leader = 2;
    metrics_update_from_status(m, &st);
    text = render(m);
    assert_has(text, "\ncraftd_role{role=\"leader\"} 0\n");
    assert_has(text, "\ncraftd_role{role=\"follower\"} 1\n");
    assert_has(text, "\ncraftd_leader_id 2\n");
    assert_lacks(text, "craftd_peer_lag{");
    craft_free(text);
    metrics_destroy(m);
}

/* The value of the sample line that begins with prefix (name and labels), or -1 if none. */
static double sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ') {
            return strtod(line + n + 1, NULL);
        }
        line = nl + 1;
    }
    return -1;
}

/* family's histogram in text: buckets in rising "le" order with non-decreasing counts, ending
 * with +Inf, whose count is _count's. Returns the number of buckets. */
static int check_histogram_text(const char *text, const char *family)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s_bucket{le=\"", family);
    size_t n = strlen(prefix);
    double last_le = -1;
    double last_count = 0;
    bool inf = false;
    int n_buckets = 0;
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (strncmp(line, prefix, n) == 0) {
            assert_false(inf); /* +Inf is the last bucket */
            const char *le = line + n;
            const char *close = strchr(le, '"');
            assert_non_null(close);
            double count = strtod(close + 3, NULL); /* past '"} ' */
            if (strncmp(le, "+Inf\"", 5) == 0) {
                inf = true;
            } else {
                double bound = strtod(le, NULL);
                assert_true(bound > last_le);
                last_le = bound;
            }
            assert_true(count >= last_count);
            last_count = count;
            n_buckets++;
        }
        line = nl + 1;
    }
    assert_true(inf);
    snprintf(prefix, sizeof prefix, "%s_count", family);
    assert_true(sample_value(text, prefix) == last_count);
    snprintf(prefix, sizeof prefix, "%s_sum", family);
    assert_true(sample_value(text, prefix) >= 0);
    return n_buckets;
}

/* The node's I/O statistics: every family present with its type, histograms with the node's
 * log2 bounds in seconds (cumulative, +Inf = _count), counters that follow the node's. */
static void test_metrics_node_io(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    char *text = render(m);
    assert_exposition_format(text);
    static const char *const types[] = {
        "craftd_wal_fsync_duration_seconds histogram",
        "craftd_wal_written_bytes_total counter",
        "craftd_snapshot_save_duration_seconds histogram",
        "craftd_snapshot_fsync_duration_seconds histogram",
        "craftd_snapshots_saved_total counter",
        "craftd_snapshot_save_failures_total counter",
        "craftd_snapshot_size_bytes gauge",
        "craftd_snapshots_received_total counter",
        "craftd_snapshot_received_bytes_total counter",
        "craftd_snapshot_received_size_bytes gauge",
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "\n# TYPE %s\n", types[i]);
        assert_int_equal(count_substr(text, want), 1);
    }
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 0\n");
    assert_has(text, "\ncraftd_wal_written_bytes_total 0\n");
    assert_int_equal(check_histogram_text(text, "craftd_wal_fsync_duration_seconds"),
                     CRAFT_NODE_HIST_BUCKETS);
    craft_free(text);

    struct craft_node_stats st;
    memset(&st, 0, sizeof st);
    st.wal_fsync.buckets[0] = 1;                           /* <= 1 us */
    st.wal_fsync.buckets[3] = 2;                           /* <= 8 us */
    st.wal_fsync.buckets[10] = 4;                          /* <= 1024 us */
    st.wal_fsync.buckets[CRAFT_NODE_HIST_BUCKETS - 1] = 1; /* longer than 2^30 us */
    st.wal_fsync.n = 8;
    st.wal_fsync.sum_us = 1 + 2 * 8 + 4 * 1000 + 2000000000ull;
    st.wal_bytes_written = 4096;
    st.snapshot_save.buckets[20] = 3; /* <= 1.048576 s */
    st.snapshot_save.n = 3;
    st.snapshot_save.sum_us = 2500000;
    st.snapshot_fsync.buckets[12] = 2; /* <= 4.096 ms */
    st.snapshot_fsync.n = 2;
    st.snapshot_fsync.sum_us = 5000;
    st.n_snapshot_save_failures = 1;
    st.snapshot_saved_last_bytes = 12345;
    st.n_snapshots_received = 2;
    st.snapshot_received_bytes = 3000;
    st.snapshot_received_last_bytes = 1000;
    metrics_update_from_stats(m, &st);
    text = render(m);
    assert_exposition_format(text);
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"0.000001\"} 1\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"0.000004\"} 1\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"0.000008\"} 3\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"0.001024\"} 7\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"1073.741824\"} 7\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 8\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_sum 2000.004017\n");
    assert_has(text, "\ncraftd_wal_fsync_duration_seconds_count 8\n");
    assert_has(text, "\ncraftd_wal_written_bytes_total 4096\n");
    assert_has(text, "\ncraftd_snapshot_save_duration_seconds_bucket{le=\"0.524288\"} 0\n");
    assert_has(text, "\ncraftd_snapshot_save_duration_seconds_bucket{le=\"1.048576\"} 3\n");
    assert_has(text, "\ncraftd_snapshot_save_duration_seconds_sum 2.5\n");
    assert_has(text, "\ncraftd_snapshot_fsync_duration_seconds_bucket{le=\"0.002048\"} 0\n");
    assert_has(text, "\ncraftd_snapshot_fsync_duration_seconds_bucket{le=\"0.004096\"} 2\n");
    assert_has(text, "\ncraftd_snapshot_fsync_duration_seconds_sum 0.005\n");
    assert_has(text, "\ncraftd_snapshot_fsync_duration_seconds_count 2\n");
    assert_has(text, "\ncraftd_snapshots_saved_total 3\n");
    assert_has(text, "\ncraftd_snapshot_save_failures_total 1\n");
    assert_has(text, "\ncraftd_snapshot_size_bytes 12345\n");
    assert_has(text, "\ncraftd_snapshots_received_total 2\n");
    assert_has(text, "\ncraftd_snapshot_received_bytes_total 3000\n");
    assert_has(text, "\ncraftd_snapshot_received_size_bytes 1000\n");
    check_histogram_text(text, "craftd_wal_fsync_duration_seconds");
    check_histogram_text(text, "craftd_snapshot_save_duration_seconds");
    check_histogram_text(text, "craftd_snapshot_fsync_duration_seconds");
    craft_free(text);
    metrics_destroy(m);
}

#define THREADS 4
#define PER_THREAD 100000

static void *hammer(void *arg)
{
    struct metrics *m = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_counter_add(m, METRIC_COMMANDS_TOTAL, 1);
        metrics_gauge_add(m, METRIC_CONNECTED_CLIENTS, 1);
        metrics_histogram_observe(m, METRIC_READ_LATENCY, (uint64_t)(i % 1000) * 100);
    }
    return NULL;
}

/* Updates from several threads at once lose nothing. */
static void test_metrics_concurrent_updates(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer, m), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        char *text = render(m); /* scrapes race the updates */
        craft_free(text);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(metrics_value(m, METRIC_COMMANDS_TOTAL), THREADS * PER_THREAD);
    assert_int_equal(metrics_value(m, METRIC_CONNECTED_CLIENTS), THREADS * PER_THREAD);
    char *text = render(m);
    char want[96];
    snprintf(want, sizeof want, "\ncraftd_read_latency_seconds_count %d\n", THREADS * PER_THREAD);
    assert_has(text, want);
    craft_free(text);
    metrics_destroy(m);
}

static int parse(const char *s, struct metrics_http_request *req)
{
    return metrics_http_parse(s, strlen(s), req);
}

/* Request heads: whole, partial, lenient line ends, query strings, and malformed ones. */
static void test_metrics_http_parse(void **state)
{
    (void)state;
    struct metrics_http_request req;
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &req),
                     METRICS_HTTP_OK);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/metrics");
    assert_int_equal(req.minor, 1);
    assert_int_equal(parse("GET /metrics?x=1 HTTP/1.0\n\n", &req), METRICS_HTTP_OK);
    assert_string_equal(req.path, "/metrics");
    assert_int_equal(req.minor, 0);
    /* Not yet a whole head. */
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &req), METRICS_HTTP_INCOMPLETE);
    assert_int_equal(parse("GET /met", &req), METRICS_HTTP_INCOMPLETE);
    assert_int_equal(parse("", &req), METRICS_HTTP_INCOMPLETE);
    /* Malformed. */
    assert_int_equal(parse("\r\n\r\n", &req), METRICS_HTTP_BAD);
    assert_int_equal(parse("GET\r\n\r\n", &req), METRICS_HTTP_BAD);
    assert_int_equal(parse("GET /metrics\r\n\r\n", &req), METRICS_HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &req), METRICS_HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/1.1 extra\r\n\r\n", &req), METRICS_HTTP_BAD);
    assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &req), METRICS_HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", &req),
                     METRICS_HTTP_BAD);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", &req),
                     METRICS_HTTP_BAD);
    assert_int_equal(parse("AVERYLONGMETHODNAMEINDEED /metrics HTTP/1.1\r\n\r\n", &req),
                     METRICS_HTTP_BAD);
    /* Binary junk: a NUL in the request line. */
    assert_int_equal(metrics_http_parse("GET /\0x HTTP/1.1\r\n\r\n", 20, &req), METRICS_HTTP_BAD);
    /* No end of head within the bound. */
    static char big[METRICS_REQUEST_MAX];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    assert_int_equal(metrics_http_parse(big, sizeof big, &req), METRICS_HTTP_TOO_LARGE);
    assert_int_equal(metrics_http_parse(big, sizeof big - 1, &req), METRICS_HTTP_INCOMPLETE);
}

static char *respond_to(struct metrics *m, const char *head, size_t *len)
{
    struct metrics_http_request req;
    int p = parse(head, &req);
    char *r = metrics_http_respond(m, p, &req, len);
    assert_non_null(r);
    assert_int_equal(strlen(r), *len);
    return r;
}

static int refreshes;
static void count_refresh(void *ctx, struct metrics *m)
{
    (void)ctx;
    refreshes++;
    metrics_gauge_set(m, METRIC_TERM, 42);
}

/* 200 with the exposition for GET /metrics (refreshed first), headers only for HEAD, and the
 * right 4xx for everything else. */
static void test_metrics_http_responses(void **state)
{
    (void)state;
    struct metrics *m = metrics_create();
    metrics_set_refresh(m, count_refresh, NULL);
    refreshes = 0;
    size_t len;
    char *r = respond_to(m, "GET /metrics HTTP/1.1\r\n\r\n", &len);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_has(r, "Content-Type: text/plain; version=0.0.4");
    assert_has(r, "Connection: close\r\n");
    const char *body = strstr(r, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    size_t content_length = 0;
    assert_int_equal(sscanf(strstr(r, "Content-Length: "), "Content-Length: %zu", &content_length),
                     1);
    assert_int_equal(content_length, strlen(body));
    assert_has(body, "\ncraftd_term 42\n");
    assert_int_equal(refreshes, 1);
    assert_exposition_format(body);
    craft_free(r);

    r = respond_to(m, "HEAD /metrics HTTP/1.0\r\n\r\n", &len);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n"); /* nothing after the head */
    craft_free(r);

    r = respond_to(m, "GET / HTTP/1.1\r\n\r\n", &len);
    assert_true(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
    craft_free(r);
    r = respond_to(m, "POST /metrics HTTP/1.1\r\n\r\n", &len);
    assert_true(strncmp(r, "HTTP/1.1 405 ", 13) == 0);
    craft_free(r);
    r = respond_to(m, "BLAH\r\n\r\n", &len);
    assert_true(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
    craft_free(r);
    r = metrics_http_respond(m, METRICS_HTTP_TOO_LARGE, NULL, &len);
    assert_true(strncmp(r, "HTTP/1.1 431 ", 13) == 0);
    craft_free(r);
    assert_int_equal(refreshes, 2); /* only the two 200s rendered */
    metrics_destroy(m);
}

/* --- over a socket ---------------------------------------------------------------------------- */

struct client {
    uint16_t port;
    uv_async_t done;
    char replies[4][8192];
    size_t reply_len[4];
    bool second_client_ok;
};

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10}; /* bounds every read: a hung server fails the test */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends the request in the given pieces, then reads until the server closes. */
static size_t exchange(uint16_t port, const char *const *pieces, size_t n, char *out, size_t max)
{
    int fd = dial(port);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(pieces[i]);
        assert_int_equal(send(fd, pieces[i], len, MSG_NOSIGNAL), (ssize_t)len);
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, out + got, max - 1 - got, 0);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    return got;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    const char *split[] = {"GET /metr", "ics HTTP/1.1\r\nHo", "st: a\r\n", "\r\n"};
    c->reply_len[0] = exchange(c->port, split, 4, c->replies[0], sizeof c->replies[0]);
    const char *bad[] = {"\x16\x03\x01 garbage\r\n\r\n"};
    c->reply_len[1] = exchange(c->port, bad, 1, c->replies[1], sizeof c->replies[1]);
    static char huge[METRICS_REQUEST_MAX + 100];
    memset(huge, 'x', sizeof huge - 1);
    memcpy(huge, "GET /metrics HTTP/1.1\r\nX-Long: ", 31);
    const char *big[] = {huge};
    c->reply_len[2] = exchange(c->port, big, 1, c->replies[2], sizeof c->replies[2]);
    /* A client that goes away mid-request; the next one is served normally. */
    int fd = dial(c->port);
    assert_int_equal(send(fd, "GET /metrics HT", 15, MSG_NOSIGNAL), 15);
    close(fd);
    const char *again[] = {"GET /metrics HTTP/1.0\r\n\r\n"};
    c->reply_len[3] = exchange(c->port, again, 1, c->replies[3], sizeof c->replies[3]);
    uv_async_send(&c->done);
    return NULL;
}

static void on_client_done(uv_async_t *a)
{
    struct metrics *m = a->loop->data;
    metrics_serve_stop(m);
    uv_close((uv_handle_t *)a, NULL);
}

/* The endpoint on a real loop and socket: split requests are reassembled, junk gets 400,
 * an oversized head 431, and an abandoned connection does not stop the next scrape. */
static void test_metrics_serve_over_socket(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct metrics *m = metrics_create();
    loop.data = m;
    metrics_counter_add(m, METRIC_PROPOSALS_OK, 5);
    char err[128];
    assert_int_equal(metrics_serve_start(m, &loop, "127.0.0.1", 0, err, sizeof err), 0);
    assert_int_equal(metrics_serve_start(m, &loop, "127.0.0.1", 0, err, sizeof err), CRAFT_EBUSY);
    static struct client c;
    memset(&c, 0, sizeof c);
    c.port = metrics_serve_port(m);
    assert_true(c.port != 0);
    assert_int_equal(uv_async_init(&loop, &c.done, on_client_done), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_main, &c), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0); /* returns once everything closed */
    pthread_join(t, NULL);
    assert_int_equal(metrics_serve_port(m), 0);
    metrics_destroy(m);
    assert_int_equal(uv_loop_close(&loop), 0); /* no handle left behind */

    assert_true(strncmp(c.replies[0], "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_has(c.replies[0], "\ncraftd_proposals_total{outcome=\"ok\"} 5\n");
    assert_true(strncmp(c.replies[1], "HTTP/1.1 400 ", 13) == 0);
    assert_true(strncmp(c.replies[2], "HTTP/1.1 431 ", 13) == 0);
    assert_true(strncmp(c.replies[3], "HTTP/1.1 200 OK\r\n", 17) == 0);
}

/* A bad address or a taken port is an error with a message, and leaves nothing open. */
static void test_metrics_serve_bad_address(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct metrics *m = metrics_create();
    char err[128] = "";
    assert_int_equal(metrics_serve_start(m, &loop, "not-an-ip", 0, err, sizeof err), CRAFT_EINVAL);
    assert_has(err, "not-an-ip");
    assert_int_equal(metrics_serve_start(m, &loop, "127.0.0.1", 0, err, sizeof err), 0);
    struct metrics *other = metrics_create();
    assert_int_equal(
        metrics_serve_start(other, &loop, "127.0.0.1", metrics_serve_port(m), err, sizeof err),
        CRAFT_EIO);
    assert_has(err, "listen on 127.0.0.1");
    metrics_serve_stop(m);
    metrics_serve_stop(other); /* harmless: not serving */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    metrics_destroy(other);
    metrics_destroy(m);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_fresh_registry),
        cmocka_unit_test(test_metrics_proposal_outcomes),
        cmocka_unit_test(test_metrics_histogram_buckets),
        cmocka_unit_test(test_metrics_update_from_status),
        cmocka_unit_test(test_metrics_node_io),
        cmocka_unit_test(test_metrics_concurrent_updates),
        cmocka_unit_test(test_metrics_http_parse),
        cmocka_unit_test(test_metrics_http_responses),
        cmocka_unit_test(test_metrics_serve_over_socket),
        cmocka_unit_test(test_metrics_serve_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
