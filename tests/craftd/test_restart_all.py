#!/usr/bin/env python3
"""Kill all three nodes (SIGKILL, then a clean SIGTERM round) and restart them: every
acknowledged write is there, on every node."""

import harness
from harness import Cluster, log, redis_cli

N_KEYS = 300


def check_all(cl, want, counter):
    for n in cl.live():
        c = n.client(timeout=5)
        p = c.pipeline(transaction=False)
        for k in want:
            p.get(k)
        got = p.execute()
        bad = [(k, want[k], g) for k, g in zip(want, got) if g != want[k]]
        assert not bad, "node %d after restart: %d keys differ, e.g. %s" % (n.id, len(bad), bad[:3])
        assert c.get("counter") == str(counter), "node %d: counter %r, want %d" % (
            n.id, c.get("counter"), counter)
        c.close()
        # The same through redis-cli, the stock client.
        assert redis_cli(n, "GET", "k0") == want["k0"], "redis-cli GET k0 on node %d" % n.id


def test():
    with Cluster(3, "restart-all") as cl:
        leader = cl.start()
        c = leader.client()
        want = {}
        for i in range(N_KEYS):
            k, v = "k%d" % i, "value-%d" % i
            assert c.set(k, v) is True
            want[k] = v
        for i in range(50):
            assert c.incr("counter") == i + 1
        c.close()
        for how in ("SIGKILL", "SIGTERM"):
            for n in cl.nodes.values():
                n.kill() if how == "SIGKILL" else n.stop()
            log("all nodes stopped by %s; restarting" % how)
            leader = cl.start()
            cl.wait_ready()
            check_all(cl, want, 50)
            # The cluster still takes writes after the restart.
            c = leader.client()
            k = "after-" + how
            assert c.set(k, "yes") is True
            want[k] = "yes"
            c.close()
        check_all(cl, want, 50)


if __name__ == "__main__":
    harness.main(test)
