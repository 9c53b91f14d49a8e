#!/usr/bin/env python3
"""A fourth node joins a young cluster (120 writes, --snapshot-every 50: every entry is still in
the leader's memory) and catches up from entries; it then serves the data and, as the log
grows, takes snapshots of its own like the other nodes."""

import harness
from harness import Cluster, log, wait_until
from test_join_snapshot import snapshots_in

SNAPSHOT_EVERY = 50


def test():
    with Cluster(3, "join-entries", snapshot_every=SNAPSHOT_EVERY) as cl:
        leader = cl.start()
        c = leader.client()
        for i in range(120):
            assert c.set("k%d" % i, "v%d" % i) is True
        n4 = cl.add_node_slot(4)
        n4.start(join="127.0.0.1:%d" % leader.port)
        cl.wait_ready([n4], timeout=20)
        commit = int(leader.info_raft()["commit_index"])
        wait_until("node 4 to apply index %d" % commit,
                   lambda: int(n4.info_raft().get("applied_index", 0)) >= commit, 30)
        lc = n4.client()
        assert lc.get("k7") == "v7"
        # More writes: every node, node 4 included, passes two more snapshot points.
        for i in range(2 * SNAPSHOT_EVERY + 10):
            assert c.set("more%d" % i, "x") is True
        c.close()
        commit = int(leader.info_raft()["commit_index"])
        assert lc.get("more0") == "x"
        lc.close()
        want = commit // SNAPSHOT_EVERY * SNAPSHOT_EVERY
        for n in cl.nodes.values():
            wait_until("node %d to hold the snapshot at %d (it has %s)" % (
                n.id, want, snapshots_in(n.dir)),
                lambda n=n: max(snapshots_in(n.dir) or [0]) >= want, 10)
        log("every node holds a snapshot at %d or later" % want)


if __name__ == "__main__":
    harness.main(test)
