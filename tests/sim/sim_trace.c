/* Trace records, their hash and their readable form. */
#include "sim_trace.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "craft/core.h"
#include "sim_hash.h"
#include "sim_mem.h"

void sim_trace_init(struct sim_trace *t, bool show, FILE *out)
{
    memset(t, 0, sizeof(*t));
    const char *env = getenv("CRAFT_SIM_TRACE");
    t->show_all = env != NULL && strcmp(env, "all") == 0;
    t->show = show || t->show_all;
    t->out = out;
}

/* --show prints faults, role changes and the leaders' commits (followers' commits are noise). */
static bool shown(uint32_t kind, uint64_t b)
{
    switch (kind) {
    case SIM_TR_COMMIT:
        return b != 0;
    case SIM_TR_CRASH:
    case SIM_TR_RESTART:
    case SIM_TR_ROLE:
    case SIM_TR_LINKS:
    case SIM_TR_HEAL:
    case SIM_TR_NOTE:
    case SIM_TR_STORAGE:
    case SIM_TR_PAUSE:
    case SIM_TR_PHASE:
    case SIM_TR_CHANGE:
    case SIM_TR_CONFIG:
        return true;
    default:
        return false;
    }
}

void sim_trace_log_init(struct sim_trace_log *l)
{
    memset(l, 0, sizeof(*l));
}

void sim_trace_log_close(struct sim_trace_log *l)
{
    craft_free(l->recs);
    memset(l, 0, sizeof(*l));
}

static void log_append(struct sim_trace_log *l, const struct sim_trace_rec *r)
{
    if (l->n == SIM_TRACE_LOG_MAX) {
        size_t half = SIM_TRACE_LOG_MAX / 2;
        memmove(l->recs, l->recs + half, (l->n - half) * sizeof(*r));
        l->n -= half;
        l->n_dropped += half;
    }
    sim_grow((void **)&l->recs, &l->cap, l->n + 1, sizeof(*r));
    l->recs[l->n++] = *r;
}

static void add(struct sim_trace *t, uint64_t time_us, uint32_t kind, uint32_t node, uint64_t a,
                uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    struct sim_trace_rec *r = &t->ring[t->n % SIM_TRACE_TAIL];
    r->d = d;
    r->e = e;
    r->time_us = time_us;
    r->kind = kind;
    r->node = node;
    r->a = a;
    r->b = b;
    r->c = c;
    t->n++;
    if (t->log != NULL) {
        log_append(t->log, r);
    }
    /* The record is hashed in three independent pieces and only then folded into the running
     * hash: every event pays for this, and a chain of seven dependent mixes cost a sixth of a
     * swarm's time. */
    uint64_t x = sim_hash_combine(time_us, ((uint64_t)kind << 32) | node);
    uint64_t y = sim_hash_combine(a, b);
    uint64_t z = sim_hash_combine(c, d ^ sim_hash_rotl(e, 32));
    t->hash = sim_hash_combine(t->hash, sim_hash_combine(sim_hash_combine(x, y), z));
    if (t->show && (t->show_all || shown(kind, b))) {
        char line[256];
        sim_trace_format(r, line, sizeof(line));
        fprintf(t->out, "%s\n", line);
    }
}

void sim_trace_add(struct sim_trace *t, uint64_t time_us, uint32_t kind, uint32_t node, uint64_t a,
                   uint64_t b, uint64_t c)
{
    add(t, time_us, kind, node, a, b, c, 0, 0);
}

void sim_trace_add_msg(struct sim_trace *t, uint64_t time_us, uint32_t kind, uint32_t node,
                       uint64_t peer, const struct craft_msg *m, uint64_t c)
{
    uint64_t d = 0;
    uint64_t e = 0;
    switch (m->type) {
    case CRAFT_MSG_APPEND:
        d = m->append.prev_index;
        e = m->append.n_entries;
        break;
    case CRAFT_MSG_APPEND_RESP:
        d = m->append_resp.index;
        e = m->append_resp.success;
        break;
    case CRAFT_MSG_VOTE:
    case CRAFT_MSG_PREVOTE:
        d = m->vote.last_index;
        e = m->vote.last_term;
        break;
    case CRAFT_MSG_VOTE_RESP:
    case CRAFT_MSG_PREVOTE_RESP:
        e = m->vote_resp.granted;
        break;
    case CRAFT_MSG_READ_INDEX:
        e = m->read.id;
        break;
    case CRAFT_MSG_READ_INDEX_RESP:
        d = m->read.index;
        e = m->read.ok;
        break;
    default:
        break; /* TIMEOUT_NOW carries nothing more */
    }
    add(t, time_us, kind, node, peer, m->type, c, d, e);
}

