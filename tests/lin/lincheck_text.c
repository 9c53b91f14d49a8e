/* The checker's text format (lincheck.h): reading a history, one operation per line, and writing
 * operations back in it for a violation's printout. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

#define LINE_TOKENS_MAX 8

struct tok {
    const char *p;
    size_t len;
};

static size_t split(const char *line, struct tok *t, size_t max)
{
    size_t n = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        }
        if (*p == '\0') {
            return n;
        }
        const char *s = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            p++;
        }
        if (n == max) {
            return max + 1;
        }
        t[n++] = (struct tok){s, (size_t)(p - s)};
    }
}

static bool is(const struct tok *t, const char *s)
{
    return t->len == strlen(s) && memcmp(t->p, s, t->len) == 0;
}

static bool to_u64(const struct tok *t, uint64_t *v)
{
    char buf[32];
    if (t->len == 0 || t->len >= sizeof buf || t->p[0] < '0' || t->p[0] > '9') {
        return false;
    }
    memcpy(buf, t->p, t->len);
    buf[t->len] = '\0';
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *v = x;
    return true;
}

static bool to_i64(const struct tok *t, int64_t *v)
{
    char buf[32];
    if (t->len == 0 || t->len >= sizeof buf) {
        return false;
    }
    memcpy(buf, t->p, t->len);
    buf[t->len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || end == buf) {
        return false;
    }
    *v = x;
    return true;
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *const cmd_names[] = {NULL, "get", "set", "append", "incr", "del"};

int lin_parse_line(struct lin_history *h, const char *line, char *err, size_t err_len)
{
    struct tok t[LINE_TOKENS_MAX];
    size_t n = split(line, t, LINE_TOKENS_MAX);
    if (n == 0 || t[0].p[0] == '#') {
        return 0;
    }
    if (n < 6 || n > 7) {
        return fail(err, err_len, "expected CLIENT INVOKE RETURN KEY CMD [ARG] OUTPUT");
    }
    struct lin_op op;
    memset(&op, 0, sizeof op);
    if (!to_u64(&t[0], &op.client) || !to_u64(&t[1], &op.invoke)) {
        return fail(err, err_len, "CLIENT and INVOKE are numbers");
    }
    if (is(&t[2], "?")) {
        op.ret = LIN_PENDING;
    } else if (!to_u64(&t[2], &op.ret) || op.ret < op.invoke) {
        return fail(err, err_len, "RETURN is '?' or a number not below INVOKE");
    }
    op.key = t[3].p;
    op.key_len = t[3].len;
    for (uint32_t c = LIN_GET; c <= LIN_DEL; c++) {
        if (is(&t[4], cmd_names[c])) {
            op.cmd = c;
        }
    }
    if (op.cmd == 0) {
        return fail(err, err_len, "unknown command '%.*s'", (int)t[4].len, t[4].p);
    }
    bool has_arg = op.cmd == LIN_SET || op.cmd == LIN_APPEND;
    if (n != (has_arg ? 7u : 6u)) {
        return fail(err, err_len, "%s takes %s argument", cmd_names[op.cmd],
                    has_arg ? "one" : "no");
    }
    if (has_arg) {
        op.arg = t[5].p;
        op.arg_len = t[5].len;
    }
    const struct tok *o = &t[n - 1];
    if (is(o, "fail")) {
        return 0; /* refused: never took effect, not part of the history */
    }
    if (is(o, "?")) {
        op.out = LIN_OUT_UNKNOWN;
    } else if (is(o, "ok")) {
        op.out = LIN_OUT_OK;
    } else if (is(o, "nil")) {
        op.out = LIN_OUT_NIL;
    } else if (is(o, "err")) {
        op.out = LIN_OUT_ERR;
    } else if (o->p[0] == '=') {
        op.out = LIN_OUT_VALUE;
        op.val = o->p + 1;
        op.val_len = o->len - 1;
    } else if (o->p[0] == ':') {
        struct tok num = {o->p + 1, o->len - 1};
        if (!to_i64(&num, &op.n)) {
            return fail(err, err_len, "bad integer output '%.*s'", (int)o->len, o->p);
        }
        op.out = LIN_OUT_INT;
    } else {
        return fail(err, err_len, "unknown output '%.*s'", (int)o->len, o->p);
    }
    bool fits = op.out == LIN_OUT_UNKNOWN ||
                (op.cmd == LIN_GET && (op.out == LIN_OUT_NIL || op.out == LIN_OUT_VALUE)) ||
                (op.cmd == LIN_SET && (op.out == LIN_OUT_OK || op.out == LIN_OUT_ERR)) ||
                (op.cmd != LIN_GET && op.cmd != LIN_SET &&
                 (op.out == LIN_OUT_INT || op.out == LIN_OUT_ERR));
    if (!fits) {
        return fail(err, err_len, "output '%.*s' cannot answer %s", (int)o->len, o->p,
                    cmd_names[op.cmd]);
    }
    if (op.ret == LIN_PENDING && op.out != LIN_OUT_UNKNOWN) {
        return fail(err, err_len, "an op without a return time has output '?'");
    }
    /* A time with output '?' : it happened by then, its output unknown (lincheck.h). */
    (void)lin_history_add(h, &op);
    return 0;
}

