/* craftd's flags and config file: one table of keys, each with its parser and help line, read
 * from argv and from "key value" lines alike. */
#include "server/server_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/join.h"

enum opt_type { OPT_ID, OPT_U16, OPT_U32, OPT_U64, OPT_STR, OPT_PEERS, OPT_LEVEL, OPT_FILE };

struct opt {
    const char *name;
    int type;
    size_t offset; /* in struct server_config */
    size_t size;   /* of a string field */
    const char *help;
};

#define FIELD(f) offsetof(struct server_config, f)
#define STR(f) FIELD(f), sizeof(((struct server_config *)0)->f)

static const struct opt opts[] = {
    {"id", OPT_ID, FIELD(id), 0, "N            this node's id (1, 2, ...; required)"},
    {"bind", OPT_STR, STR(bind), "IP           address to listen on (default 127.0.0.1)"},
    {"port", OPT_U16, FIELD(port), 0, "P            client port, RESP (default 6379)"},
    {"peer-port", OPT_U16, FIELD(peer_port), 0, "Q       Raft peer port (default 16379)"},
    {"dir", OPT_STR, STR(dir), "DIR           data directory (created if missing; required)"},
    {"peers", OPT_PEERS, 0, 0,
     "LIST the cluster's nodes: 1@ip:port,2@ip:port,... (their peer ports; this\n"
     "                               node may be listed: a new cluster's voters are those listed)"},
    {"cluster-id", OPT_U64, FIELD(cluster_id), 0,
     "N      cluster id, the same on every node (default 1)"},
    {"election-timeout-ms", OPT_U32, FIELD(election_timeout_ms), 0,
     "MS  election timeout, drawn from [MS, 2MS) (default 1000)"},
    {"heartbeat-ms", OPT_U32, FIELD(heartbeat_ms), 0, "MS    heartbeat interval (default 100)"},
    {"snapshot-every", OPT_U64, FIELD(snapshot_every), 0,
     "N   take a snapshot every N log entries (default 100000; 0 never)"},
    {"requirepass", OPT_STR, STR(requirepass), "PASS   clients must AUTH with PASS first"},
    {"log-level", OPT_LEVEL, FIELD(log_level), 0, "L       error, warn, info (default) or debug"},
    {"request-timeout-ms", OPT_U32, FIELD(request_timeout_ms), 0,
     "MS  a request not answered by then gets an error (default 5000)"},
    {"max-bulk", OPT_U64, FIELD(max_bulk), 0,
     "BYTES      longest bulk string in a request (default 536870912)"},
    {"metrics-port", OPT_U16, FIELD(metrics_port), 0, "P     metrics HTTP port (0: none)"},
    {"join", OPT_STR, STR(join),
     "HOST:PORT     join a running cluster: asks that node's client port to add this one\n"
     "                               (an IPv4 literal, [IPv6]:PORT or a host name, as in --peers)"},
    {"config", OPT_FILE, 0, 0, "FILE        read 'key value' lines (same keys as the flags)"},
};

#define N_OPTS (sizeof opts / sizeof opts[0])

void server_config_init(struct server_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->bind, sizeof c->bind, "127.0.0.1");
    c->port = 6379;
    c->peer_port = 16379;
    c->cluster_id = 1;
    c->election_timeout_ms = 1000;
    c->heartbeat_ms = 100;
    c->snapshot_every = 100000;
    c->log_level = CRAFT_LOG_INFO;
    c->request_timeout_ms = 5000;
    c->max_bulk = 512u * 1024u * 1024u;
}

