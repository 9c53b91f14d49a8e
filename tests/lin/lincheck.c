/* The linearizability search (Wing & Gong with Lowe's memoisation), one key at a time, over the
 * string model of GET/SET/APPEND/INCR/DEL (lincheck.h). */
#include "lincheck.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sim_mem.h" /* allocation that aborts on failure (a test tool) */
#include "util/assert.h"

/* --- the history ---------------------------------------------------------------------------- */

void lin_history_init(struct lin_history *h)
{
    memset(h, 0, sizeof *h);
}

void lin_history_close(struct lin_history *h)
{
    for (size_t i = 0; i < h->n; i++) {
        craft_free((void *)h->ops[i].key);
    }
    craft_free(h->ops);
    memset(h, 0, sizeof *h);
}

/* One block: key, arg, val, each NUL-terminated (for printing). */
static void copy_strings(struct lin_op *dst, const struct lin_op *src)
{
    size_t need = src->key_len + src->arg_len + src->val_len + 3;
    char *b = sim_xmalloc(need);
    if (src->key_len > 0) {
        memcpy(b, src->key, src->key_len);
    }
    b[src->key_len] = '\0';
    dst->key = b;
    b += src->key_len + 1;
    if (src->arg_len > 0) {
        memcpy(b, src->arg, src->arg_len);
    }
    b[src->arg_len] = '\0';
    dst->arg = b;
    b += src->arg_len + 1;
    if (src->val_len > 0) {
        memcpy(b, src->val, src->val_len);
    }
    b[src->val_len] = '\0';
    dst->val = b;
}

static bool out_fits(uint32_t cmd, uint32_t out)
{
    switch (cmd) {
    case LIN_GET:
        return out == LIN_OUT_UNKNOWN || out == LIN_OUT_NIL || out == LIN_OUT_VALUE;
    case LIN_SET:
        return out == LIN_OUT_UNKNOWN || out == LIN_OUT_OK || out == LIN_OUT_ERR;
    case LIN_APPEND:
    case LIN_DEL:
        return out == LIN_OUT_UNKNOWN || out == LIN_OUT_INT || out == LIN_OUT_ERR;
    case LIN_INCR:
        return out == LIN_OUT_UNKNOWN || out == LIN_OUT_INT || out == LIN_OUT_ERR;
    default:
        return false;
    }
}

size_t lin_history_add(struct lin_history *h, const struct lin_op *op)
{
    CRAFT_ASSERT(out_fits(op->cmd, op->out));
    CRAFT_ASSERT(op->ret >= op->invoke);
    CRAFT_ASSERT(op->ret != LIN_PENDING || op->out == LIN_OUT_UNKNOWN);
    if (h->n == h->cap) {
        h->cap = h->cap == 0 ? 64 : 2 * h->cap;
        h->ops = sim_xrealloc(h->ops, h->cap * sizeof *h->ops);
    }
    struct lin_op *d = &h->ops[h->n];
    *d = *op;
    if (d->out != LIN_OUT_VALUE) {
        d->val_len = 0;
    }
    if (d->cmd != LIN_SET && d->cmd != LIN_APPEND) {
        d->arg_len = 0;
    }
    struct lin_op src = *d;
    src.key = op->key;
    src.arg = op->arg;
    src.val = op->val;
    copy_strings(d, &src);
    return h->n++;
}

void lin_history_answer(struct lin_history *h, size_t i, uint64_t ret, uint32_t out,
                        const char *val, size_t val_len, int64_t n)
{
    CRAFT_ASSERT(i < h->n);
    struct lin_op *d = &h->ops[i];
    CRAFT_ASSERT(d->out == LIN_OUT_UNKNOWN);
    CRAFT_ASSERT(out_fits(d->cmd, out));
    CRAFT_ASSERT(ret >= d->invoke);
    char *old = (char *)d->key;
    struct lin_op src = *d;
    src.ret = ret;
    src.out = out;
    src.val = val;
    src.val_len = out == LIN_OUT_VALUE ? val_len : 0;
    src.n = n;
    *d = src;
    copy_strings(d, &src);
    craft_free(old);
}

