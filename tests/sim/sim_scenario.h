/* The scenario API of the lab tests, on top of a cluster without swarm faults: connect and
 * disconnect nodes (lab semantics: a link works when both ends are connected), crash and restart,
 * propose and wait for agreement with a simulated-time deadline (the lab's one()), count
 * committed copies (nCommitted), check for exactly one leader, count RPCs and bytes. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_cluster.h"

/* The lab's election timeout, for its sleeps ("2 * RaftElectionTimeout"). */
#define SIM_LAB_ELECTION_MS 1000

struct sim_scenario {
    const char *name;
    struct sim_cluster *c; /* owned */
    unsigned n;
    bool connected[SIM_NODES_MAX + 1];
    bool failed;
    struct prng rng;
    uint64_t cmd_seq;
};

struct sim_scenario_opts {
    unsigned n;
    uint64_t seed;
    bool unreliable;
    bool pre_vote;
    bool check_quorum;
    unsigned n_voters; /* nodes 1..n_voters bootstrap the cluster, the rest wait (0: all) */
    bool safety_only;  /* only the safety properties judge (no protocol-rule checks) */
    bool read_lease;   /* lease reads configured (with check_quorum) */
    /* Snapshots every snapshot_every applied entries, the core's memory log compacted every
     * compact_every, WAL segments of wal_segment_bytes (0: off, off, the default). */
    uint32_t snapshot_every;
    uint32_t compact_every;
    uint64_t wal_segment_bytes;
    uint32_t log_slab_bytes; /* the cores' payload blocks (0: the default) */
};

void sim_scenario_opts_init(struct sim_scenario_opts *o, unsigned n, uint64_t seed);
/* Returns 0, or -1 (printed) if the cluster did not start. */
int sim_scenario_init(struct sim_scenario *s, const char *name, const struct sim_scenario_opts *o);
/* Prints PASS or FAIL, frees everything; returns 0 on pass. */
int sim_scenario_finish(struct sim_scenario *s);
/* True when the test failed or an invariant was violated (then the test stops). */
bool sim_scenario_failed(struct sim_scenario *s);
void sim_scenario_fail(struct sim_scenario *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void sim_scenario_run_ms(struct sim_scenario *s, uint64_t ms);
void sim_scenario_connect(struct sim_scenario *s, craft_id id);
void sim_scenario_disconnect(struct sim_scenario *s, craft_id id);
void sim_scenario_crash(struct sim_scenario *s, craft_id id);
void sim_scenario_restart(struct sim_scenario *s, craft_id id);
void sim_scenario_unreliable(struct sim_scenario *s, bool unreliable);
void sim_scenario_long_reordering(struct sim_scenario *s, bool on);
/* Every later disk write of node id takes extra_us more. */
void sim_scenario_slow_disk(struct sim_scenario *s, craft_id id, uint64_t extra_us);

/* The lab's checkOneLeader: waits up to ten times 450-550 ms for a leader among connected nodes,
 * fails on two leaders in one term or on none; returns the leader (0 on failure). */
craft_id sim_scenario_check_one_leader(struct sim_scenario *s);
void sim_scenario_check_no_leader(struct sim_scenario *s);
/* All connected nodes agree on the term; returns it. */
craft_term sim_scenario_check_terms(struct sim_scenario *s);
/* The leader with the highest term among up, connected nodes, without waiting (0 if none). */
craft_id sim_scenario_leader(struct sim_scenario *s);
craft_term sim_scenario_term(struct sim_scenario *s, craft_id id);
bool sim_scenario_is_leader(struct sim_scenario *s, craft_id id);

/* How many nodes applied index, and the data hash there. */
unsigned sim_scenario_n_committed(struct sim_scenario *s, craft_index index, uint64_t *data_hash);
/* Writes a fresh unique command into buf (64 bytes). */
const char *sim_scenario_cmd(struct sim_scenario *s, char *buf);
/* Proposes cmd at id (if up); returns 0 and fills index/term, or the error. */
int sim_scenario_start(struct sim_scenario *s, craft_id id, const void *cmd, size_t len,
                       craft_index *index, craft_term *term);
/* The lab's one(): propose at a leader and wait for expected nodes to apply it; retry within 10 s
 * of simulated time when retry is set. Returns the index, 0 on failure (recorded). */
craft_index sim_scenario_one(struct sim_scenario *s, const void *cmd, size_t len, unsigned expected,
                             bool retry);
craft_index sim_scenario_one_str(struct sim_scenario *s, const char *cmd, unsigned expected,
                                 bool retry);
/* Waits until at least n nodes applied index (lab wait()); returns the count reached. */
unsigned sim_scenario_wait(struct sim_scenario *s, craft_index index, unsigned n, uint64_t ms);
uint64_t sim_scenario_rpcs(struct sim_scenario *s);
uint64_t sim_scenario_bytes(struct sim_scenario *s);

#endif
