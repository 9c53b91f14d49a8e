/* A reference model of the Raft log the crash tests write through the WAL: what was acknowledged
 * durable, the records of the batch in flight when the process died, and the check that a
 * recovered log is exactly "durable + a prefix of the in-flight batch" (nothing after a torn
 * record, nothing acknowledged lost), contiguous, with terms that never fall. Test-only. */
#ifndef CRAFT_TESTS_WAL_MODEL_H
#define CRAFT_TESTS_WAL_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "craft/types.h"

#define WAL_MODEL_INDEX_MAX 256
#define WAL_MODEL_OPS_MAX 128
#define WAL_MODEL_DATA_MAX 512

/* One log: entries 1..last (their terms; the data derives from index and term). */
struct wal_model_log {
    craft_term term[WAL_MODEL_INDEX_MAX + 1];
    craft_index last;
};

/* One record of a batch: an entry, or a truncation from index on (term 0). */
struct wal_model_op {
    craft_index index;
    craft_term term;
};

struct wal_model {
    struct wal_model_log durable;               /* as of the last wal_sync that returned 0 */
    struct wal_model_op ops[WAL_MODEL_OPS_MAX]; /* queued since then, in order */
    size_t n_ops;
    craft_index floor; /* a prefix drop up to here was started: entries <= floor may be gone */
};

/* The payload of entry (index, term): its length and bytes vary with both, so a record read
 * from the wrong place or the wrong term shows. Returns the length written to buf. */
static inline size_t wal_model_data(craft_index index, craft_term term, unsigned char *buf)
{
    size_t len = 8 + (size_t)((index * 37 + term * 11) % 300);
    for (size_t j = 0; j < len; j++) {
        buf[j] = (unsigned char)(index * 7 + term * 13 + j * 3);
    }
    return len;
}

static inline void wal_model_apply(struct wal_model_log *log, const struct wal_model_op *op)
{
    if (op->term == 0) {
        if (op->index <= log->last) {
            log->last = op->index - 1;
        }
        return;
    }
    log->term[op->index] = op->term;
    log->last = op->index;
}

/* Compares a recovered log with model log s: every entry recovered is s's (index, term, data),
 * and every entry of s above floor is recovered. Writes why not into why. */
static inline bool wal_model_matches(const struct craft_entry *got, size_t n,
                                     const struct wal_model_log *s, craft_index floor, char *why,
                                     size_t why_len)
{
    unsigned char want[WAL_MODEL_DATA_MAX];
    for (size_t i = 0; i < n; i++) {
        craft_index idx = got[i].index;
        if (idx == 0 || idx > s->last || got[i].term != s->term[idx]) {
            snprintf(why, why_len, "entry %llu term %llu is not in the model (last %llu)",
                     (unsigned long long)idx, (unsigned long long)got[i].term,
                     (unsigned long long)s->last);
            return false;
        }
        size_t len = wal_model_data(idx, got[i].term, want);
        if (got[i].data.len != len || memcmp(got[i].data.base, want, len) != 0) {
            snprintf(why, why_len, "entry %llu has the wrong data", (unsigned long long)idx);
            return false;
        }
    }
    craft_index first = n > 0 ? got[0].index : 0;
    craft_index last = n > 0 ? got[n - 1].index : 0;
    for (craft_index i = floor + 1; i <= s->last; i++) {
        if (n == 0 || i < first || i > last) {
            snprintf(why, why_len, "entry %llu (of %llu) is missing", (unsigned long long)i,
                     (unsigned long long)s->last);
            return false;
        }
    }
    return true;
}

/* Checks the recovered log: contiguous, terms non-decreasing, and equal to durable plus some
 * prefix of the in-flight records. Returns the prefix length that matched, or -1 (why says). */
static inline int wal_model_check(const struct wal_model *m, const struct craft_entry *got,
                                  size_t n, char *why, size_t why_len)
{
    for (size_t i = 1; i < n; i++) {
        if (got[i].index != got[i - 1].index + 1) {
            snprintf(why, why_len, "indexes jump from %llu to %llu",
                     (unsigned long long)got[i - 1].index, (unsigned long long)got[i].index);
            return -1;
        }
        if (got[i].term < got[i - 1].term) {
            snprintf(why, why_len, "term falls at index %llu", (unsigned long long)got[i].index);
            return -1;
        }
    }
    struct wal_model_log s = m->durable;
    char first_why[160] = "";
    for (size_t p = 0; p <= m->n_ops; p++) {
        if (p > 0) {
            wal_model_apply(&s, &m->ops[p - 1]);
        }
        char w[160];
        if (wal_model_matches(got, n, &s, m->floor, w, sizeof w)) {
            return (int)p;
        }
        if (p == 0) {
            snprintf(first_why, sizeof first_why, "%s", w);
        }
    }
    snprintf(why, why_len,
             "no prefix of the in-flight batch matches (%zu records; against the "
             "durable log: %s)",
             m->n_ops, first_why);
    return -1;
}

#endif