/* --- the model: one key's value --------------------------------------------------------------- */

struct value {
    bool exists;
    char *b; /* owned */
    size_t len;
    size_t cap;
};

static void value_set(struct value *v, bool exists, const char *p, size_t len)
{
    if (len + 1 > v->cap) {
        v->cap = 2 * (len + 1);
        v->b = sim_xrealloc(v->b, v->cap);
    }
    if (len > 0) {
        memmove(v->b, p, len);
    }
    v->len = len;
    v->exists = exists;
}

static uint64_t value_hash(const struct value *v)
{
    uint64_t h = v->exists ? 0x9e3779b97f4a7c15ull : 0x1234567ull;
    for (size_t i = 0; i < v->len; i++) {
        h = (h ^ (unsigned char)v->b[i]) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

/* Redis's string2ll: a canonical decimal int64 ("0", "-12"; not "+1", "01", "-0", " 1"). The
 * model's own, not src/kv's (kv_util.c): a checker that shared the parser of the store it
 * judges would share its bugs. */
static bool parse_int(const char *p, size_t len, int64_t *out)
{
    if (len == 0 || len > 20) {
        return false;
    }
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = p[0] == '-';
    i += neg;
    if (i >= len || p[i] < '1' || p[i] > '9') {
        return false;
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) {
            return false;
        }
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX) {
            return false;
        }
        *out = (int64_t)v;
    }
    return true;
}

/* Applies op to *v (into *next) and says whether the op's observed output is what the model
 * answers. An unanswered op always fits. */
static bool step(const struct value *v, const struct lin_op *op, struct value *next)
{
    bool any = op->out == LIN_OUT_UNKNOWN;
    switch (op->cmd) {
    case LIN_GET:
        value_set(next, v->exists, v->b, v->len);
        if (any) {
            return true;
        }
        if (!v->exists) {
            return op->out == LIN_OUT_NIL;
        }
        return op->out == LIN_OUT_VALUE && op->val_len == v->len &&
               (v->len == 0 || memcmp(op->val, v->b, v->len) == 0);
    case LIN_SET:
        value_set(next, true, op->arg, op->arg_len);
        return any || op->out == LIN_OUT_OK;
    case LIN_APPEND: {
        size_t base = v->exists ? v->len : 0;
        value_set(next, true, v->b, base);
        if (next->cap < base + op->arg_len + 1) {
            next->cap = 2 * (base + op->arg_len + 1);
            next->b = sim_xrealloc(next->b, next->cap);
        }
        if (op->arg_len > 0) {
            memcpy(next->b + base, op->arg, op->arg_len);
        }
        next->len = base + op->arg_len;
        return any || (op->out == LIN_OUT_INT && op->n == (int64_t)next->len);
    }
    case LIN_DEL:
        value_set(next, false, NULL, 0);
        return any || (op->out == LIN_OUT_INT && op->n == (v->exists ? 1 : 0));
    case LIN_INCR: {
        int64_t x = 0;
        if ((v->exists && !parse_int(v->b, v->len, &x)) || x == INT64_MAX) {
            /* Not an integer, or it would overflow: an error, the value unchanged. */
            value_set(next, v->exists, v->b, v->len);
            return any || op->out == LIN_OUT_ERR;
        }
        char buf[24];
        int k = snprintf(buf, sizeof buf, "%lld", (long long)(x + 1));
        value_set(next, true, buf, (size_t)k);
        return any || (op->out == LIN_OUT_INT && op->n == x + 1);
    }
    default:
        CRAFT_ASSERT(0);
        return false;
    }
}

/* --- the search over one key ------------------------------------------------------------------ */

/* A call or return event of one op, in a doubly linked list in time order. */
struct entry {
    size_t op; /* index into the key's ops */
    bool call;
    struct entry *match; /* a call's return */
    struct entry *prev;
    struct entry *next;
};

