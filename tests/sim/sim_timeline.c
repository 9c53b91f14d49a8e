/* The timeline page of one run: replays the trace log into per-node state changes (role bands,
 * index steps, link reachability), pairs each send with its delivery or drop, and writes them as
 * the data of a self-contained page (sim_timeline_page.c draws it in the browser). */
#include "sim_timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "craft/core.h"
#include "sim_config.h"
#include "sim_map.h"
#include "sim_mem.h"
#include "sim_network.h"
#include "sim_timeline_page.h"

/* Role codes of the page (its legend names them). */
enum tl_role {
    TL_DOWN = 0,
    TL_FOLLOWER = 1,
    TL_PRECANDIDATE = 2,
    TL_CANDIDATE = 3,
    TL_LEADER = 4,
    TL_DEAD = 5, /* its storage refused to open: down for good */
};

/* Message kinds of the page, one checkbox each. */
enum tl_kind {
    TL_PREVOTE = 0,
    TL_PREVOTE_RESP,
    TL_VOTE,
    TL_VOTE_RESP,
    TL_APPEND,
    TL_HEARTBEAT, /* an AppendEntries without entries */
    TL_APPEND_RESP,
    TL_OTHER,
};

/* What became of a message. */
enum tl_fate {
    TL_DELIVERED = 0,
    TL_DROPPED = 1,   /* arrived at a cut link or a node that was down */
    TL_LOST = 2,      /* never left: lost by the network or a cut link at send */
    TL_IN_FLIGHT = 3, /* still travelling when the run ended */
    TL_EXTRA = 4,     /* an arrival without a recorded send: a duplicate's late copy */
};

struct tl_msg {
    uint64_t sent_us;
    uint64_t arrive_us;
    uint32_t from;
    uint32_t to;
    uint32_t kind;
    uint32_t fate;
    uint64_t term;
    uint64_t d; /* as in sim_trace_rec */
    uint64_t e;
};

/* A state change: time and three values (bands: role, term, leader; indexes: log, commit,
 * applied; links: reachable-to mask, reachable-from mask). */
struct tl_point {
    uint64_t t;
    uint64_t v[3];
};

struct tl_points {
    struct tl_point *p; /* owned */
    size_t n;
    size_t cap;
};

/* A record drawn as a marker (crashes, restarts, storage, notes, kinds this file does not know)
 * or as a change of the network row (links, heal): the index of its record in the log. */
struct tl_refs {
    size_t *i; /* owned */
    size_t n;
    size_t cap;
};

struct tl_model {
    unsigned n_nodes;
    struct tl_points bands[SIM_NODES_MAX + 1];
    struct tl_points index[SIM_NODES_MAX + 1];
    struct tl_points reach[SIM_NODES_MAX + 1];
    struct tl_refs marks;
    struct tl_refs net;
    struct tl_msg *msgs; /* owned */
    size_t n_msgs;
    size_t cap_msgs;
    struct sim_map pending; /* (from, to, type; arrival time) -> index in msgs + 1 */
    bool link[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1];
    int64_t heal_us; /* -1: no heal */
};

/* Appends a change, or folds it into the last one when it happens at the same time. */
static void points_set(struct tl_points *ps, uint64_t t, uint64_t a, uint64_t b, uint64_t c)
{
    if (ps->n > 0) {
        struct tl_point *last = &ps->p[ps->n - 1];
        if (last->v[0] == a && last->v[1] == b && last->v[2] == c) {
            return;
        }
        if (last->t == t) {
            last->v[0] = a;
            last->v[1] = b;
            last->v[2] = c;
            return;
        }
    }
    sim_grow((void **)&ps->p, &ps->cap, ps->n + 1, sizeof(*ps->p));
    ps->p[ps->n++] = (struct tl_point){t, {a, b, c}};
}

static const struct tl_point *points_last(const struct tl_points *ps)
{
    CRAFT_ASSERT(ps->n > 0);
    return &ps->p[ps->n - 1];
}