void server_config_usage(const char *prog, void *file)
{
    FILE *f = file;
    fprintf(f, "usage: %s --id N --dir DIR [--bind IP] [--port P] [--peer-port Q] "
               "[--peers LIST] [options]\n\n"
               "craftd: a replicated key-value server on Raft that speaks RESP2 (redis-cli).\n\n",
            prog);
    /* Each help text is "ARG  description": the flag and its argument make the first column. */
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *h = opts[i].help;
        size_t arg = strcspn(h, " ");
        char left[64];
        snprintf(left, sizeof left, "--%s %.*s", opts[i].name, (int)arg, h);
        fprintf(f, "  %-28s %s\n", left, h + arg + strspn(h + arg, " "));
    }
    fprintf(f, "  %-28s %s\n", "--help", "this text");
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* "1@10.0.0.1:7101,2@10.0.0.2:7101": ids and peer addresses. */
static int parse_peers(struct server_config *c, const char *v, char *err, size_t err_len)
{
    c->n_peers = 0;
    while (*v != '\0') {
        const char *comma = strchr(v, ',');
        size_t n = comma != NULL ? (size_t)(comma - v) : strlen(v);
        char item[CRAFT_ADDRESS_MAX + 32];
        if (n == 0 || n >= sizeof item) {
            snprintf(err, err_len, "--peers: bad entry '%.*s'", (int)n, v);
            return -1;
        }
        memcpy(item, v, n);
        item[n] = '\0';
        char *at = strchr(item, '@');
        uint64_t id;
        if (at == NULL) {
            snprintf(err, err_len, "--peers: '%s' is not ID@HOST:PORT", item);
            return -1;
        }
        *at = '\0';
        if (!parse_u64(item, SERVER_NODE_ID_MAX, &id) || id == 0) {
            snprintf(err, err_len, "--peers: bad node id '%s'", item);
            return -1;
        }
        if (strlen(at + 1) == 0 || strlen(at + 1) >= CRAFT_ADDRESS_MAX ||
            strchr(at + 1, ':') == NULL) {
            snprintf(err, err_len, "--peers: bad address '%s' of node %llu", at + 1,
                     (unsigned long long)id);
            return -1;
        }
        for (unsigned i = 0; i < c->n_peers; i++) {
            if (c->peers[i].id == id) {
                snprintf(err, err_len, "--peers: node %llu listed twice",
                         (unsigned long long)id);
                return -1;
            }
        }
        if (c->n_peers == SERVER_PEERS_MAX) {
            snprintf(err, err_len, "--peers: more than %d nodes", SERVER_PEERS_MAX);
            return -1;
        }
        c->peers[c->n_peers].id = id;
        snprintf(c->peers[c->n_peers].address, CRAFT_ADDRESS_MAX, "%s", at + 1);
        c->n_peers++;
        v += n;
        if (*v == ',') {
            v++;
        }
    }
    return 0;
}

static int parse_level(const char *v, int *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, names[i]) == 0 || (v[0] == (char)('0' + i) && v[1] == '\0')) {
            *out = i;
            return 0;
        }
    }
    if (strcmp(v, "warning") == 0) {
        *out = CRAFT_LOG_WARN;
        return 0;
    }
    return -1;
}

static int read_file(struct server_config *c, const char *path, int depth, char *err,
                     size_t err_len);

static int set_opt(struct server_config *c, const struct opt *o, const char *v, int depth,
                   char *err, size_t err_len)
{
    char *base = (char *)c;
    uint64_t u;
    switch (o->type) {
    case OPT_ID:
    case OPT_U64:
        if (!parse_u64(v, o->type == OPT_ID ? SERVER_NODE_ID_MAX : UINT64_MAX, &u) ||
            (o->type == OPT_ID && u == 0)) {
            break;
        }
        memcpy(base + o->offset, &u, sizeof u);
        return 0;
    case OPT_U32:
        if (!parse_u64(v, UINT32_MAX, &u)) {
            break;
        }
        *(uint32_t *)(void *)(base + o->offset) = (uint32_t)u;
        return 0;
    case OPT_U16:
        if (!parse_u64(v, UINT16_MAX, &u)) {
            break;
        }
        *(uint16_t *)(void *)(base + o->offset) = (uint16_t)u;
        return 0;
    case OPT_STR:
        if (strlen(v) >= o->size) {
            snprintf(err, err_len, "--%s: longer than %zu bytes", o->name, o->size - 1);
            return -1;
        }
        memcpy(base + o->offset, v, strlen(v) + 1);
        return 0;
    case OPT_PEERS:
        return parse_peers(c, v, err, err_len);
    case OPT_LEVEL:
        if (parse_level(v, &c->log_level) != 0) {
            break;
        }
        return 0;
    case OPT_FILE:
        return read_file(c, v, depth + 1, err, err_len);
    }
    snprintf(err, err_len, "--%s: bad value '%s'", o->name, v);
    return -1;
}

