/* craft-bench core's peer: canonical raft on its own in-memory io (raft_fixture), three servers
 * in one thread, stepped one event at a time. Latencies are 0: an append is durable at once and a
 * message is delivered at the next step, the shape of bench_cluster.c.
 *
 * What is the peer's work and what is the fixture's: each step, the fixture copies the leader's
 * log (it checks that a leader only appends), so its cost grows with the live log. The log is
 * therefore kept short, a snapshot every 128 entries keeping 32 (the best for the peer of those
 * tried here, with 64/16 and 256/64: bench/README.md), and what remains of the fixture's cost is
 * counted as the peer's: the ratios are, if anything, generous to it. */
#include "bench_core_libraft.h"

#include <raft.h>
#include <raft/fixture.h>
#include <stdio.h>
#include <string.h>

#include "bench_clock.h"

#define N_SERVERS 3
#define ENTRY_BYTES 64u
#define SNAPSHOT_THRESHOLD 128u
#define SNAPSHOT_TRAILING 32u
#define INFLIGHT_MAX 16u
#define BATCH_MAX 1024u

struct peer_fsm {
    uint64_t sum; /* of the applied commands' first 8 bytes */
};

struct peer;

struct apply_slot {
    struct raft_apply req;
    struct peer *peer;
    unsigned n; /* commands in it */
    bool busy;
};

struct peer {
    struct raft_fixture f;
    struct raft_fsm fsms[N_SERVERS];
    struct peer_fsm states[N_SERVERS];
    struct apply_slot slots[INFLIGHT_MAX];
    uint64_t applied; /* commands the leader reported applied */
    int status;
};

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct peer_fsm *s = fsm->data;
    uint64_t v;
    memcpy(&v, buf->base, sizeof v);
    s->sum += v;
    *result = NULL;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    struct peer_fsm *s = fsm->data;
    *bufs = raft_malloc(sizeof **bufs);
    if (*bufs == NULL) {
        return RAFT_NOMEM;
    }
    (*bufs)[0].len = sizeof s->sum;
    (*bufs)[0].base = raft_malloc(sizeof s->sum);
    if ((*bufs)[0].base == NULL) {
        raft_free(*bufs);
        return RAFT_NOMEM;
    }
    memcpy((*bufs)[0].base, &s->sum, sizeof s->sum);
    *n = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct peer_fsm *s = fsm->data;
    memcpy(&s->sum, buf->base, sizeof s->sum);
    raft_free(buf->base);
    return 0;
}

static void apply_done(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct apply_slot *slot = req->data;
    slot->busy = false;
    if (status != 0) {
        slot->peer->status = status;
        return;
    }
    slot->peer->applied += slot->n;
}

static int peer_open(struct peer *p)
{
    memset(p, 0, sizeof *p);
    int rv = raft_fixture_initialize(&p->f);
    for (unsigned i = 0; i < N_SERVERS && rv == 0; i++) {
        p->fsms[i] = (struct raft_fsm){.version = 1,
                                       .data = &p->states[i],
                                       .apply = fsm_apply,
                                       .snapshot = fsm_snapshot,
                                       .restore = fsm_restore};
        rv = raft_fixture_grow(&p->f, &p->fsms[i]);
    }
    struct raft_configuration conf;
    if (rv == 0) {
        rv = raft_fixture_configuration(&p->f, N_SERVERS, &conf);
    }
    if (rv == 0) {
        rv = raft_fixture_bootstrap(&p->f, &conf);
        raft_configuration_close(&conf);
    }
    for (unsigned i = 0; i < N_SERVERS && rv == 0; i++) {
        struct raft *r = raft_fixture_get(&p->f, i);
        raft_set_snapshot_threshold(r, SNAPSHOT_THRESHOLD);
        raft_set_snapshot_trailing(r, SNAPSHOT_TRAILING);
        raft_fixture_set_network_latency(&p->f, i, 0);
        raft_fixture_set_disk_latency(&p->f, i, 0);
    }
    if (rv == 0) {
        rv = raft_fixture_start(&p->f);
    }
    if (rv != 0) {
        fprintf(stderr, "craft-bench core: libraft fixture: %s\n", raft_strerror(rv));
        return -1;
    }
    raft_fixture_elect(&p->f, 0);
    return 0;
}