static void refs_add(struct tl_refs *r, size_t i)
{
    sim_grow((void **)&r->i, &r->cap, r->n + 1, sizeof(*r->i));
    r->i[r->n++] = i;
}

static uint32_t msg_kind(uint64_t type, uint64_t e)
{
    switch (type) {
    case CRAFT_MSG_PREVOTE:
        return TL_PREVOTE;
    case CRAFT_MSG_PREVOTE_RESP:
        return TL_PREVOTE_RESP;
    case CRAFT_MSG_VOTE:
        return TL_VOTE;
    case CRAFT_MSG_VOTE_RESP:
        return TL_VOTE_RESP;
    case CRAFT_MSG_APPEND:
        return e > 0 ? TL_APPEND : TL_HEARTBEAT;
    case CRAFT_MSG_APPEND_RESP:
        return TL_APPEND_RESP;
    default:
        return TL_OTHER;
    }
}

static uint64_t msg_key(uint64_t from, uint64_t to, uint64_t type)
{
    return (from << 40) | (to << 32) | type;
}

static struct tl_msg *msg_new(struct tl_model *m, const struct sim_trace_rec *r)
{
    sim_grow((void **)&m->msgs, &m->cap_msgs, m->n_msgs + 1, sizeof(*m->msgs));
    struct tl_msg *g = &m->msgs[m->n_msgs++];
    memset(g, 0, sizeof(*g));
    g->sent_us = r->time_us;
    g->arrive_us = r->time_us;
    g->kind = msg_kind(r->b, r->e);
    g->d = r->d;
    g->e = r->e;
    return g;
}

static void on_send(struct tl_model *m, const struct sim_trace_rec *r)
{
    struct tl_msg *g = msg_new(m, r);
    g->from = r->node;
    g->to = (uint32_t)r->a;
    g->fate = r->c == 0 ? TL_LOST : TL_IN_FLIGHT;
    g->arrive_us = r->time_us + r->c;
    /* The send record carries no term: the arrival fills it in. */
    if (g->fate == TL_IN_FLIGHT) {
        sim_map_put(&m->pending, msg_key(g->from, g->to, r->b), g->arrive_us, m->n_msgs);
    }
}

static void on_arrive(struct tl_model *m, const struct sim_trace_rec *r)
{
    uint64_t key = msg_key(r->a, r->node, r->b);
    uint64_t k = 0;
    struct tl_msg *g;
    if (sim_map_get(&m->pending, key, r->time_us, &k) && k != 0) {
        sim_map_put(&m->pending, key, r->time_us, 0);
        g = &m->msgs[k - 1];
    } else {
        g = msg_new(m, r);
        g->from = (uint32_t)r->a;
        g->to = r->node;
        g->fate = TL_EXTRA;
    }
    if (g->fate != TL_EXTRA) {
        g->fate = r->kind == SIM_TR_DROP ? TL_DROPPED : TL_DELIVERED;
    }
    g->term = r->c;
}

static uint32_t mask_all(unsigned n)
{
    return ((1u << (n + 1)) - 1) & ~1u;
}

static void links_all_up(struct tl_model *m)
{
    for (unsigned i = 1; i <= m->n_nodes; i++) {
        for (unsigned j = 1; j <= m->n_nodes; j++) {
            m->link[i][j] = true;
        }
    }
}

static void links_isolate(struct tl_model *m, uint64_t id, bool isolated)
{
    if (id < 1 || id > m->n_nodes) {
        return;
    }
    for (unsigned j = 1; j <= m->n_nodes; j++) {
        if (j != id) {
            m->link[id][j] = !isolated;
            m->link[j][id] = !isolated;
        }
    }
}

static void links_split(struct tl_model *m, uint64_t side_a)
{
    for (unsigned i = 1; i <= m->n_nodes; i++) {
        for (unsigned j = 1; j <= m->n_nodes; j++) {
            m->link[i][j] = ((side_a >> i) & 1) == ((side_a >> j) & 1);
        }
    }
}

