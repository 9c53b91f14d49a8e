/* A replicated counter on craft/node.h.
 *
 *   craft-counter                       three nodes in this process (temporary directories):
 *                                       adds 1..10 through the leader, reads the total back from
 *                                       every node, and stops.
 *   craft-counter ID DIR ID=HOST:PORT...  one node of a cluster per process: the list names every
 *                                       node (this one included, for its listen address); then
 *                                       commands on stdin: "add N", "get", "status", "quit".
 *
 * The state machine is one int64; a command is a little-endian delta (8 bytes), optionally
 * followed by a sequence number (8 more bytes) that makes a retry safe: the counter applies each
 * sequence number once, so an add whose outcome was unknown (CRAFT_EUNKNOWN: the leadership
 * changed after it was appended, and it may yet commit) can be sent again. apply's result is the
 * new total. Only this file's public includes are used: it is what an embedder writes. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, nanosleep: this example builds with -std=c11 too */

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "craft/node.h"

#define NODES_MAX 7

struct counter {
    pthread_mutex_t mu; /* apply runs on the node's apply thread, reads come from main */
    int64_t total;
    uint64_t last_seq; /* the highest sequence number applied */
};

static uint64_t u64_at(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

static void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

/* What entry e adds to c: its delta, or 0 for a repeat of a sequence number already applied
 * (or an entry that is not one of ours), every replica alike. */
static int64_t delta_of(struct counter *c, const struct craft_entry *e)
{
    const unsigned char *b = e->data.base;
    if (e->data.len != 8 && e->data.len != 16) {
        return 0;
    }
    if (e->data.len == 16) {
        uint64_t seq = u64_at(b + 8);
        if (seq <= c->last_seq) {
            return 0; /* a retry of an add that went in after all */
        }
        c->last_seq = seq;
    }
    return (int64_t)u64_at(b);
}

static int counter_apply(void *ctx, const struct craft_entry *entries, size_t n, void **results)
{
    struct counter *c = ctx;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        c->total += delta_of(c, &entries[i]);
        int64_t *result = malloc(sizeof *result);
        if (result != NULL) {
            *result = c->total;
        }
        results[i] = result;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void counter_release(void *ctx, void *result)
{
    (void)ctx;
    free(result);
}

static const struct craft_fsm_ops counter_ops = {
    .apply = counter_apply,
    .release_result = counter_release,
};

/* A read's fn: runs on the apply thread once the read is safe. */
static void read_total(void *arg, void *fsm_ctx)
{
    struct counter *c = fsm_ctx;
    pthread_mutex_lock(&c->mu);
    *(int64_t *)arg = c->total;
    pthread_mutex_unlock(&c->mu);
}

/* Adds delta; with seq (> 0) the add is applied at most once, however often it is sent. */
static int add(struct craft_node *node, int64_t delta, uint64_t seq, int64_t *total,
               struct craft_result *r)
{
    unsigned char buf[16];
    put_u64(buf, (uint64_t)delta);
    put_u64(buf + 8, seq);
    int rv = craft_node_propose_wait(node, buf, seq != 0 ? 16 : 8, r);
    if (rv == 0) {
        *total = r->value != NULL ? *(int64_t *)r->value : 0;
        free(r->value);
    }
    return rv;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A node's directory holds flat files only. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char path[512];
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

/* ---- three nodes in one process ---- */

static int run_local(void)
{
    struct counter counters[3];
    struct craft_node *nodes[3] = {NULL, NULL, NULL};
    char dirs[3][64];
    const craft_id voters[3] = {1, 2, 3};
    int rv = 1;

    for (int i = 0; i < 3; i++) {
        pthread_mutex_init(&counters[i].mu, NULL);
        counters[i].total = 0;
        counters[i].last_seq = 0;
        snprintf(dirs[i], sizeof dirs[i], "/tmp/craft-counter-XXXXXX");
        if (mkdtemp(dirs[i]) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    }
    /* Each node listens on a port the system picks; the running ones learn it with add_peer. */
    for (int i = 0; i < 3; i++) {
        struct craft_node_config cfg;
        char errmsg[256];
        craft_node_config_init(&cfg);
        cfg.cluster = 42;
        cfg.id = (craft_id)(i + 1);
        cfg.data_dir = dirs[i];
        cfg.listen = "127.0.0.1:0";
        cfg.voters = voters;
        cfg.n_voters = 3;
        cfg.election_timeout_ms = 300;
        cfg.heartbeat_interval_ms = 50;
        cfg.log_level = CRAFT_LOG_WARN;
        if (craft_node_create(&cfg, &counter_ops, &counters[i], &nodes[i], errmsg,
                              sizeof errmsg) != 0) {
            fprintf(stderr, "node %d: %s\n", i + 1, errmsg);
            goto out;
        }
        struct craft_peer me = {.id = cfg.id};
        snprintf(me.address, sizeof me.address, "127.0.0.1:%u",
                 (unsigned)craft_node_listen_port(nodes[i]));
        for (int j = 0; j < i; j++) {
            struct craft_peer them = {.id = (craft_id)(j + 1)};
            snprintf(them.address, sizeof them.address, "127.0.0.1:%u",
                     (unsigned)craft_node_listen_port(nodes[j]));
            if (craft_node_add_peer(nodes[j], &me) != 0 ||
                craft_node_add_peer(nodes[i], &them) != 0) {
                fprintf(stderr, "add_peer failed\n");
                goto out;
            }
        }
    }
    /* Add 1..10 through whoever leads; a follower's answer names the leader. Each add carries
     * its own sequence number, so one whose outcome was unknown is simply sent again. */
    int at = 0;
    for (int64_t k = 1; k <= 10;) {
        struct craft_result r;
        int64_t total;
        int status = add(nodes[at], k, (uint64_t)k, &total, &r);
        if (status == 0) {
            printf("add %" PRId64 " at node %d: total %" PRId64 " (index %" PRIu64 ")\n", k,
                   at + 1, total, r.index);
            k++;
        } else if (status == CRAFT_ENOTLEADER && r.leader >= 1 && r.leader <= 3) {
            at = (int)r.leader - 1;
        } else {
            pause_ms(50); /* no leader yet (or the outcome was unknown): try again */
            at = (at + 1) % 3;
        }
    }
    /* Every node answers a linearizable read with the same total. */
    for (int i = 0; i < 3; i++) {
        int64_t total = -1;
        struct craft_result r;
        int status = craft_node_read_wait(nodes[i], CRAFT_NODE_READ_LINEARIZABLE, read_total,
                                          &total, &r);
        printf("node %d reads %" PRId64 " (%s)\n", i + 1, total, craft_errname(status));
        if (status != 0 || total != 55) {
            goto out;
        }
    }
    rv = 0;
out:
    for (int i = 0; i < 3; i++) {
        craft_node_destroy(nodes[i]);
        pthread_mutex_destroy(&counters[i].mu);
        remove_dir(dirs[i]);
    }
    return rv;
}

/* ---- one node per process ---- */

static int run_node(int argc, char **argv)
{
    struct craft_node_config cfg;
    struct craft_peer peers[NODES_MAX];
    craft_id voters[NODES_MAX];
    unsigned n_peers = 0;
    unsigned n_voters = 0;
    char listen[CRAFT_ADDRESS_MAX] = "";
    struct counter counter = {.total = 0};
    struct craft_node *node;
    char errmsg[256];

    craft_node_config_init(&cfg);
    cfg.cluster = 42;
    cfg.id = strtoull(argv[1], NULL, 10);
    cfg.data_dir = argv[2];
    for (int i = 3; i < argc && n_voters < NODES_MAX; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "want ID=HOST:PORT, got %s\n", argv[i]);
            return 2;
        }
        craft_id id = strtoull(argv[i], NULL, 10);
        voters[n_voters++] = id;
        if (id == cfg.id) {
            snprintf(listen, sizeof listen, "%s", eq + 1);
        } else {
            peers[n_peers].id = id;
            snprintf(peers[n_peers].address, sizeof peers[n_peers].address, "%s", eq + 1);
            n_peers++;
        }
    }
    cfg.listen = listen;
    cfg.peers = peers;
    cfg.n_peers = n_peers;
    cfg.voters = voters;
    cfg.n_voters = n_voters;
    pthread_mutex_init(&counter.mu, NULL);
    if (craft_node_create(&cfg, &counter_ops, &counter, &node, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "%s\n", errmsg);
        return 1;
    }
    char line[128];
    while (fgets(line, sizeof line, stdin) != NULL) {
        struct craft_result r;
        int64_t total = 0;
        long long delta;
        int status;
        if (sscanf(line, "add %lld", &delta) == 1) {
            status = add(node, delta, 0, &total, &r);
            if (status == CRAFT_ENOTLEADER) {
                printf("not the leader; try node %" PRIu64 " at %s\n", r.leader,
                       r.leader_address[0] != '\0' ? r.leader_address : "?");
            } else {
                printf("%s: total %" PRId64 "\n", craft_errname(status), total);
            }
        } else if (strncmp(line, "get", 3) == 0) {
            status = craft_node_read_wait(node, CRAFT_NODE_READ_LINEARIZABLE, read_total, &total,
                                          &r);
            printf("%s: total %" PRId64 "\n", craft_errname(status), total);
        } else if (strncmp(line, "status", 6) == 0) {
            struct craft_node_status st;
            craft_node_status(node, &st);
            printf("role %d term %" PRIu64 " leader %" PRIu64 " commit %" PRIu64
                   " applied %" PRIu64 "\n",
                   st.role, st.term, st.leader, st.commit, st.applied);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
        fflush(stdout);
    }
    craft_node_destroy(node);
    pthread_mutex_destroy(&counter.mu);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        return run_local();
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s [ID DIR ID=HOST:PORT ...]\n", argv[0]);
        return 2;
    }
    return run_node(argc, argv);
}
