#!/usr/bin/env python3
"""Partition the leader into a minority of one (every peer link through a fault-injecting proxy,
all of its links cut): it acknowledges no write (errors or timeouts, never OK), the majority
elects a new leader and takes writes, and after healing the old leader steps down and none of
the writes it was sent took effect."""

import harness
from harness import Cluster, log, redis, wait_until

N_ISOLATED_WRITES = 5


def test():
    with Cluster(3, "partition", proxied=True) as cl:
        old = cl.start()
        c = old.client()
        assert c.set("before", "1") is True
        c.close()
        old_term = cl.term_of(old)
        cl.isolate(old.id)
        others = [n for n in cl.nodes.values() if n is not old]
        new = cl.wait_leader(nodes=others, min_term=old_term + 1,
                             timeout=cl.failover_deadline_s())
        # Writes sent to the isolated node: each must fail or time out.
        oc = old.client(timeout=cl.request_timeout_ms / 1000.0 + 3)
        outcomes = []
        for i in range(N_ISOLATED_WRITES):
            try:
                r = oc.set("iso%d" % i, "x")
                outcomes.append("OK" if r is True else repr(r))
            except redis.ResponseError as e:
                outcomes.append("-" + str(e))
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                outcomes.append(type(e).__name__)
                oc.close()
                oc = old.client(timeout=cl.request_timeout_ms / 1000.0 + 3)
        oc.close()
        log("writes to the isolated node: %s" % outcomes)
        assert "OK" not in outcomes, "the isolated leader acknowledged a write: %s" % outcomes
        nc = new.client()
        assert nc.set("majority", "yes") is True
        nc.close()
        cl.heal()
        wait_until("node %d to follow node %d" % (old.id, new.id),
                   lambda: (old.info_raft().get("role") != "leader"
                            and str(old.info_raft().get("leader_id")) == str(new.id)),
                   cl.failover_deadline_s() + 5)
        for n in cl.nodes.values():
            c = n.client(timeout=5)
            assert c.get("majority") == "yes", "node %d misses the majority's write" % n.id
            assert c.get("before") == "1"
            leaked = [k for k in ("iso%d" % i for i in range(N_ISOLATED_WRITES))
                      if c.get(k) is not None]
            assert not leaked, "node %d has writes sent to the isolated leader: %s" % (n.id, leaked)
            c.close()


if __name__ == "__main__":
    harness.main(test)