int lin_load(struct lin_history *h, FILE *f, char *err, size_t err_len)
{
    char *line = NULL;
    size_t cap = 0;
    size_t lineno = 0;
    int rv = 0;
    char why[200];
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (lin_parse_line(h, line, why, sizeof why) != 0) {
            snprintf(err, err_len, "line %zu: %s", lineno, why);
            rv = -1;
            break;
        }
    }
    free(line);
    return rv;
}

int lin_format_op(const struct lin_op *op, char *buf, size_t len)
{
    char ret[24];
    char out[LIN_REPORT_VALUE_MAX + 8];
    if (op->ret == LIN_PENDING) {
        snprintf(ret, sizeof ret, "?");
    } else {
        snprintf(ret, sizeof ret, "%" PRIu64, op->ret);
    }
    switch (op->out) {
    case LIN_OUT_OK:
        snprintf(out, sizeof out, "ok");
        break;
    case LIN_OUT_NIL:
        snprintf(out, sizeof out, "nil");
        break;
    case LIN_OUT_ERR:
        snprintf(out, sizeof out, "err");
        break;
    case LIN_OUT_VALUE:
        snprintf(out, sizeof out, "=%.*s", (int)op->val_len, op->val);
        break;
    case LIN_OUT_INT:
        snprintf(out, sizeof out, ":%" PRId64, op->n);
        break;
    default:
        snprintf(out, sizeof out, "?");
        break;
    }
    bool has_arg = op->cmd == LIN_SET || op->cmd == LIN_APPEND;
    return snprintf(buf, len, "%" PRIu64 " %" PRIu64 " %s %.*s %s%s%.*s %s", op->client, op->invoke,
                    ret, (int)op->key_len, op->key, cmd_names[op->cmd], has_arg ? " " : "",
                    has_arg ? (int)op->arg_len : 0, has_arg ? op->arg : "", out);
}

static void print_op(const struct lin_op *op, FILE *f, const char *prefix, const char *mark)
{
    char buf[512];
    (void)lin_format_op(op, buf, sizeof buf);
    fprintf(f, "%s%s%s\n", prefix, buf, mark);
}

static bool same_key(const struct lin_op *x, const struct lin_op *y)
{
    return x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0;
}

/* The (at most k) ops of b's key, writes or reads, that returned last before b was invoked,
 * into out; returns how many. */
static size_t latest(const struct lin_history *h, const struct lin_op *b, bool writes, size_t k,
                     size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n && k > 0; i++) {
        const struct lin_op *op = &h->ops[i];
        if (!same_key(op, b) || op->ret >= b->invoke || (op->cmd != LIN_GET) != writes ||
            op->out == LIN_OUT_UNKNOWN) {
            continue;
        }
        if (n < k) {
            out[n++] = i;
            continue;
        }
        size_t oldest = 0;
        for (size_t j = 1; j < n; j++) {
            oldest = h->ops[out[j]].ret < h->ops[out[oldest]].ret ? j : oldest;
        }
        if (op->ret > h->ops[out[oldest]].ret) {
            out[oldest] = i;
        }
    }
    return n;
}

void lin_print_violation(const struct lin_history *h, const struct lin_result *res, FILE *f,
                         const char *prefix, size_t context, size_t max_lines)
{
    if (res->verdict != LIN_VIOLATION || res->blocked >= h->n) {
        return;
    }
    const struct lin_op *b = &h->ops[res->blocked];
    fprintf(
        f,
        "%skey %s: not linearizable; the search placed at most %zu ops, the value then %s%s%s,\n",
        prefix, res->key, res->depth, res->value_exists ? "'" : "(absent)",
        res->value_exists ? res->value : "", res->value_exists ? "'" : "");
    fprintf(
        f, "%sand no order places the op marked <== (CLIENT INVOKE RETURN KEY CMD [ARG] OUTPUT):\n",
        prefix);
    /* The ops of the key concurrent with the blocked one, the last `context` writes and the
     * last two reads that returned before it was invoked, in history order. */
    size_t *before = malloc((context + 2) * sizeof *before);
    size_t n_before = 0;
    if (before != NULL) {
        n_before = latest(h, b, true, context, before);
        n_before += latest(h, b, false, 2, before + n_before);
    }
    size_t lines = 0;
    for (size_t i = 0; i < h->n && lines < max_lines; i++) {
        const struct lin_op *op = &h->ops[i];
        if (!same_key(op, b) || (op->cmd == LIN_GET && op->out == LIN_OUT_UNKNOWN)) {
            continue;
        }
        bool pick = i == res->blocked || (op->invoke <= b->ret && op->ret >= b->invoke);
        for (size_t k = 0; k < n_before && !pick; k++) {
            pick = before[k] == i;
        }
        if (pick) {
            print_op(op, f, prefix, i == res->blocked ? "  <==" : "");
            lines++;
        }
    }
    free(before);
}
