#!/usr/bin/env python3
"""A concurrent client history under faults, checked for linearizability: four clients do
GET/SET/APPEND/INCR on four keys against any node while the leader is killed and restarted,
stopped and resumed, and partitioned away and healed. The history (invoke and return times,
outcomes) goes to a file that craft-lincheck must find linearizable."""

import os
import threading

import harness
import workload
from harness import Cluster, log

CLIENTS = 4
MAX_OPS = 1500  # per client: bounds the history (and the checker's work)


def test():
    harness.require_craftd()
    assert workload.lincheck_path(), "craft-lincheck is not built (build/bin/craft-lincheck)"
    with Cluster(3, "history", proxied=True) as cl:
        leader = cl.start()
        history = workload.History()
        stop = threading.Event()
        clients = workload.run_clients(cl, history, CLIENTS, stop, MAX_OPS, timeout=3.0)
        try:
            bound = cl.failover_deadline_s()
            workload.wait_progress(clients, 100, 20, "before the faults")
            # 1: SIGKILL the leader, restart it.
            term = cl.term_of(leader)
            leader.kill()
            new = cl.wait_leader(min_term=term + 1, timeout=bound)
            leader.start()
            cl.wait_ready([leader])
            leader = new
            workload.wait_progress(clients, 100, 20, "after the kill")
            # 2: SIGSTOP the leader until another is elected, then SIGCONT.
            term = cl.term_of(leader)
            leader.pause()
            new = cl.wait_leader(nodes=[n for n in cl.nodes.values() if n is not leader],
                                 min_term=term + 1, timeout=bound)
            workload.wait_progress(clients, 50, 20, "while the old leader is stopped")
            leader.resume()
            leader = new
            workload.wait_progress(clients, 100, 20, "after SIGCONT")
            # 3: partition the leader away, heal.
            term = cl.term_of(leader)
            cl.isolate(leader.id)
            new = cl.wait_leader(nodes=[n for n in cl.nodes.values() if n is not leader],
                                 min_term=term + 1, timeout=bound)
            workload.wait_progress(clients, 50, 20, "during the partition")
            cl.heal()
            leader = cl.wait_leader(timeout=bound + 5)
            workload.wait_progress(clients, 100, 20, "after healing")
        finally:
            stop.set()
            workload.join_clients(clients)
        path = os.path.join(cl.dir, "history.txt")
        n = history.write(path)
        keep = os.path.join(os.getcwd(), "craftd_history.txt")
        history.write(keep)  # left for a reader in the test's working directory
        unknown = sum(c.n_unknown for c in clients)
        log("history: %d operations (%d writes with unknown outcome), in %s" % (n, unknown, keep))
        status, out = workload.check_history(path)
        log("craft-lincheck: %s" % out.strip())
        assert status == 0, "craft-lincheck exit %d (1: not linearizable, 2: search bound hit):\n%s" % (
            status, out)


if __name__ == "__main__":
    harness.main(test)