/* Replays a SIM_TR_LINKS record on the link matrix, as sim_network does for the shape (the
 * arguments as sim_swarm, sim_cluster and sim_scenario record them). */
static void on_links(struct tl_model *m, const struct sim_trace_rec *r)
{
    unsigned n = m->n_nodes;
    switch (r->a) {
    case SIM_LINKS_ALL_UP:
        links_all_up(m);
        break;
    case SIM_LINKS_SPLIT:
        links_split(m, r->b);
        break;
    case SIM_LINKS_ISOLATE:
    case SIM_LINKS_DISCONNECT:
        links_isolate(m, r->b, true);
        break;
    case SIM_LINKS_RECONNECT:
        links_isolate(m, r->b, false);
        break;
    case SIM_LINKS_ONE_WAY:
        for (unsigned a = 1; a <= n; a++) {
            for (unsigned b = 1; b <= n; b++) {
                if (a != b && ((r->b >> ((a * 8 + b) % 64)) & 1)) {
                    m->link[a][b] = false;
                }
            }
        }
        break;
    case SIM_LINKS_BRIDGE:
        links_split(m, r->b);
        if (r->c >= 1 && r->c <= n) {
            for (unsigned j = 1; j <= n; j++) {
                m->link[r->c][j] = true;
                m->link[j][r->c] = true;
            }
        }
        break;
    case SIM_LINKS_RING: {
        uint64_t order[SIM_NODES_MAX];
        uint64_t arg = r->b;
        for (unsigned k = n; k > 0; k--) {
            order[k - 1] = arg % 8;
            arg /= 8;
        }
        for (unsigned i = 1; i <= n; i++) {
            for (unsigned j = 1; j <= n; j++) {
                m->link[i][j] = i == j;
            }
        }
        for (unsigned k = 0; k < n; k++) {
            uint64_t a = order[k];
            uint64_t b = order[(k + 1) % n];
            if (a >= 1 && a <= n && b >= 1 && b <= n) {
                m->link[a][b] = true;
                m->link[b][a] = true;
            }
        }
        break;
    }
    case SIM_LINKS_LEADER_ONLY:
        links_all_up(m);
        links_isolate(m, r->b, true);
        if (r->b >= 1 && r->b <= n && r->c >= 1 && r->c <= n) {
            m->link[r->b][r->c] = true;
            m->link[r->c][r->b] = true;
        }
        break;
    default:
        break; /* a shape this file does not know: the network row still names it */
    }
}

static void reach_update(struct tl_model *m, uint64_t t)
{
    for (unsigned i = 1; i <= m->n_nodes; i++) {
        uint32_t out = 0;
        uint32_t in = 0;
        for (unsigned j = 1; j <= m->n_nodes; j++) {
            if (j != i) {
                out |= (uint32_t)m->link[i][j] << j;
                in |= (uint32_t)m->link[j][i] << j;
            }
        }
        points_set(&m->reach[i], t, out, in, 0);
    }
}

static void set_role(struct tl_model *m, uint32_t node, uint64_t t, uint64_t role, uint64_t term,
                     uint64_t leader)
{
    points_set(&m->bands[node], t, role, term, leader);
}

static void set_index(struct tl_model *m, uint32_t node, uint64_t t, int which, uint64_t v)
{
    struct tl_point p = *points_last(&m->index[node]);
    p.v[which] = v;
    points_set(&m->index[node], t, p.v[0], p.v[1], p.v[2]);
}

static uint64_t role_code(uint64_t core_role)
{
    switch (core_role) {
    case CRAFT_FOLLOWER:
        return TL_FOLLOWER;
    case CRAFT_PRECANDIDATE:
        return TL_PRECANDIDATE;
    case CRAFT_CANDIDATE:
        return TL_CANDIDATE;
    case CRAFT_LEADER:
        return TL_LEADER;
    default:
        return TL_DOWN;
    }
}

