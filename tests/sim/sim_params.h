/* Everything one simulated run is parameterised by: drawn per seed by the swarm, or set by hand
 * by the lab scenarios. */
#ifndef SIM_PARAMS_H
#define SIM_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_network.h"

struct sim_params {
    uint64_t seed;
    unsigned n_nodes;
    bool pre_vote;
    bool check_quorum;
    struct sim_net_params net;
    /* A disk write takes [min, max), and with slow_ppm up to slow_us_max more. */
    uint32_t disk_us_min;
    uint32_t disk_us_max;
    uint32_t disk_slow_ppm;
    uint32_t disk_slow_us_max;
    /* Each node's clock runs at a rate within 1 +- clock_skew_ppm / 1e6. */
    uint32_t clock_skew_ppm;
    /* Faults of the fault phase (the swarm drives them; scenarios leave them off). */
    bool torn_writes;
    bool fault_partitions;
    bool fault_crashes;
    uint32_t fault_us_min; /* time between fault changes */
    uint32_t fault_us_max;
    uint32_t downtime_us_min;
    uint32_t downtime_us_max;
    /* Targeted attacks: crash a node right after it grants a vote / becomes leader / acks. */
    uint32_t crash_after_vote_ppm;
    uint32_t crash_after_leader_ppm;
    uint32_t crash_after_ack_ppm;
    uint32_t crash_after_append_ppm; /* a leader right after it sent entries */
    /* Isolations rather than crashes: messages already in flight are dropped too, so a new
     * leader's first entries or a leader's last ones reach nobody (Figure 8's divergent logs). */
    uint32_t isolate_after_leader_ppm;
    uint32_t isolate_after_append_ppm;
    uint32_t isolate_us_max;
    /* Core flow control (0: the core's default). Small windows and one-entry AppendEntries open
     * the half-replicated states that Figure 8 is about; a small uncommitted budget exercises
     * CRAFT_EBUSY. */
    uint32_t append_entries_max;
    uint32_t inflight_msgs_max;
    uint64_t uncommitted_bytes_max;
    /* The real storage under each node: WAL segment size (0: SIM_WAL_SEGMENT_BYTES); fdatasync
     * failures (the node stops, fail-stop, and later restarts); one node's closed WAL segment
     * gets a flipped bit at a crash, after which its storage must refuse to open. */
    uint64_t wal_segment_bytes;
    uint32_t fsync_eio_ppm;
    bool bitflip;
    /* The state machine's durability: 0 = in memory (boots from applied 0); otherwise after each
     * batch of applies it flushes its applied index with this chance, and a restarted node boots
     * with the index of the last flush, which may lie past its durable log. */
    uint32_t sm_flush_ppm;
    /* The node's apply worker (sim_apply.c): 0 runs the state machine at once; otherwise a
     * batch runs up to this many us after the first of its items was handed over. */
    uint32_t apply_us_max;
    /* The node hands at most this many committed entries to apply ahead of what it applied
     * (node_config.apply_window; 0: no bound). */
    uint32_t apply_window;
    /* craft_core_config.log_slab_bytes (0: the default). */
    uint32_t log_slab_bytes;
    /* wal_config.inline_bytes_max: bigger payloads are written from the write's memory. */
    uint32_t wal_inline_bytes_max;
    /* Real disk failures (sim_disk_faults.c, drawn after everything above): the share of
     * crashes that are a kill -9 keeping the page cache, and that cut a storage call short;
     * write EIO / ENOSPC and failed directory syncs (the node stops); misdirected writes and bit
     * rot in the newest segment, hard state or identity (at most one damaged node per run). */
    uint32_t crash_kill_pct;
    uint32_t crash_midcall_pct;
    uint32_t write_eio_ppm;
    uint32_t write_enospc_ppm;
    uint32_t sync_dir_eio_ppm;
    uint32_t misdirect_ppm;
    bool rot;
    /* Off with --safety-only: only the safety properties judge the run. */
    bool no_rule_checks;
    /* Clients. */
    unsigned n_clients;
    uint32_t client_us_min; /* between two proposals of one client */
    uint32_t client_us_max;
    uint32_t cmd_pad_max;   /* random padding bytes on each command */
    /* Old messages (sim_oldmsg.c): a share of the messages sent in the fault phase is held for
     * [hold_us_min, hold_us_max) (several election timeouts) before it is delivered; every
     * replay_us_mean on average a copy of a message sent earlier in the run is delivered again
     * (0: off). Process pauses (sim_pause.c): every pause_us_mean on average one node stops
     * stepping for up to pause_us_max (0: off). */
    uint32_t hold_ppm;
    uint32_t hold_us_min;
    uint32_t hold_us_max;
    uint32_t replay_us_mean;
    uint32_t pause_us_mean;
    uint32_t pause_us_max;
    /* What a real node feeds the core (0: off; sim_feed.c, sim_propose.c, sim_compact.c):
     * deliveries to one node within batch_window_us are one CRAFT_IN_MSGS; a client proposes up
     * to propose_batch_max commands in one CRAFT_IN_PROPOSE; with big_cmd_ppm a command is padded
     * to [wal_segment_bytes, big_cmd_bytes_max] bytes, bigger than a WAL segment;
     * append_bytes_max is the core's byte limit of one AppendEntries; a node compacts applied
     * entries once compact_every of them are held; campaign requests come every
     * [campaign_us_min, campaign_us_max] of the fault phase. */
    uint32_t batch_window_us;
    uint32_t propose_batch_max;
    uint32_t big_cmd_ppm;
    uint32_t big_cmd_bytes_max;
    uint64_t append_bytes_max;
    uint32_t compact_every;
    uint32_t campaign_us_min;
    uint32_t campaign_us_max;
    /* Leadership transfer requests every transfer_us_mean on average in the fault phase (0: off;
     * sim_transfer.c). */
    uint32_t transfer_us_mean;
    /* Client reads every reads_us_mean on average in the fault phase (0: off; sim_reads.c), with
     * lease reads configured (needs check_quorum). */
    uint32_t reads_us_mean;
    bool read_lease;
    /* Membership (sim_member.c, drawn last): nodes 1..n_voters_start bootstrap the cluster (0:
     * all), the rest wait to be added; every [member_us_min, member_us_max] of the fault phase
     * some node is asked for a change (0: never); change_after_leader_ppm: a new leader is asked
     * at once, before its term has committed anything (it must refuse); member_small: changes
     * may shrink the voters below three (only in seeds where no node can be lost for good). */
    unsigned n_voters_start;
    uint32_t member_us_min;
    uint32_t member_us_max;
    uint32_t change_after_leader_ppm;
    bool member_small;
    /* Snapshots (sim_snap.c, drawn last): a node snapshots its state machine at every multiple of
     * snapshot_every of the applied index (0: never), with an image padded by up to
     * snapshot_pad_max bytes; streams go in chunks of snap_chunk_bytes, snap_window of them in
     * flight, resent after snap_resend_us without progress and given up after snap_stall_us. */
    uint32_t snapshot_every;
    /* The node compacts its memory log after each snapshot it takes, keeping this many entries
     * below it (node_config.log_trailing), when node_compacts; else only compact_every does. */
    bool node_compacts;
    uint32_t node_log_trailing;
    uint32_t snapshot_pad_max;
    uint32_t snap_chunk_bytes;
    uint32_t snap_window;
    uint32_t snap_resend_us;
    uint32_t snap_stall_us;
    /* The KV workload (sim_kv.h, drawn last; --kv forces it): kv_clients clients over kv_keys
     * keys, an op every [kv_us_min, kv_us_max] of think time, given up as unanswered after
     * kv_timeout_us; a GET goes to a random node kv_follower_pct% of the time, and follows a
     * completed write at once, at a random node, kv_read_after_pct% of the time. */
    bool kv;
    unsigned kv_clients;
    unsigned kv_keys;
    uint32_t kv_us_min;
    uint32_t kv_us_max;
    uint32_t kv_timeout_us;
    uint32_t kv_follower_pct;
    uint32_t kv_read_after_pct;
    /* Snapshots on request (sim_snap_now.h, drawn last): every snap_now_us_mean on average in
     * the fault phase some node is asked for a snapshot now (0: never), and at aimed moments. */
    uint32_t snap_now_us_mean;
};

#endif
