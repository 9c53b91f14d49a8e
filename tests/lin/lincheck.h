/* A linearizability checker for histories of a key-value store (GET, SET, APPEND, INCR, DEL with
 * Redis semantics on string values), for the simulator's KV clients and the server's process
 * tests; `craft-lincheck FILE` runs it on a history written as text (format below).
 *
 * Method: keys are independent (P-compositionality: a history is linearizable iff each key's
 * sub-history is), so each key is checked alone by the Wing & Gong search with Lowe's
 * memoisation: operations are taken in order of their invocation, each one tried as the next
 * linearization point while no operation that already returned is left behind; a (linearized
 * set, value) pair seen before is not explored again. Four cuts keep writes without an answer
 * (each may have happened anywhere after its invocation, or never) from multiplying the search:
 * such writes with the same command and argument are placed in order of invocation (k unanswered
 * INCRs: k choices, not 2^k subsets); an unanswered SET or DEL is not placed right after another
 * unanswered write (it would erase it unseen); a state is not explored when one that placed the
 * same answered ops, holds the same value and placed fewer unanswered writes already failed; and
 * on a key only APPEND and GET touch, a value must be a prefix of what the next read saw. Each is
 * argued where it is made (lincheck.c). The search is bounded (max_states): a key that needs more
 * is reported "unknown", which is neither a pass nor a violation.
 *
 * Outcomes. An operation answered (ret set, output known) took effect exactly once between its
 * invocation and its answer. An operation without an answer (timed out, its node crashed, the
 * outcome unknown: ret LIN_PENDING) may have taken effect at any time after its invocation, or
 * never. An operation known to have taken effect by ret whose output is unknown (ret set, output
 * LIN_OUT_UNKNOWN: a test harness that saw the write applied) took effect once between its
 * invocation and ret, with whatever output. A GET without an output tells nothing and is
 * ignored. An
 * operation that failed definitively (not leader, busy: it never reached the log) is not part of
 * the history; the text format marks it `fail` and the reader skips it.
 *
 * Text format, one operation per line (blank lines and lines starting with '#' are skipped):
 *
 *     CLIENT INVOKE RETURN KEY CMD [ARG] OUTPUT
 *
 *   CLIENT   a number, for the printout only
 *   INVOKE   when the request was sent (any unit, one clock for the whole history)
 *   RETURN   when the answer arrived, or '?' for never (with OUTPUT '?': it may never have
 *            happened; a time with OUTPUT '?': it happened by then, its output unknown)
 *   KEY      a token (no whitespace)
 *   CMD      get | set | append | incr | del  (ARG, a token, after set and append only)
 *   OUTPUT   ok (set) | nil (get: no such key) | =VALUE (get; '=' alone: the empty string) |
 *            :N (append: new length; incr: new value; del: keys removed) | err (incr on a value
 *            that is not an integer, or overflow) | ? (unknown) | fail (refused: skipped)
 *
 * Example: a write, a read that must see it, and an increment whose answer was lost:
 *
 *     1 0 10 x set 5 ok
 *     2 12 20 x get =5
 *     3 15 ? x incr ?
 *
 * Memory is the caller's: a history owns copies of everything added to it. Single-threaded;
 * out of memory aborts (a test tool: tests/sim/sim_mem.h). */
#ifndef CRAFT_LINCHECK_H
#define CRAFT_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LIN_PENDING UINT64_MAX
/* The default bound on (linearized set, value) pairs explored per key. */
#define LIN_MAX_STATES_DEFAULT 200000u
/* Bytes of the value kept in a report (longer ones are cut). */
#define LIN_REPORT_VALUE_MAX 120
#define LIN_REPORT_KEY_MAX 64

enum lin_cmd { LIN_GET = 1, LIN_SET = 2, LIN_APPEND = 3, LIN_INCR = 4, LIN_DEL = 5 };

