#!/usr/bin/env python3
"""A fourth node joins a cluster whose log was compacted (--snapshot-every 200, 1,500 pipelined
writes of data, then writes until the log is past 1,024 entries and RAFT.SNAPSHOT on the leader:
the leader keeps only the last 1,024 entries in memory, so the newcomer cannot catch up from
entries): it
receives a snapshot, then serves a READONLY stale read (eventually the data) and a
linearizable read (at once correct, including a write made after it joined).

Entries are counted from the leader's INFO raft (commit_index), not from the writes: craftd
puts a connection's pipelined writes into one entry when they arrive together, so a number of
writes makes anywhere from one entry per write down to one per pipeline."""

import harness
from harness import Cluster, log, snapshots_in, wait_until

N_KEYS = 1500
SNAPSHOT_EVERY = 200
LOG_TRAILING = 1024  # the node's default: entries a leader keeps in memory behind a snapshot
FILL_DEADLINE_S = 60


def test():
    with Cluster(3, "join", snapshot_every=SNAPSHOT_EVERY) as cl:
        leader = cl.start()
        c = leader.client()
        for i in range(0, N_KEYS, 100):
            p = c.pipeline(transaction=False)
            for j in range(i, i + 100):
                p.set("k%d" % j, "v%d" % j)
            assert all(r is True for r in p.execute())
        # Then writes until the log is past LOG_TRAILING entries (small pipelines of INCR:
        # whether each becomes one entry or several does not matter, the log is what is
        # counted), and a snapshot on request: threshold snapshots alone may stay below it (a
        # multiple of 200 reached while a save is still running is skipped).
        deadline = harness.time.monotonic() + FILL_DEADLINE_S
        writes = 0
        while int(leader.info_raft()["commit_index"]) <= LOG_TRAILING + 50:
            assert harness.time.monotonic() < deadline, \
                "the log did not pass %d entries in %d s (%d writes, commit index %s)" % (
                    LOG_TRAILING, FILL_DEADLINE_S, writes, leader.info_raft()["commit_index"])
            p = c.pipeline(transaction=False)
            for _ in range(5):
                p.incr("fill")
            writes += 5
            assert p.execute()[-1] == writes
        taken = c.execute_command("RAFT.SNAPSHOT")
        assert taken > LOG_TRAILING, "RAFT.SNAPSHOT answered %r" % taken
        assert max(snapshots_in(leader.dir)) >= taken
        commit = int(leader.info_raft()["commit_index"])
        log("%d + %d writes made %d entries" % (N_KEYS, writes, commit))
        log("leader commit %d, snapshots %s" % (commit, sorted(snapshots_in(leader.dir))))
        n4 = cl.add_node_slot(4)
        n4.start(join="127.0.0.1:%d" % leader.port)
        cl.wait_ready([n4], timeout=20)
        wait_until("node 4 to apply index %d" % commit,
                   lambda: int(n4.info_raft().get("applied_index", 0)) >= commit, 30)
        snaps = snapshots_in(n4.dir)
        log("node 4 holds snapshots %s" % snaps)
        assert snaps and max(snaps) > LOG_TRAILING, \
            "node 4 caught up without a snapshot (its snapshot files: %s)" % snaps
        # A stale read on node 4: eventually the data.
        s = n4.client()
        assert s.execute_command("READONLY") in (True, "OK")
        wait_until("a stale read on node 4 to see k0",
                   lambda: s.get("k0") == "v0", 10)
        assert s.get("k%d" % (N_KEYS - 1)) == "v%d" % (N_KEYS - 1)
        s.close()
        # A linearizable read through node 4 sees a write acknowledged just before it.
        assert c.set("after-join", "yes") is True
        lc = n4.client()
        assert lc.get("after-join") == "yes", "node 4 served a stale linearizable read"
        assert lc.get("k123") == "v123"
        lc.close()
        c.close()
        # Node 4 is a member now: the leader reports it.
        info = leader.info_raft()
        log("leader INFO raft after the join: %s" % info)


if __name__ == "__main__":
    harness.main(test)
