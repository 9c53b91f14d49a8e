/* Named constants of the deterministic simulator: cluster shape, timing, bounds.
 * Every bound the simulator enforces lives here so --help can print it. */
#ifndef SIM_CONFIG_H
#define SIM_CONFIG_H

#include <assert.h>

#define SIM_NODES_MAX 7
#define SIM_ELECTION_TIMEOUT_MS_MIN 150
#define SIM_ELECTION_TIMEOUT_MS_MAX 300
#define SIM_HEARTBEAT_MS 50
/* Each node ticks every 10 ms of its own (skewed) clock. */
#define SIM_TICK_US 10000
/* After the healed phase starts, a leader must commit a new proposal on a majority within this
 * much simulated time: 20 maximal election timeouts leave room for split votes and catch-up. */
#define SIM_LIVENESS_BOUND_MS (20 * SIM_ELECTION_TIMEOUT_MS_MAX)
/* The healed phase starts when this share of --steps remains. */
#define SIM_HEAL_PERCENT 15
/* Bytes a message costs besides its entries' data (for the RPC byte counts of the lab tests). */
#define SIM_MSG_HEADER_BYTES 64
#define SIM_CLIENTS_MAX 4
/* Trace records kept for the tail printed with a violation. */
/* Ticks of one node at one local ms before the timer counts as spinning (`timer_spin`). */
#define SIM_TICKS_SAME_MS_MAX 16
#define SIM_TRACE_TAIL 64
#define SIM_TRACE_TAIL_SHOWN 60
/* Records a --timeline run keeps at most (56 bytes each): about 1.5 million steps' worth. */
#define SIM_TRACE_LOG_MAX (1u << 22)
/* Largest command a swarm client proposes (text plus random padding). */
#define SIM_CMD_BYTES_MAX 256
/* Most commands one client proposes in one CRAFT_IN_PROPOSE (seeds with proposal batches). */
#define SIM_PROPOSE_BATCH_MAX 8
#define SIM_DEFAULT_STEPS 10000
/* The real storage: small segments, so segments close (and rotate) often in short runs. */
#define SIM_WAL_SEGMENT_BYTES (64u * 1024u)
/* The uncommitted-bytes budget of a seed with a narrow pipe and proposal batches (sim_swarm.c). */
#define SIM_NARROW_UNCOMMITTED_MAX 2048
#define SIM_CLUSTER_ID 0x5151c0de5151c0deULL

static_assert(SIM_ELECTION_TIMEOUT_MS_MIN < SIM_ELECTION_TIMEOUT_MS_MAX, "timeout range");
static_assert(SIM_HEARTBEAT_MS * 2 < SIM_ELECTION_TIMEOUT_MS_MIN, "heartbeats beat elections");
static_assert(SIM_TICK_US / 1000 < SIM_HEARTBEAT_MS, "ticks are finer than heartbeats");
static_assert(SIM_TRACE_TAIL_SHOWN <= SIM_TRACE_TAIL, "tail fits the ring");

#endif