/* The value before a call was linearized: its bytes sit in the save stack at off. */
struct frame {
    struct entry *call;
    size_t rec; /* the memo record of the state it led to (open while on the stack) */
    int pass;    /* the pass that chose it (search_run) */
    bool forced; /* an observer: no other choice to try here (observer) */
    size_t off;
    size_t len;
    bool exists;
};

/* Memo of (linearized set, value) pairs already explored: open addressing over slots naming
 * records (bitset words and value bytes). The hash leaves out the pending ops (ret LIN_PENDING),
 * so the records that differ only in which of those were placed share a probe chain, where
 * memo_add looks for a state that dominates the new one:
 *
 * Dominance. A pending op is optional: it may be placed at any later point or never. So a state
 * with the same answered ops placed and the same value, but fewer pending ops placed, can do
 * everything the new state can (and more). Once such a state was explored to the end without
 * success (it is no longer on the search's stack: `open` false), the new state would fail too. A
 * pending SET overwritten before anyone read it, for example, is cut at once. */
struct memo {
    uint64_t *slot_hash;
    uint32_t *slot_rec; /* record index + 1; 0: empty */
    size_t n_slots;
    size_t n;
    uint64_t *words; /* n * nw */
    size_t cap_words;
    size_t nw;
    size_t *val_off; /* per record: value bytes in vals, length, exists */
    size_t *val_len;
    bool *val_exists;
    bool *open; /* on the search's stack: not explored to the end yet */
    size_t cap_recs;
    char *vals;
    size_t n_vals;
    size_t cap_vals;
};

struct search {
    const struct lin_op *const *ops; /* the key's ops */
    size_t n;
    struct entry *ents; /* 2n, plus the head sentinel at [2n] */
    uint64_t *bits;
    size_t nw;
    uint64_t *zob; /* per op: its hash word (0 for pending ops: struct memo) */
    uint64_t zhash;
    uint64_t *pending; /* bitset of the ops without an answer (ret LIN_PENDING) */
    bool append_only;  /* the key sees APPEND and GET only (prefix_of_next_read) */
    size_t *twin_prev; /* per op: the pending twin it must come after (link_twins), or SIZE_MAX */
    struct value cur;
    struct value next;
    struct frame *stack;
    size_t depth;
    char *saves;
    size_t n_saves;
    size_t cap_saves;
    struct memo memo;
    uint64_t states;
    /* the furthest point reached, for the report */
    size_t best_depth;
    size_t best_blocked;
    struct value best_value;
};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void memo_grow(struct memo *m)
{
    size_t n_slots = m->n_slots == 0 ? 1024 : 2 * m->n_slots;
    uint64_t *hash = sim_xcalloc(n_slots, sizeof *hash);
    uint32_t *rec = sim_xcalloc(n_slots, sizeof *rec);
    for (size_t i = 0; i < m->n_slots; i++) {
        if (m->slot_rec[i] == 0) {
            continue;
        }
        size_t j = m->slot_hash[i] & (n_slots - 1);
        while (rec[j] != 0) {
            j = (j + 1) & (n_slots - 1);
        }
        hash[j] = m->slot_hash[i];
        rec[j] = m->slot_rec[i];
    }
    craft_free(m->slot_hash);
    craft_free(m->slot_rec);
    m->slot_hash = hash;
    m->slot_rec = rec;
    m->n_slots = n_slots;
}

/* Whether record r has value v and a set of placed ops that is bits, or (r explored to the end)
 * bits less some pending ops (pending: the mask of those). */
static bool memo_covers(const struct memo *m, size_t r, const uint64_t *bits,
                        const uint64_t *pending, const struct value *v)
{
    if (m->val_exists[r] != v->exists || m->val_len[r] != v->len ||
        (v->len > 0 && memcmp(m->vals + m->val_off[r], v->b, v->len) != 0)) {
        return false;
    }
    const uint64_t *w = m->words + r * m->nw;
    for (size_t k = 0; k < m->nw; k++) {
        uint64_t extra = bits[k] & ~w[k];
        if ((w[k] & ~bits[k]) != 0 || (extra != 0 && (m->open[r] || (extra & ~pending[k]) != 0))) {
            return false;
        }
    }
    return true;
}