static const struct opt *find_opt(const char *name, size_t n)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

/* "key value" per line; '#' starts a comment; blank lines are skipped. */
static int read_file(struct server_config *c, const char *path, int depth, char *err,
                     size_t err_len)
{
    if (depth > 4) {
        snprintf(err, err_len, "--config %s: nested too deep", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "--config %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0;
    int rv = 0;
    while (rv == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *k = line + strspn(line, " \t\r\n");
        if (*k == '\0') {
            continue;
        }
        size_t kn = strcspn(k, " \t\r\n");
        char *v = k + kn;
        v += strspn(v, " \t");
        size_t vn = strcspn(v, "\r\n");
        while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) {
            vn--;
        }
        v[vn] = '\0';
        if (k[0] == '-' && k[1] == '-') {
            k += 2;
            kn -= 2;
        }
        const struct opt *o = find_opt(k, kn);
        if (o == NULL) {
            snprintf(err, err_len, "%s:%d: unknown key '%.*s'", path, lineno, (int)kn, k);
            rv = -1;
        } else if (vn == 0) {
            snprintf(err, err_len, "%s:%d: '%s' needs a value", path, lineno, o->name);
            rv = -1;
        } else {
            rv = set_opt(c, o, v, depth, err, err_len);
        }
    }
    fclose(f);
    return rv;
}

static int check(struct server_config *c, char *err, size_t err_len)
{
    if (c->id == 0) {
        snprintf(err, err_len, "--id is required (1, 2, ...)");
        return -1;
    }
    if (c->dir[0] == '\0') {
        snprintf(err, err_len, "--dir is required");
        return -1;
    }
    if (c->port == 0 || c->peer_port == 0 || c->port == c->peer_port) {
        snprintf(err, err_len, "--port and --peer-port must be two different ports, not 0");
        return -1;
    }
    if (c->heartbeat_ms == 0 || c->heartbeat_ms >= c->election_timeout_ms) {
        snprintf(err, err_len, "--heartbeat-ms must be above 0 and below --election-timeout-ms");
        return -1;
    }
    if (c->request_timeout_ms == 0) {
        snprintf(err, err_len, "--request-timeout-ms must be above 0");
        return -1;
    }
    if (c->max_bulk == 0) {
        snprintf(err, err_len, "--max-bulk must be above 0");
        return -1;
    }
    char join_host[CRAFT_ADDRESS_MAX];
    uint16_t join_port;
    if (c->join[0] != '\0' &&
        join_address_parse(c->join, join_host, &join_port, err, err_len) != 0) {
        return -1;
    }
    return 0;
}

int server_config_parse(struct server_config *c, int argc, char **argv, char *err,
                        size_t err_len)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        }
        if (a[0] != '-' || a[1] != '-') {
            snprintf(err, err_len, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const struct opt *o = find_opt(a, n);
        if (o == NULL) {
            snprintf(err, err_len, "unknown flag '%s' (see --help)", argv[i]);
            return -1;
        }
        const char *v;
        if (eq != NULL) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            snprintf(err, err_len, "--%s needs a value", o->name);
            return -1;
        }
        if (set_opt(c, o, v, 0, err, err_len) != 0) {
            return -1;
        }
    }
    return check(c, err, err_len);
}