/* One raft_apply of `batch` commands, numbered from *next (stamped in their first 8 bytes, as the
 * craft figures' client does); *proposed adds up the numbers. */
static int propose(struct peer *p, struct apply_slot *slot, unsigned batch, uint64_t *next,
                   uint64_t *proposed)
{
    static struct raft_buffer bufs[BATCH_MAX]; /* the array stays ours; the bases go to libraft */
    for (unsigned k = 0; k < batch; k++) {
        bufs[k].len = ENTRY_BYTES;
        bufs[k].base = raft_malloc(ENTRY_BYTES);
        if (bufs[k].base == NULL) {
            for (unsigned j = 0; j < k; j++) {
                raft_free(bufs[j].base);
            }
            return -1;
        }
        memset(bufs[k].base, 0xa5, ENTRY_BYTES);
        uint64_t n = (*next)++;
        memcpy(bufs[k].base, &n, sizeof n);
        *proposed += n;
    }
    slot->req.data = slot;
    slot->peer = p;
    slot->n = batch;
    slot->busy = true;
    int rv = raft_apply(raft_fixture_get(&p->f, 0), &slot->req, bufs, batch, apply_done);
    if (rv != 0) {
        slot->busy = false;
        for (unsigned k = 0; k < batch; k++) {
            raft_free(bufs[k].base);
        }
        fprintf(stderr, "craft-bench core: libraft raft_apply: %s\n", raft_strerror(rv));
        return -1;
    }
    return 0;
}

bool bench_core_libraft_built(void)
{
    return true;
}

int bench_core_libraft_measure(unsigned batch, unsigned inflight, uint64_t ns_max, double *rate)
{
    *rate = 0.0;
    if (batch == 0 || batch > BATCH_MAX || inflight == 0 || inflight > INFLIGHT_MAX) {
        return -1;
    }
    static struct peer p;
    if (peer_open(&p) != 0) {
        raft_fixture_close(&p.f);
        return -1;
    }
    struct raft *leader = raft_fixture_get(&p.f, 0);
    uint64_t next = 1;
    uint64_t proposed = 0;
    uint64_t sum_before = p.states[0].sum; /* the election's entries carry no command */
    uint64_t start = bench_now_ns();
    uint64_t ns = 0;
    int rv = 0;
    while (rv == 0 && p.status == 0 && ns < ns_max) {
        for (unsigned s = 0; s < inflight && rv == 0; s++) {
            if (!p.slots[s].busy) {
                rv = propose(&p, &p.slots[s], batch, &next, &proposed);
            }
        }
        raft_fixture_step(&p.f);
        ns = bench_now_ns() - start;
    }
    uint64_t applied = p.applied; /* by the end of the timed part */
    /* Then what is outstanding finishes (not timed), and the leader must have applied every
     * proposal once. */
    if (rv == 0 && p.status == 0 &&
        !raft_fixture_step_until_applied(&p.f, 0, raft_last_index(leader), 10000)) {
        fprintf(stderr, "craft-bench core: libraft did not apply what it was given\n");
        rv = -1;
    }
    if (rv == 0 && p.status != 0) {
        fprintf(stderr, "craft-bench core: libraft apply failed: %s\n", raft_strerror(p.status));
        rv = -1;
    }
    if (rv == 0 && p.states[0].sum - sum_before != proposed) {
        fprintf(stderr, "craft-bench core: libraft's leader applied a different sum\n");
        rv = -1;
    }
    raft_fixture_close(&p.f);
    if (rv == 0) {
        *rate = ns > 0 ? (double)applied * 1e9 / (double)ns : 0.0;
    }
    return rv;
}