enum lin_out {
    LIN_OUT_UNKNOWN = 0, /* no answer: the operation may or may not have taken effect */
    LIN_OUT_OK = 1,      /* SET */
    LIN_OUT_NIL = 2,     /* GET of a missing key */
    LIN_OUT_VALUE = 3,   /* GET: val */
    LIN_OUT_INT = 4,     /* APPEND, INCR, DEL: n */
    LIN_OUT_ERR = 5,     /* INCR of a value that is not an integer, or overflow */
};

/* One operation as the client saw it. Pointers are borrowed by lin_history_add (copied). */
struct lin_op {
    uint64_t client;
    uint64_t invoke;
    uint64_t ret; /* LIN_PENDING: no answer */
    uint32_t cmd; /* enum lin_cmd */
    uint32_t out; /* enum lin_out */
    const char *key;
    size_t key_len;
    const char *arg; /* SET, APPEND */
    size_t arg_len;
    const char *val; /* LIN_OUT_VALUE */
    size_t val_len;
    int64_t n; /* LIN_OUT_INT */
};

struct lin_history {
    struct lin_op *ops; /* owned; each op's strings live in one block at op.key (owned) */
    size_t n;
    size_t cap;
};

enum lin_verdict { LIN_OK = 0, LIN_VIOLATION = 1, LIN_UNKNOWN = 2 };

struct lin_result {
    int verdict;           /* enum lin_verdict */
    size_t n_keys;         /* keys checked */
    size_t n_ops;          /* operations checked (unanswered GETs left out) */
    size_t n_keys_unknown; /* keys whose search hit max_states */
    uint64_t states;       /* pairs explored, all keys */
    /* LIN_VIOLATION: the first key found not linearizable, and where its search got furthest:
     * `depth` operations linearized with the key's value then (`value`, or absent), and op
     * `blocked` (an index into the history) answered before any order could place it. */
    char key[LIN_REPORT_KEY_MAX + 1];
    size_t blocked;
    size_t depth;
    bool value_exists;
    char value[LIN_REPORT_VALUE_MAX + 1];
};

void lin_history_init(struct lin_history *h);
void lin_history_close(struct lin_history *h);
/* Appends a copy of op. Returns its index. Asserts that the op is well formed (cmd and output
 * agree, ret >= invoke, an op without ret has output LIN_OUT_UNKNOWN). */
size_t lin_history_add(struct lin_history *h, const struct lin_op *op);
/* Sets the answer of op i (added unanswered): its return time and output (LIN_OUT_UNKNOWN:
 * it took effect by ret). */
void lin_history_answer(struct lin_history *h, size_t i, uint64_t ret, uint32_t out,
                        const char *val, size_t val_len, int64_t n);

/* Checks h; max_states bounds each key's search (0: LIN_MAX_STATES_DEFAULT). Returns the
 * verdict, also in *res: a violation of any key wins over unknown keys. */
int lin_check(const struct lin_history *h, uint64_t max_states, struct lin_result *res);

/* Text format (above). lin_parse_line adds the op of one line to h (nothing for a comment, a
 * blank line or a `fail` op); on a malformed line returns -1 with why in err. lin_load reads a
 * whole file the same way, err naming the line. */
int lin_parse_line(struct lin_history *h, const char *line, char *err, size_t err_len);
int lin_load(struct lin_history *h, FILE *f, char *err, size_t err_len);
/* Writes op as one line of the text format (no newline) into buf; returns the length it
 * needed (as snprintf). */
int lin_format_op(const struct lin_op *op, char *buf, size_t len);
/* Prints a violation found in h: the key, how far the search got, and the operations that
 * explain it (the blocked one, those concurrent with it, and the `context` writes and two reads
 * that returned last before it), each as a line of the text format prefixed by prefix. At most
 * max_lines ops. */
void lin_print_violation(const struct lin_history *h, const struct lin_result *res, FILE *f,
                         const char *prefix, size_t context, size_t max_lines);

#endif
