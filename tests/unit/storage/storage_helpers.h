/* Pieces the storage tests share: opening a directory of the simulated file system, and log
 * entries whose payload derives from (index, term) so a wrong or stale entry shows. Include
 * after <cmocka.h>. Header-only. */
#ifndef CRAFT_TESTS_STORAGE_HELPERS_H
#define CRAFT_TESTS_STORAGE_HELPERS_H

#include <stdio.h>
#include <string.h>

#include "io/sim/fs_sim.h"
#include "storage/storage.h"

#define SH_NODE 2
#define SH_CLUSTER 0xC0DEull
#define SH_SEGMENT_BYTES 4096u /* small: a few dozen entries roll over segments */
#define SH_PAYLOAD 40u         /* with the 48-byte record header, 88 bytes a record */
#define SH_RUN_MAX 64          /* entries per sh_persist_run */

static inline void sh_cfg(struct storage_config *cfg)
{
    storage_config_init(cfg);
    cfg->node = SH_NODE;
    cfg->cluster = SH_CLUSTER;
    cfg->wal.segment_bytes = SH_SEGMENT_BYTES;
}

/* storage_open over sim; the result, with errmsg filled. */
static inline int sh_open(struct io_fs_sim *sim, struct storage **s, struct storage_recovered *rec,
                          char *errmsg, size_t errmsg_len)
{
    struct storage_config cfg;
    sh_cfg(&cfg);
    *s = NULL;
    return storage_open(io_fs_sim_fs(sim), &cfg, s, rec, errmsg, errmsg_len);
}

/* storage_open that must succeed. */
static inline struct storage *sh_open_ok(struct io_fs_sim *sim, struct storage_recovered *rec)
{
    struct storage *s;
    char errmsg[256] = "";
    int rv = sh_open(sim, &s, rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        fail_msg("storage_open: %s: %s", craft_errname(rv), errmsg);
    }
    return s;
}

static inline void sh_payload(craft_index index, craft_term term, unsigned char *buf)
{
    for (size_t j = 0; j < SH_PAYLOAD; j++) {
        buf[j] = (unsigned char)(index * 7 + term * 31 + j);
    }
}

/* Checks that recovered entry e is (index, term) with its payload. */
static inline void sh_assert_entry(const struct craft_entry *e, craft_index index, craft_term term)
{
    unsigned char want[SH_PAYLOAD];
    sh_payload(index, term, want);
    assert_int_equal(e->index, index);
    assert_int_equal(e->term, term);
    assert_int_equal(e->data.len, SH_PAYLOAD);
    assert_memory_equal(e->data.base, want, SH_PAYLOAD);
}

/* Entries first..last of term, into e (SH_RUN_MAX) with payloads in data. */
static inline size_t sh_entries(craft_index first, craft_index last, craft_term term,
                                struct craft_entry *e, unsigned char (*data)[SH_PAYLOAD])
{
    assert_true(last >= first);
    assert_true(last - first < SH_RUN_MAX);
    size_t n = (size_t)(last - first + 1);
    for (size_t i = 0; i < n; i++) {
        sh_payload(first + i, term, data[i]);
        e[i] = (struct craft_entry){.term = term,
                                    .index = first + i,
                                    .type = CRAFT_ENTRY_NORMAL,
                                    .data = {data[i], SH_PAYLOAD}};
    }
    return n;
}

/* Persists p with entries first..last of term added (none if first is 0), then syncs if sync:
 * returns storage_persist's, then storage_sync's result. */
static inline int sh_persist_run(struct storage *s, struct craft_persist p, craft_index first,
                                 craft_index last, craft_term term, bool sync)
{
    struct craft_entry e[SH_RUN_MAX];
    static unsigned char data[SH_RUN_MAX][SH_PAYLOAD];
    if (first != 0) {
        p.entries = e;
        p.n_entries = sh_entries(first, last, term, e, data);
    }
    int rv = storage_persist(s, &p);
    if (rv == 0 && sync) {
        rv = storage_sync(s);
    }
    return rv;
}

/* Appends first..last of term and syncs; must succeed. */
static inline void sh_append(struct storage *s, craft_index first, craft_index last,
                             craft_term term)
{
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    assert_int_equal(sh_persist_run(s, p, first, last, term, true), 0);
}

/* A fresh directory whose WAL holds 1..10 of term 1 and 11..last of term 2, hard state term 2
 * (voted for SH_NODE), commit `commit` (0: none saved). */
static inline struct io_fs_sim *sh_base_log(uint64_t seed, craft_index last, craft_index commit)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    p.hard_state_changed = true;
    p.hard_state = (struct craft_hard_state){.term = 2, .vote = SH_NODE, .commit = 0};
    assert_int_equal(sh_persist_run(s, p, 1, last < 10 ? last : 10, 1, true), 0);
    for (craft_index i = 11; i <= last; i += SH_RUN_MAX) {
        craft_index to = i + SH_RUN_MAX - 1 < last ? i + SH_RUN_MAX - 1 : last;
        sh_append(s, i, to, 2);
    }
    if (commit != 0) {
        struct craft_hard_state hs = {.term = 2, .vote = SH_NODE, .commit = commit};
        assert_int_equal(storage_save_hard_state(s, &hs), 0); /* saved on close */
    }
    storage_close(s);
    return sim;
}

#endif