/* One record of the node (1..n_nodes) or of the whole cluster (node 0). */
static void replay_one(struct tl_model *m, const struct sim_trace_rec *r, size_t i)
{
    uint32_t nd = r->node >= 1 && r->node <= m->n_nodes ? r->node : 0;
    uint64_t t = r->time_us;
    switch (r->kind) {
    case SIM_TR_SEND:
        on_send(m, r);
        return;
    case SIM_TR_DELIVER:
    case SIM_TR_DROP:
        on_arrive(m, r);
        return;
    case SIM_TR_TICK:
    case SIM_TR_PROPOSE:
    case SIM_TR_VOTE:
        return; /* ticks are noise; proposals and votes show as messages and log growth */
    case SIM_TR_ROLE:
        if (nd != 0) {
            set_role(m, nd, t, role_code(r->a), r->b, r->c);
        }
        return;
    case SIM_TR_COMMIT:
        if (nd != 0) {
            set_index(m, nd, t, 1, r->a);
        }
        return;
    case SIM_TR_APPLY:
        if (nd != 0) {
            set_index(m, nd, t, 2, r->b);
        }
        return;
    case SIM_TR_DISK:
        if (nd != 0 && r->c != 0) {
            set_index(m, nd, t, 0, r->c - 1);
        }
        if (nd != 0 && r->a != 0) {
            set_index(m, nd, t, 0, r->a);
        }
        return;
    case SIM_TR_LINKS:
        on_links(m, r);
        reach_update(m, t);
        refs_add(&m->net, i);
        return;
    case SIM_TR_HEAL:
        links_all_up(m);
        reach_update(m, t);
        refs_add(&m->net, i);
        m->heal_us = (int64_t)t;
        return;
    case SIM_TR_CRASH:
        if (nd != 0) {
            set_role(m, nd, t, TL_DOWN, points_last(&m->bands[nd])->v[1], 0);
        }
        break;
    case SIM_TR_RESTART:
        if (nd != 0) {
            set_role(m, nd, t, TL_FOLLOWER, r->b, 0);
            points_set(&m->index[nd], t, r->a, r->c, 0);
        }
        break;
    case SIM_TR_STORAGE:
        if (nd != 0 && (r->a == SIM_STORAGE_FAIL_STOP || r->a == SIM_STORAGE_REFUSED)) {
            set_role(m, nd, t, r->a == SIM_STORAGE_REFUSED ? TL_DEAD : TL_DOWN,
                     points_last(&m->bands[nd])->v[1], 0);
        }
        break;
    default:
        break; /* notes and kinds this file does not know: a marker with their name */
    }
    refs_add(&m->marks, i);
}

static void model_build(struct tl_model *m, unsigned n_nodes, const struct sim_trace_log *log)
{
    memset(m, 0, sizeof(*m));
    CRAFT_ASSERT(n_nodes >= 1 && n_nodes <= SIM_NODES_MAX);
    m->n_nodes = n_nodes;
    m->heal_us = -1;
    sim_map_init(&m->pending);
    links_all_up(m);
    uint64_t t0 = log->n > 0 ? log->recs[0].time_us : 0;
    for (unsigned i = 1; i <= n_nodes; i++) {
        set_role(m, i, t0, TL_FOLLOWER, 0, 0);
        points_set(&m->index[i], t0, 0, 0, 0);
    }
    reach_update(m, t0);
    for (size_t i = 0; i < log->n; i++) {
        replay_one(m, &log->recs[i], i);
    }
}

static void model_close(struct tl_model *m)
{
    for (unsigned i = 0; i <= SIM_NODES_MAX; i++) {
        craft_free(m->bands[i].p);
        craft_free(m->index[i].p);
        craft_free(m->reach[i].p);
    }
    craft_free(m->marks.i);
    craft_free(m->net.i);
    craft_free(m->msgs);
    sim_map_close(&m->pending);
}

/* A JSON string, safe inside a <script> element (no "</" can close it). */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') {
            fprintf(f, "\\u%04x", *p);
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* Text for HTML element content. */
static void put_html(FILE *f, const char *s)
{
    for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
        if (*p == '<') {
            fputs("&lt;", f);
        } else if (*p == '>') {
            fputs("&gt;", f);
        } else if (*p == '&') {
            fputs("&amp;", f);
        } else {
            fputc(*p, f);
        }
    }
}