/* Adds (bits, v) under hash h as an open record; false when it was there already, or a record
 * explored to the end dominates it. *rec: the new record. */
static bool memo_add(struct memo *m, uint64_t h, const uint64_t *bits, const uint64_t *pending,
                     const struct value *v, size_t *rec)
{
    if (2 * (m->n + 1) > m->n_slots) {
        memo_grow(m);
    }
    size_t j = h & (m->n_slots - 1);
    while (m->slot_rec[j] != 0) {
        if (m->slot_hash[j] == h && memo_covers(m, m->slot_rec[j] - 1, bits, pending, v)) {
            return false;
        }
        j = (j + 1) & (m->n_slots - 1);
    }
    if (m->n == m->cap_recs) {
        m->cap_recs = m->cap_recs == 0 ? 1024 : 2 * m->cap_recs;
        m->words = sim_xrealloc(m->words, m->cap_recs * m->nw * sizeof *m->words);
        m->val_off = sim_xrealloc(m->val_off, m->cap_recs * sizeof *m->val_off);
        m->val_len = sim_xrealloc(m->val_len, m->cap_recs * sizeof *m->val_len);
        m->val_exists = sim_xrealloc(m->val_exists, m->cap_recs * sizeof *m->val_exists);
        m->open = sim_xrealloc(m->open, m->cap_recs * sizeof *m->open);
    }
    if (m->n_vals + v->len > m->cap_vals) {
        m->cap_vals = 2 * (m->n_vals + v->len) + 1024;
        m->vals = sim_xrealloc(m->vals, m->cap_vals);
    }
    size_t r = m->n++;
    memcpy(m->words + r * m->nw, bits, m->nw * sizeof *bits);
    m->val_off[r] = m->n_vals;
    m->val_len[r] = v->len;
    m->val_exists[r] = v->exists;
    m->open[r] = true;
    *rec = r;
    if (v->len > 0) {
        memcpy(m->vals + m->n_vals, v->b, v->len);
    }
    m->n_vals += v->len;
    m->slot_hash[j] = h;
    m->slot_rec[j] = (uint32_t)(r + 1);
    return true;
}

static void memo_close(struct memo *m)
{
    craft_free(m->slot_hash);
    craft_free(m->slot_rec);
    craft_free(m->words);
    craft_free(m->val_off);
    craft_free(m->val_len);
    craft_free(m->val_exists);
    craft_free(m->open);
    craft_free(m->vals);
}

/* Sort key of an event: its time, and at equal times calls before returns (ops that touch at
 * one instant count as concurrent: the checker never assumes an order it did not see). */
struct ev_key {
    uint64_t time;
    uint32_t ret;
    uint32_t idx;
};