static void format_msg(const struct sim_trace_rec *r, char *p, size_t left)
{
    switch (r->b) {
    case CRAFT_MSG_APPEND:
        snprintf(p, left, " [prev %" PRIu64 ", %" PRIu64 " entries]", r->d, r->e);
        break;
    case CRAFT_MSG_APPEND_RESP:
        snprintf(p, left, " [%s %" PRIu64 "]", r->e ? "ok" : "reject", r->d);
        break;
    case CRAFT_MSG_VOTE:
    case CRAFT_MSG_PREVOTE:
        snprintf(p, left, " [last %" PRIu64 "/%" PRIu64 "]", r->d, r->e);
        break;
    case CRAFT_MSG_VOTE_RESP:
    case CRAFT_MSG_PREVOTE_RESP:
        snprintf(p, left, " [%s]", r->e ? "granted" : "refused");
        break;
    case CRAFT_MSG_READ_INDEX:
        snprintf(p, left, " [read %" PRIu64 "]", r->e);
        break;
    case CRAFT_MSG_READ_INDEX_RESP:
        snprintf(p, left, " [%s index %" PRIu64 "]", r->e ? "ok" : "refused", r->d);
        break;
    default:
        *p = '\0';
        break;
    }
}

static const char *links_shape(uint64_t shape)
{
    static const char *names[] = {"all-up",    "split",    "isolate", "one-way-cut",
                                  "bridge",    "ring",     "leader-only", "reconnect",
                                  "disconnect", "link-cut", "link-up"};
    return shape < sizeof(names) / sizeof(names[0]) ? names[shape] : "?";
}

/* Local name tables, so the trace (and its self-test) does not need the core linked. */
static const char *msg_name(uint64_t type)
{
    static const char *names[] = {"?",      "PREVOTE", "PREVOTE_RESP", "VOTE",
                                  "VOTE_RESP", "APPEND", "APPEND_RESP", "TIMEOUT_NOW",
                                  "READ_INDEX", "READ_INDEX_RESP"};
    return type <= CRAFT_MSG_TYPE_MAX ? names[type] : "?";
}

static const char *role_name(uint64_t role)
{
    static const char *names[] = {"?", "follower", "precandidate", "candidate", "LEADER"};
    return role <= CRAFT_LEADER ? names[role] : "?";
}

const char *sim_trace_kind_name(uint32_t kind)
{
    static const char *names[] = {"?",      "deliver", "drop",   "send",   "tick",
                                  "disk",   "crash",   "restart", "propose", "role",
                                  "commit", "apply",   "links",  "heal",   "vote",
                                  "note",   "storage", "replay", "pause",  "phase",
                                  "change", "config"};
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "kind";
}