static size_t first_kept(size_t n, size_t max)
{
    return n > max ? n - max : 0;
}

static void put_points(FILE *f, const char *name, const struct tl_points *per_node, unsigned n)
{
    fprintf(f, "\"%s\":[", name);
    for (unsigned i = 1; i <= n; i++) {
        const struct tl_points *ps = &per_node[i];
        fprintf(f, "%s[", i > 1 ? ",\n" : "");
        for (size_t k = first_kept(ps->n, SIM_TIMELINE_POINTS_MAX); k < ps->n; k++) {
            const struct tl_point *p = &ps->p[k];
            fprintf(f, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]",
                    k > first_kept(ps->n, SIM_TIMELINE_POINTS_MAX) ? "," : "", p->t, p->v[0],
                    p->v[1], p->v[2]);
        }
        fprintf(f, "]");
    }
    /* When a node's changes were cut, the time from which every node's are complete. */
    uint64_t from = 0;
    for (unsigned i = 1; i <= n; i++) {
        const struct tl_points *ps = &per_node[i];
        size_t k = first_kept(ps->n, SIM_TIMELINE_POINTS_MAX);
        if (k > 0 && ps->p[k].t > from) {
            from = ps->p[k].t;
        }
    }
    fprintf(f, "],\n\"%s_from\":%" PRIu64 ",\n", name, from);
}

/* Appends "{n1,n3}" (the nodes of mask) to buf. */
static void put_set(char *buf, size_t len, uint64_t mask, unsigned n)
{
    size_t k = strlen(buf);
    const char *sep = "{";
    for (unsigned i = 1; i <= n && k < len; i++) {
        if ((mask >> i) & 1) {
            k += (size_t)snprintf(buf + k, len - k, "%sn%u", sep, i);
            sep = ",";
        }
    }
    if (k < len) {
        snprintf(buf + k, len - k, "%s}", sep[0] == '{' ? "{" : "");
    }
}

/* A link change in words, e.g. "split {n1,n4} | {n2,n3,n5}" (arguments as on_links reads them). */
static void links_text(const struct sim_trace_rec *r, unsigned n, char *buf, size_t len)
{
    uint64_t all = mask_all(n);
    buf[0] = '\0';
    switch (r->a) {
    case SIM_LINKS_ALL_UP:
        snprintf(buf, len, "all links up");
        return;
    case SIM_LINKS_SPLIT:
    case SIM_LINKS_BRIDGE:
        snprintf(buf, len, "split ");
        put_set(buf, len, r->b & all, n);
        snprintf(buf + strlen(buf), len - strlen(buf), " | ");
        put_set(buf, len, ~r->b & all, n);
        if (r->a == SIM_LINKS_BRIDGE) {
            snprintf(buf + strlen(buf), len - strlen(buf), ", n%" PRIu64 " bridges both", r->c);
        }
        return;
    case SIM_LINKS_ISOLATE:
        snprintf(buf, len, "n%" PRIu64 " isolated", r->b);
        return;
    case SIM_LINKS_DISCONNECT:
        snprintf(buf, len, "n%" PRIu64 " disconnected", r->b);
        return;
    case SIM_LINKS_RECONNECT:
        snprintf(buf, len, "n%" PRIu64 " reconnected", r->b);
        return;
    case SIM_LINKS_LEADER_ONLY:
        snprintf(buf, len, "n%" PRIu64 " reaches only n%" PRIu64, r->b, r->c);
        return;
    case SIM_LINKS_RING:
        snprintf(buf, len, "ring");
        for (unsigned k = n; k > 0; k--) {
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%" PRIu64, k == n ? " n" : "-n",
                     (r->b >> (3 * (k - 1))) % 8);
        }
        return;
    case SIM_LINKS_ONE_WAY:
        snprintf(buf, len, "one-way cuts");
        for (unsigned a = 1; a <= n; a++) {
            for (unsigned b = 1; b <= n; b++) {
                if (a != b && ((r->b >> ((a * 8 + b) % 64)) & 1)) {
                    snprintf(buf + strlen(buf), len - strlen(buf), " n%u->n%u", a, b);
                }
            }
        }
        return;
    default:
        return;
    }
}

