#!/usr/bin/env python3
"""RAFT.SNAPSHOT takes a snapshot of the node it is sent to, now, in a cluster that takes none
on its own (--snapshot-every 0): on a follower that has applied some writes it answers the
snapshot's index, at least the writes' index; INFO raft's snapshot_index moves there and the
snapshot file is in its directory; restarted, the follower boots from it (snapshot_index at
once) and serves the data back. The leader answers too."""

import harness
from harness import Cluster, log, snapshots_in, wait_until

N_KEYS = 300


def test():
    with Cluster(3, "snapnow", snapshot_every=0) as cl:
        leader = cl.start()
        c = leader.client()
        for i in range(0, N_KEYS, 100):
            p = c.pipeline(transaction=False)
            for j in range(i, i + 100):
                p.set("k%d" % j, "v%d" % j)
            assert all(r is True for r in p.execute())
        # Every write is acknowledged, so committed at or below this index.
        writes = int(leader.info_raft()["commit_index"])
        f = next(n for n in cl.live() if n is not leader)
        wait_until("node %d to apply index %d" % (f.id, writes),
                   lambda: int(f.info_raft()["applied_index"]) >= writes, 15)
        before = int(f.info_raft()["snapshot_index"])
        assert before < writes, "node %d holds a snapshot at %d already" % (f.id, before)
        assert not snapshots_in(f.dir), "a snapshot without asking: %s" % snapshots_in(f.dir)

        fc = f.client(timeout=10.0)
        idx = fc.execute_command("RAFT.SNAPSHOT")
        log("RAFT.SNAPSHOT on node %d: %r (writes up to %d)" % (f.id, idx, writes))
        assert isinstance(idx, int) and idx >= writes, \
            "RAFT.SNAPSHOT answered %r, want an index >= %d" % (idx, writes)
        info = f.info_raft()
        assert int(info["snapshot_index"]) >= idx, "INFO raft after RAFT.SNAPSHOT: %s" % info
        assert idx in snapshots_in(f.dir), \
            "no snapshot file at %d in node %d's directory: %s" % (idx, f.id, snapshots_in(f.dir))
        # Again: the same snapshot, or a newer one if the node applied more meanwhile (a
        # leader's advertisement may commit at any time); never an older one.
        again = fc.execute_command("RAFT.SNAPSHOT")
        applied = int(f.info_raft()["applied_index"])
        assert isinstance(again, int) and idx <= again <= applied, \
            "a second RAFT.SNAPSHOT answered %r after %d (applied %d)" % (again, idx, applied)
        fc.close()

        lidx = c.execute_command("RAFT.SNAPSHOT")
        assert isinstance(lidx, int) and lidx >= writes, "the leader answered %r" % lidx
        assert int(leader.info_raft()["snapshot_index"]) >= lidx

        # Pipelined behind writes on the leader, it waits for them: they are in it.
        c0 = int(leader.info_raft()["commit_index"])
        p = c.pipeline(transaction=False)
        for _ in range(50):
            p.incr("behind")
        p.execute_command("RAFT.SNAPSHOT")
        out = p.execute()
        assert out[49] == 50, "the INCRs before RAFT.SNAPSHOT: %r" % out[:50]
        assert isinstance(out[50], int) and out[50] > c0, \
            "RAFT.SNAPSHOT behind 50 INCRs answered %r, the log was at %d before them" % (
                out[50], c0)

        # Restarted, the follower boots from its snapshot and has the data.
        f.stop()
        f.start()
        cl.wait_ready([f])
        info = f.info_raft()
        assert int(info["snapshot_index"]) >= idx, "node %d restarted without its snapshot: %s" \
            % (f.id, info)
        s = f.client()
        assert s.execute_command("READONLY") in (True, "OK")
        missing = [j for j in range(N_KEYS) if s.get("k%d" % j) != "v%d" % j]
        assert not missing, "node %d lost %d keys across the restart, e.g. k%d" \
            % (f.id, len(missing), missing[0])
        s.close()
        # And it follows on: a new write reaches it, read linearizably through it.
        assert c.set("after-restart", "yes") is True
        lc = f.client()
        assert lc.get("after-restart") == "yes"
        assert lc.get("k%d" % (N_KEYS - 1)) == "v%d" % (N_KEYS - 1)
        lc.close()
        c.close()


if __name__ == "__main__":
    harness.main(test)