static int cmp_ev(const void *a, const void *b)
{
    const struct ev_key *x = a;
    const struct ev_key *y = b;
    if (x->time != y->time) {
        return x->time < y->time ? -1 : 1;
    }
    if (x->ret != y->ret) {
        return x->ret < y->ret ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void lift(struct entry *e)
{
    e->prev->next = e->next;
    if (e->next != NULL) {
        e->next->prev = e->prev;
    }
    struct entry *r = e->match;
    r->prev->next = r->next;
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
}

static void unlift(struct entry *e)
{
    struct entry *r = e->match;
    r->prev->next = r;
    if (r->next != NULL) {
        r->next->prev = r;
    }
    e->prev->next = e;
    if (e->next != NULL) {
        e->next->prev = e;
    }
}

static void build_list(struct search *s)
{
    size_t n = s->n;
    struct ev_key *keys = sim_xmalloc(2 * n * sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        keys[2 * i] = (struct ev_key){s->ops[i]->invoke, 0, (uint32_t)(2 * i)};
        keys[2 * i + 1] = (struct ev_key){s->ops[i]->ret, 1, (uint32_t)(2 * i + 1)};
    }
    qsort(keys, 2 * n, sizeof *keys, cmp_ev);
    struct entry *head = &s->ents[2 * n];
    memset(head, 0, sizeof *head);
    struct entry *prev = head;
    for (size_t k = 0; k < 2 * n; k++) {
        size_t i = keys[k].idx / 2;
        struct entry *e = &s->ents[keys[k].idx];
        e->op = i;
        e->call = keys[k].ret == 0;
        e->match = e->call ? &s->ents[2 * i + 1] : NULL;
        e->prev = prev;
        e->next = NULL;
        prev->next = e;
        prev = e;
    }
    craft_free(keys);
}

static void save_push(struct search *s, struct entry *call, size_t rec, int pass, bool forced)
{
    if (s->n_saves + s->cur.len > s->cap_saves) {
        s->cap_saves = 2 * (s->n_saves + s->cur.len) + 256;
        s->saves = sim_xrealloc(s->saves, s->cap_saves);
    }
    if (s->cur.len > 0) {
        memcpy(s->saves + s->n_saves, s->cur.b, s->cur.len);
    }
    s->stack[s->depth++] =
        (struct frame){call, rec, pass, forced, s->n_saves, s->cur.len, s->cur.exists};
    s->n_saves += s->cur.len;
}

static struct entry *save_pop(struct search *s, int *pass, bool *forced)
{
    CRAFT_ASSERT(s->depth > 0);
    struct frame f = s->stack[--s->depth];
    s->memo.open[f.rec] = false; /* explored to the end: from here on it may dominate */
    *pass = f.pass;
    *forced = f.forced;
    /* saves is NULL until a value with bytes was saved: no offset into it then. */
    value_set(&s->cur, f.exists, f.len > 0 ? s->saves + f.off : NULL, f.len);
    s->n_saves = f.off;
    return f.call;
}

static void swap_values(struct value *a, struct value *b)
{
    struct value t = *a;
    *a = *b;
    *b = t;
}

/* An op that, wherever its output fits, leaves the value as it is: a GET, an INCR that failed, a
 * DEL that removed nothing. When one fits now and may go next, it goes next: in any order that
 * places it later, moving it to the front changes no value and breaks no real-time order (every
 * op that returned before it was invoked is placed already, or it would not be a candidate).
 * So the search never branches on where such ops go (the history's many reads stay cheap). */
static bool observer(const struct lin_op *op)
{
    return (op->cmd == LIN_GET && op->out != LIN_OUT_UNKNOWN) ||
           (op->cmd == LIN_INCR && op->out == LIN_OUT_ERR) ||
           (op->cmd == LIN_DEL && op->out == LIN_OUT_INT && op->n == 0);
}

/* A key that only APPEND and GET touch only grows: each value is a prefix of every later one.
 * So after a step the value must be a prefix of what the earliest-returning read not placed yet
 * saw (that read comes later), and cannot exist if that read saw none. This cuts a pending
 * APPEND at once wherever its bytes are not the next ones that read saw, instead of after a
 * search of every order of the pending appends up to the read. `placing` is the op being
 * placed (its own return does not count). */
static bool prefix_of_next_read(const struct search *s, const struct value *v, size_t placing)
{
    for (const struct entry *e = s->ents[2 * s->n].next; e != NULL; e = e->next) {
        const struct lin_op *op = s->ops[e->op];
        if (e->call || e->op == placing || op->cmd != LIN_GET) {
            continue;
        }
        if (op->out == LIN_OUT_NIL) {
            return !v->exists;
        }
        return !v->exists ||
               (v->len <= op->val_len && (v->len == 0 || memcmp(op->val, v->b, v->len) == 0));
    }
    return true;
}

enum try_result { TRY_NO, TRY_TAKEN, TRY_DEAD, TRY_BOUND };

/* Tries call e as the next linearization point: TRY_TAKEN (linearized and lifted), TRY_NO (it
 * does not fit, or that pair was explored), TRY_DEAD (an observer whose pair was explored:
 * this configuration fails), TRY_BOUND (max_states reached). */
static int try_call(struct search *s, struct entry *e, int pass, uint64_t max_states)
{
    const struct lin_op *op = s->ops[e->op];
    size_t twin = s->twin_prev[e->op];
    if (twin != SIZE_MAX && (s->bits[twin / 64] & ((uint64_t)1 << (twin % 64))) == 0) {
        return TRY_NO; /* its earlier twin goes first (link_twins) */
    }
    /* An unanswered SET or DEL placed right after an unanswered write erases that write before
     * anything saw it; the order without that write (optional, its return never binds) is the
     * parent's to try, and reaches the same value with more left open. So it is not stacked. */
    if (op->ret == LIN_PENDING && (op->cmd == LIN_SET || op->cmd == LIN_DEL) && s->depth > 0 &&
        s->ops[s->stack[s->depth - 1].call->op]->ret == LIN_PENDING) {
        return TRY_NO;
    }
    if (!step(&s->cur, op, &s->next)) {
        return TRY_NO;
    }
    s->bits[e->op / 64] |= (uint64_t)1 << (e->op % 64);
    size_t rec = 0;
    uint64_t h = (s->zhash ^ s->zob[e->op]) * 0x9e3779b97f4a7c15ull ^ value_hash(&s->next);
    if ((s->append_only && !prefix_of_next_read(s, &s->next, e->op)) ||
        !memo_add(&s->memo, h, s->bits, s->pending, &s->next, &rec)) {
        s->bits[e->op / 64] &= ~((uint64_t)1 << (e->op % 64));
        return observer(op) ? TRY_DEAD : TRY_NO;
    }
    if (++s->states > max_states) {
        return TRY_BOUND;
    }
    save_push(s, e, rec, pass, observer(op));
    swap_values(&s->cur, &s->next);
    s->zhash ^= s->zob[e->op];
    lift(e);
    if (s->depth > s->best_depth) {
        s->best_depth = s->depth;
    }
    return TRY_TAKEN;
}

/* Takes back the last linearized op (and, an observer's placement being forced, every
 * observer under it); returns the call to go on after, with its pass, or NULL at the root. */
static struct entry *undo(struct search *s, size_t *answered_left, int *pass)
{
    for (;;) {
        if (s->depth == 0) {
            return NULL;
        }
        bool forced;
        struct entry *call = save_pop(s, pass, &forced);
        *answered_left += s->ops[call->op]->ret != LIN_PENDING;
        s->zhash ^= s->zob[call->op];
        s->bits[call->op / 64] &= ~((uint64_t)1 << (call->op % 64));
        unlift(call);
        if (!forced) {
            return call;
        }
    }
}

/* Runs the search; returns LIN_OK, LIN_VIOLATION or LIN_UNKNOWN. The candidates for the next
 * linearization point are the calls before the first return in the list; they are tried in two
 * passes, answered ops first, then unanswered ones: an unanswered write is mostly not needed to
 * explain what was seen, so a linearizable history is found without trying its subsets. */
static int search_run(struct search *s, uint64_t max_states)
{
    size_t answered_left = 0;
    for (size_t i = 0; i < s->n; i++) {
        answered_left += s->ops[i]->ret != LIN_PENDING;
    }
    struct entry *head = &s->ents[2 * s->n];
    struct entry *e = head->next;
    int pass = 0;
    while (answered_left > 0) {
        /* Only unanswered ops left: each fits anywhere, so all of them go after the rest. */
        CRAFT_ASSERT(e != NULL);
        int r = TRY_NO;
        if (e->call) {
            const struct lin_op *op = s->ops[e->op];
            if ((op->ret == LIN_PENDING) == (pass == 1)) {
                r = try_call(s, e, pass, max_states);
            }
            if (r == TRY_BOUND) {
                return LIN_UNKNOWN;
            }
            if (r == TRY_TAKEN) {
                answered_left -= op->ret != LIN_PENDING;
                e = head->next;
                pass = 0;
            }
            if (r != TRY_DEAD) {
                e = r == TRY_TAKEN ? e : e->next;
                continue;
            }
        } else if (pass == 0) {
            pass = 1; /* the answered candidates are done: now the unanswered ones */
            e = head->next;
            continue;
        } else if (s->depth >= s->best_depth) {
            /* A return of an op not linearized yet: this order cannot go on. */
            s->best_depth = s->depth;
            s->best_blocked = e->op;
            value_set(&s->best_value, s->cur.exists, s->cur.b, s->cur.len);
        }
        struct entry *call = undo(s, &answered_left, &pass);
        if (call == NULL) {
            return LIN_VIOLATION;
        }
        e = call->next;
    }
    return LIN_OK;
}

/* Pending twins: two ops without an answer (ret LIN_PENDING) and with the same command and
 * argument change the value in the same way, and neither has a return that orders it before
 * anything. In any linearization that places the later-invoked one of two twins while the
 * earlier-invoked one is not placed yet, swapping the two gives another (the earlier one was
 * invoked sooner, so it may go wherever the later one may). So the search places twins in order
 * of invocation only: k unanswered INCRs cost k choices, not 2^k subsets. */
struct twin_key {
    const struct lin_op *op;
    size_t i;
};

static int cmp_twin(const void *a, const void *b)
{
    const struct lin_op *x = ((const struct twin_key *)a)->op;
    const struct lin_op *y = ((const struct twin_key *)b)->op;
    if (x->cmd != y->cmd) {
        return x->cmd < y->cmd ? -1 : 1;
    }
    if (x->arg_len != y->arg_len) {
        return x->arg_len < y->arg_len ? -1 : 1;
    }
    int c = x->arg_len > 0 ? memcmp(x->arg, y->arg, x->arg_len) : 0;
    if (c != 0) {
        return c;
    }
    if (x->invoke != y->invoke) {
        return x->invoke < y->invoke ? -1 : 1;
    }
    size_t i = ((const struct twin_key *)a)->i;
    size_t j = ((const struct twin_key *)b)->i;
    return i < j ? -1 : i > j;
}

static void link_twins(struct search *s)
{
    struct twin_key *t = sim_xmalloc((s->n + 1) * sizeof *t);
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
        s->twin_prev[i] = SIZE_MAX;
        if (s->ops[i]->ret == LIN_PENDING) {
            t[m++] = (struct twin_key){s->ops[i], i};
        }
    }
    qsort(t, m, sizeof *t, cmp_twin);
    for (size_t k = 1; k < m; k++) {
        const struct lin_op *x = t[k - 1].op;
        const struct lin_op *y = t[k].op;
        if (x->cmd == y->cmd && x->arg_len == y->arg_len &&
            (x->arg_len == 0 || memcmp(x->arg, y->arg, x->arg_len) == 0)) {
            s->twin_prev[t[k].i] = t[k - 1].i;
        }
    }
    craft_free(t);
}

/* Checks the ops of one key (idx[0..n), indexes into h). */
static int check_key(const struct lin_history *h, const size_t *idx, size_t n, uint64_t max_states,
                     struct lin_result *res)
{
    struct search s;
    memset(&s, 0, sizeof s);
    const struct lin_op **ops = sim_xmalloc(n * sizeof *ops);
    for (size_t i = 0; i < n; i++) {
        ops[i] = &h->ops[idx[i]];
    }
    s.ops = ops;
    s.n = n;
    s.ents = sim_xmalloc((2 * n + 1) * sizeof *s.ents);
    s.nw = (n + 63) / 64;
    s.bits = sim_xcalloc(s.nw, sizeof *s.bits);
    s.zob = sim_xmalloc(n * sizeof *s.zob);
    s.pending = sim_xcalloc(s.nw, sizeof *s.pending);
    s.append_only = true;
    uint64_t x = 0x5eed;
    for (size_t i = 0; i < n; i++) {
        s.zob[i] = splitmix(&x);
        if (ops[i]->ret == LIN_PENDING) {
            s.zob[i] = 0;
            s.pending[i / 64] |= (uint64_t)1 << (i % 64);
        }
        s.append_only &= ops[i]->cmd == LIN_APPEND || ops[i]->cmd == LIN_GET;
    }
    s.stack = sim_xmalloc(n * sizeof *s.stack);
    s.memo.nw = s.nw;
    s.twin_prev = sim_xmalloc(n * sizeof *s.twin_prev);
    link_twins(&s);
    build_list(&s);
    int v = search_run(&s, max_states);
    res->states += s.states;
    if (v == LIN_VIOLATION) {
        const struct lin_op *b = ops[s.best_blocked];
        size_t kl = b->key_len < LIN_REPORT_KEY_MAX ? b->key_len : LIN_REPORT_KEY_MAX;
        memcpy(res->key, b->key, kl);
        res->key[kl] = '\0';
        res->blocked = idx[s.best_blocked];
        res->depth = s.best_depth;
        res->value_exists = s.best_value.exists;
        size_t vl =
            s.best_value.len < LIN_REPORT_VALUE_MAX ? s.best_value.len : LIN_REPORT_VALUE_MAX;
        if (vl > 0) {
            memcpy(res->value, s.best_value.b, vl);
        }
        res->value[vl] = '\0';
    }
    craft_free(s.cur.b);
    craft_free(s.next.b);
    craft_free(s.best_value.b);
    craft_free(s.saves);
    craft_free(s.stack);
    craft_free(s.zob);
    craft_free(s.twin_prev);
    craft_free(s.pending);
    craft_free(s.bits);
    craft_free(s.ents);
    memo_close(&s.memo);
    craft_free(ops);
    return v;
}

/* An op's key and position, sorted by key, then by position in the history. */
struct by_key {
    const char *key;
    size_t len;
    size_t idx;
};

static int cmp_key(const void *a, const void *b)
{
    const struct by_key *x = a;
    const struct by_key *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, m);
    if (c != 0) {
        return c;
    }
    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int lin_check(const struct lin_history *h, uint64_t max_states, struct lin_result *res)
{
    memset(res, 0, sizeof *res);
    if (max_states == 0) {
        max_states = LIN_MAX_STATES_DEFAULT;
    }
    struct by_key *keys = sim_xmalloc(h->n * sizeof *keys);
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++) {
        const struct lin_op *op = &h->ops[i];
        if (op->cmd == LIN_GET && op->out == LIN_OUT_UNKNOWN) {
            continue; /* a read without an output tells nothing */
        }
        keys[n++] = (struct by_key){op->key, op->key_len, i};
    }
    qsort(keys, n, sizeof *keys, cmp_key);
    size_t *idx = sim_xmalloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++) {
        idx[i] = keys[i].idx;
    }
    craft_free(keys);
    res->n_ops = n;
    res->verdict = LIN_OK;
    size_t first_bad = SIZE_MAX;
    struct lin_result bad;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        const struct lin_op *x = &h->ops[idx[a]];
        while (b < n && h->ops[idx[b]].key_len == x->key_len &&
               memcmp(h->ops[idx[b]].key, x->key, x->key_len) == 0) {
            b++;
        }
        res->n_keys++;
        struct lin_result one;
        memset(&one, 0, sizeof one);
        int v = check_key(h, idx + a, b - a, max_states, &one);
        res->states += one.states;
        if (v == LIN_UNKNOWN) {
            res->n_keys_unknown++;
        } else if (v == LIN_VIOLATION && idx[a] < first_bad) {
            first_bad = idx[a]; /* the key that appears first in the history is reported */
            bad = one;
        }
        a = b;
    }
    craft_free(idx);
    if (first_bad != SIZE_MAX) {
        uint64_t states = res->states;
        size_t n_keys = res->n_keys;
        size_t unknown = res->n_keys_unknown;
        *res = bad;
        res->states = states;
        res->n_keys = n_keys;
        res->n_keys_unknown = unknown;
        res->n_ops = n;
        res->verdict = LIN_VIOLATION;
    } else if (res->n_keys_unknown > 0) {
        res->verdict = LIN_UNKNOWN;
    }
    return res->verdict;
}