/* One record's readable line without its time and node prefix (the page shows those). */
static void rec_text(const struct sim_trace_rec *r, char *buf, size_t n)
{
    char line[256];
    sim_trace_format(r, line, sizeof(line));
    const char *p = strstr(line, "ms n");
    p = p != NULL ? strchr(p + 4, ' ') : NULL;
    snprintf(buf, n, "%s", p != NULL ? p + 1 : line);
}

static void put_refs(FILE *f, const char *name, const struct tl_refs *refs, size_t max,
                     const struct sim_trace_log *log, unsigned n_nodes)
{
    fprintf(f, "\"%s\":[", name);
    size_t first = first_kept(refs->n, max);
    for (size_t k = first; k < refs->n; k++) {
        const struct sim_trace_rec *r = &log->recs[refs->i[k]];
        char text[256] = "";
        if (r->kind == SIM_TR_LINKS) {
            links_text(r, n_nodes, text, sizeof(text));
        }
        if (text[0] == '\0') {
            rec_text(r, text, sizeof(text));
        }
        fprintf(f, "%s[%" PRIu64 ",%u,", k > first ? ",\n" : "", r->time_us, r->node);
        if (r->kind == SIM_TR_STORAGE || r->kind == SIM_TR_LINKS || r->kind == SIM_TR_HEAL) {
            put_str(f, sim_trace_kind_name(r->kind));
        } else {
            char kind[32];
            snprintf(kind, sizeof(kind), "%s", sim_trace_kind_name(r->kind));
            if (strcmp(kind, "kind") == 0) {
                snprintf(kind, sizeof(kind), "kind %u", r->kind);
            }
            put_str(f, kind);
        }
        fputc(',', f);
        put_str(f, text);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 "]", r->a, r->b);
    }
    fprintf(f, "],\n");
}

static void put_msgs(FILE *f, const struct tl_model *m)
{
    size_t first = first_kept(m->n_msgs, SIM_TIMELINE_MSGS_MAX);
    fprintf(f, "\"msgs_total\":%zu,\"msgs_first\":%" PRIu64 ",\n", m->n_msgs,
            m->n_msgs > 0 ? m->msgs[first].sent_us : 0);
    fprintf(f, "\"msgs\":[");
    for (size_t k = first; k < m->n_msgs; k++) {
        const struct tl_msg *g = &m->msgs[k];
        fprintf(f, "%s[%" PRIu64 ",%" PRIu64 ",%u,%u,%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]",
                k > first ? (k % 8 == 0 ? ",\n" : ",") : "", g->sent_us, g->arrive_us, g->from,
                g->to, g->kind, g->fate, g->term, g->d, g->e);
    }
    fprintf(f, "],\n");
}

