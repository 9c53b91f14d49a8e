#!/usr/bin/env bash
# Mutation check of the simulator: for each protocol bug the core can be built with
# (-DCRAFT_MUTATION=<name>), build craft-sim in build-mut-<name>, run the swarm, and require that
# it reports a violation, or else that a named lab scenario fails. Fails if any mutation survives.
#   tools/mutation_check.sh [mutation...]      (default: all of them)
# Environment: SEEDS (1000), STEPS (5000), JOBS (2), GENERATOR (Ninja when available).
set -uo pipefail

cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-1000}
STEPS=${STEPS:-5000}
JOBS=${JOBS:-2}
MUTATIONS=("$@")
if [ ${#MUTATIONS[@]} -eq 0 ]; then
    MUTATIONS=(figure8 vote_no_log_check ack_before_durable vote_not_persisted truncate_committed
        reapply_after_restart stale_resp_updates_match prevote_bumps_term votes_not_reset
        match_from_next hs_waits_for_entries wal_skip_crc check_per_answer no_timeout_jitter
        stale_vote_counted batch_outputs_lost compact_past_applied propose_batch_index
        append_bytes_overshoot transfer_before_catchup transfer_keeps_proposing
        read_without_quorum config_on_commit change_before_term_commit joint_single_majority
        lease_stale_clock snapshot_drops_suffix proposal_done_early
        lease_after_timeout_now node_answer_before_write node_stale_answer_sent
        node_result_misrouted node_window_skips node_timer_pushed payload_reused_early
        payload_ticket_early snap_no_resend
        kv_follower_local_read snapshot_meta_no_config snapshot_now_early
        snapshot_now_at_commit read_always_more)
fi
GENERATOR=${GENERATOR:-}
if [ -z "$GENERATOR" ] && command -v ninja >/dev/null 2>&1; then
    GENERATOR=Ninja
fi

survivors=()
for m in "${MUTATIONS[@]}"; do
    dir="build-mut-$m"
    echo "== mutation $m: building craft-sim in $dir"
    mkdir -p "$dir"
    log="$dir/mutation_build.log"
    if [ -f "$dir/CMakeCache.txt" ] || [ -z "$GENERATOR" ]; then
        cmake -S . -B "$dir" -DCRAFT_MUTATION="$m" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1
    else
        cmake -S . -B "$dir" -G "$GENERATOR" -DCRAFT_MUTATION="$m" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1
    fi
    if [ $? -ne 0 ] || ! cmake --build "$dir" --target craft-sim >>"$log" 2>&1; then
        echo "mutation $m: BUILD FAILED (see $log)"
        survivors+=("$m(build)")
        continue
    fi
    out=$("$dir/bin/craft-sim" --seeds "$SEEDS" --steps "$STEPS" --stop-on-violation \
        --jobs "$JOBS" 2>&1)
    rc=$?
    summary=$(printf '%s\n' "$out" | grep '^seeds=' | tail -1)
    violations=$(printf '%s\n' "$summary" | sed -n 's/.*violations=\([0-9]*\).*/\1/p')
    caught=$(printf '%s\n' "$out" | sed -n 's/^VIOLATION seed=\([0-9]*\) invariant=\([a-z_]*\).*/seed \1: \2/p' \
        | tr '\n' ';')
    first=$(printf '%s\n' "$out" | sed -n 's/^first violating seed: //p')
    echo "$summary"
    if [ $rc -ne 0 ] && [ -n "$violations" ] && [ "$violations" -gt 0 ]; then
        echo "mutation $m: CAUGHT by ${caught:-?} (first violating seed: ${first:-?})"
        continue
    fi
    # Some bugs need a situation the swarm draws too rarely: the named scenarios aim at them.
    labs=$("$dir/bin/craft-sim" --lab all 2>&1)
    failed_labs=$(printf '%s\n' "$labs" | sed -n 's/^lab \([a-z0-9_]*\): \(FAIL\|VIOLATION\).*/\1/p' | tr '\n' ' ')
    if [ -n "$failed_labs" ]; then
        echo "mutation $m: CAUGHT by the lab scenarios: $failed_labs(the swarm: exit $rc)"
    else
        echo "mutation $m: SURVIVED (swarm exit $rc, every lab passed)"
        survivors+=("$m")
    fi
done

if [ ${#survivors[@]} -gt 0 ]; then
    echo "mutation check: FAIL, survived: ${survivors[*]}"
    exit 1
fi
echo "mutation check: PASS, all ${#MUTATIONS[@]} mutations caught"