const char *sim_change_kind_name(uint32_t kind)
{
    static const char *names[] = {"?",       "add_voter", "add_learner",   "promote",
                                  "remove_voter", "replace", "remove_leader", "remove_learner"};
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

void sim_trace_format(const struct sim_trace_rec *r, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%10.3fms n%u ", (double)r->time_us / 1000.0, r->node);
    if (k < 0 || (size_t)k >= n) {
        return;
    }
    char *p = buf + k;
    size_t left = n - (size_t)k;
    switch (r->kind) {
    case SIM_TR_DELIVER:
    case SIM_TR_DROP:
    case SIM_TR_REPLAY:
    case SIM_TR_SEND: {
        int w;
        if (r->kind == SIM_TR_SEND) {
            w = snprintf(p, left, "send %s to n%" PRIu64 " (latency %" PRIu64 " us, 0: lost)",
                         msg_name(r->b), r->a, r->c);
        } else {
            w = snprintf(p, left, "%s %s from n%" PRIu64 " term %" PRIu64,
                         r->kind == SIM_TR_DROP     ? "drop"
                         : r->kind == SIM_TR_REPLAY ? "REPLAY old copy of"
                                                    : "recv",
                         msg_name(r->b), r->a, r->c);
        }
        if (w > 0 && (size_t)w < left) {
            format_msg(r, p + w, left - (size_t)w);
        }
        break;
    }
    case SIM_TR_TICK:
        snprintf(p, left, "tick local %" PRIu64 "ms", r->a);
        break;
    case SIM_TR_DISK:
        snprintf(p, left, "disk write done: last index %" PRIu64 " hs term %" PRIu64
                          " truncate_from %" PRIu64, r->a, r->b, r->c);
        break;
    case SIM_TR_CRASH:
        snprintf(p, left, "CRASH: %" PRIu64 " pending writes, %" PRIu64 " reached disk, torn %" PRIu64,
                 r->a, r->b, r->c);
        break;
    case SIM_TR_RESTART:
        snprintf(p, left, "RESTART: durable last index %" PRIu64 " term %" PRIu64
                          " commit %" PRIu64, r->a, r->b, r->c);
        break;
    case SIM_TR_PROPOSE:
        snprintf(p, left, "propose from client %" PRIu64 ": rv %d index %" PRIu64, r->a,
                 (int)(int64_t)r->b, r->c);
        break;
    case SIM_TR_ROLE:
        snprintf(p, left, "role %s term %" PRIu64 " leader n%" PRIu64, role_name(r->a), r->b, r->c);
        break;
    case SIM_TR_COMMIT:
        snprintf(p, left, "commit %" PRIu64 "%s", r->a, r->b ? " (leader)" : "");
        break;
    case SIM_TR_APPLY:
        snprintf(p, left, "apply %" PRIu64 "..%" PRIu64, r->a, r->b);
        break;
    case SIM_TR_LINKS:
        snprintf(p, left, "LINKS %s arg 0x%" PRIx64 " extra %" PRIu64, links_shape(r->a), r->b, r->c);
        break;
    case SIM_TR_HEAL:
        snprintf(p, left, "HEAL: all nodes up, all links up, no loss");
        break;
    case SIM_TR_VOTE:
        snprintf(p, left, "grants vote to n%" PRIu64 " in term %" PRIu64, r->a, r->b);
        break;
    case SIM_TR_NOTE:
        snprintf(p, left, "note %" PRIu64 " %" PRIu64 " %" PRIu64, r->a, r->b, r->c);
        break;
    case SIM_TR_STORAGE:
        if (r->a == SIM_STORAGE_FAIL_STOP) {
            snprintf(p, left, "STORAGE I/O error %s: the node stops",
                     craft_errname((int)(int64_t)r->b));
        } else if (r->a == SIM_STORAGE_BITFLIP) {
            snprintf(p, left, "STORAGE bit %" PRIu64 " flipped in WAL segment %" PRIu64, r->c, r->b);
        } else if (r->a == SIM_STORAGE_REFUSED) {
            snprintf(p, left, "STORAGE refuses to open (%s): the node stays down",
                     craft_errname((int)(int64_t)r->b));
        } else if (r->a == SIM_STORAGE_KILL) {
            snprintf(p, left, "STORAGE kill -9 (page cache kept), %" PRIu64 " pending writes", r->b);
        } else if (r->a == SIM_STORAGE_MIDCALL) {
            snprintf(p, left, "STORAGE power fails after %" PRIu64 " more mutating calls", r->b);
        } else if (r->a == SIM_STORAGE_MISDIRECT) {
            snprintf(p, left, "STORAGE next write misdirected %" PRIu64 " bytes back", r->b);
        } else if (r->a == SIM_STORAGE_SNAPSHOT) {
            snprintf(p, left, "STORAGE snapshot up to %" PRIu64 " written: %s", r->b,
                     craft_errname((int)(int64_t)r->c));
        } else if (r->a == SIM_STORAGE_INSTALL) {
            snprintf(p, left, "STORAGE snapshot up to %" PRIu64 " received, core: %s", r->b,
                     craft_errname((int)(int64_t)r->c));
        } else if (r->a == SIM_STORAGE_ROT) {
            snprintf(p, left, "STORAGE bit %" PRIu64 " rots in %s", r->c,
                     r->b == SIM_ROT_NEWEST_SEGMENT ? "the newest WAL segment"
                     : r->b == SIM_ROT_HARD_STATE   ? "the hard state"
                                                    : "the identity file");
        } else {
            snprintf(p, left, "STORAGE crash: %" PRIu64 " pending writes reached the disk, torn %" PRIu64,
                     r->b, r->c);
        }
        break;
    case SIM_TR_PAUSE:
        snprintf(p, left, "PAUSE for %.3f ms: no ticks, deliveries or disk completions",
                 (double)r->a / 1000.0);
        break;
    case SIM_TR_PHASE:
        snprintf(p, left, "PHASE %s",
                 r->a == SIM_PHASE_STEADY     ? "steady: clients on, no faults (cost window)"
                 : r->a == SIM_PHASE_QUIET    ? "quiet: no proposals, the cluster must converge"
                 : r->a == SIM_PHASE_STABLE   ? "stable: no role or term may change"
                 : r->a == SIM_PHASE_ELECTION ? "calm election: the leader is crashed"
                                              : "?");
        break;
    case SIM_TR_CHANGE:
        snprintf(p, left, "CHANGE %s asked: voters 0x%" PRIx64 " learners 0x%" PRIx64 " -> %s",
                 sim_change_kind_name((uint32_t)r->a), r->c & 0xffff, r->c >> 16,
                 craft_errname((int)(int64_t)r->b));
        break;
    case SIM_TR_CONFIG:
        snprintf(p, left, "CONFIG voters 0x%" PRIx64 " old 0x%" PRIx64 " learners 0x%" PRIx64, r->a,
                 r->b, r->c);
        break;
    default:
        snprintf(p, left, "kind %u %" PRIu64 " %" PRIu64 " %" PRIu64, r->kind, r->a, r->b, r->c);
        break;
    }
}

void sim_trace_print_tail(const struct sim_trace *t, FILE *f, unsigned n)
{
    if (n > SIM_TRACE_TAIL) {
        n = SIM_TRACE_TAIL;
    }
    uint64_t first = t->n > n ? t->n - n : 0;
    for (uint64_t i = first; i < t->n; i++) {
        char line[256];
        sim_trace_format(&t->ring[i % SIM_TRACE_TAIL], line, sizeof(line));
        fprintf(f, "  %s\n", line);
    }
}