static void put_data(FILE *f, const struct sim_timeline_info *info, const struct tl_model *m,
                     const struct sim_trace_log *log)
{
    fprintf(f, "const D = {\"seed\":%" PRIu64 ",\"nodes\":%u,\"steps\":%" PRIu64
               ",\"end\":%" PRIu64 ",\"start\":%" PRIu64 ",\"heal\":%" PRId64
               ",\"records\":%zu,\"records_dropped\":%" PRIu64 ",\n",
            info->seed, m->n_nodes, info->steps, info->end_us,
            log->n > 0 ? log->recs[0].time_us : 0, m->heal_us, log->n, log->n_dropped);
    fprintf(f, "\"violation\":");
    put_str(f, info->violation);
    fprintf(f, ",\"detail\":");
    put_str(f, info->detail);
    fprintf(f, ",\"params\":");
    put_str(f, info->params);
    fprintf(f, ",\"replay\":");
    put_str(f, info->replay);
    fprintf(f, ",\n\"caps\":{\"msgs\":%d,\"marks\":%d,\"net\":%d,\"points\":%d},\n",
            SIM_TIMELINE_MSGS_MAX, SIM_TIMELINE_MARKS_MAX, SIM_TIMELINE_NET_MAX,
            SIM_TIMELINE_POINTS_MAX);
    fprintf(f, "\"marks_total\":%zu,\"net_total\":%zu,\n", m->marks.n, m->net.n);
    put_points(f, "bands", m->bands, m->n_nodes);
    put_points(f, "index", m->index, m->n_nodes);
    put_points(f, "reach", m->reach, m->n_nodes);
    put_refs(f, "marks", &m->marks, SIM_TIMELINE_MARKS_MAX, log, m->n_nodes);
    put_refs(f, "net", &m->net, SIM_TIMELINE_NET_MAX, log, m->n_nodes);
    put_msgs(f, m);
    fprintf(f, "\"all_links\":%u};\n", mask_all(m->n_nodes));
}

/* The static summary: one row per node with its state at the end (readable without scripts). */
static void put_summary(FILE *f, const struct sim_timeline_info *info, const struct tl_model *m)
{
    static const char *roles[] = {"down", "follower", "pre-candidate", "candidate", "LEADER",
                                  "down for good (storage refused)"};
    fprintf(f, "<h1>craft-sim seed %" PRIu64 ": %u nodes, %" PRIu64 " steps, %.3f ms simulated</h1>\n",
            info->seed, m->n_nodes, info->steps, (double)info->end_us / 1000.0);
    if (info->violation != NULL) {
        fprintf(f, "<div id=\"violation\" class=\"bad\">VIOLATION <b>");
        put_html(f, info->violation);
        fprintf(f, "</b> at step %" PRIu64 ", %.3f ms: ", info->steps, (double)info->end_us / 1000.0);
        put_html(f, info->detail);
        fprintf(f, "</div>\n");
    } else {
        fprintf(f, "<div id=\"violation\" class=\"good\">No violation: every invariant held.</div>\n");
    }
    fprintf(f, "<div class=\"cmd\">replay: <code>");
    put_html(f, info->replay);
    fprintf(f, "</code></div>\n<div class=\"cmd\">params: <code>");
    put_html(f, info->params);
    fprintf(f, "</code></div>\n<table id=\"summary\"><tr><th>node</th><th>at the end</th>"
               "<th>term</th><th>durable log</th><th>commit</th><th>applied</th></tr>\n");
    for (unsigned i = 1; i <= m->n_nodes; i++) {
        const struct tl_point *b = points_last(&m->bands[i]);
        const struct tl_point *x = points_last(&m->index[i]);
        fprintf(f, "<tr class=\"node-row\" id=\"row-n%u\"><td>n%u</td><td>%s</td><td>%" PRIu64
                   "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td></tr>\n",
                i, i, roles[b->v[0] <= TL_DEAD ? b->v[0] : 0], b->v[1], x->v[0], x->v[1], x->v[2]);
    }
    fprintf(f, "</table>\n");
}

int sim_timeline_write(const char *path, const struct sim_timeline_info *info,
                       const struct sim_trace_log *log)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "craft-sim: cannot write the timeline %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct tl_model m;
    model_build(&m, info->n_nodes, log);
    fputs(sim_timeline_page_head, f);
    put_summary(f, info, &m);
    fputs(sim_timeline_page_body, f);
    fputs("<script>\n", f);
    put_data(f, info, &m, log);
    fputs("</script>\n<script>\n", f);
    fputs(sim_timeline_page_script, f);
    fputs("</script>\n</body>\n</html>\n", f);
    model_close(&m);
    int rv = ferror(f) ? -1 : 0;
    if (fclose(f) != 0) {
        rv = -1;
    }
    if (rv != 0) {
        fprintf(stderr, "craft-sim: writing the timeline %s failed\n", path);
    }
    return rv;
}
