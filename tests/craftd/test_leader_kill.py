#!/usr/bin/env python3
"""SIGKILL the leader under a write load, three rounds: a new leader is elected within two
election timeouts (+ ELECTION_SLACK_S), and every acknowledged SET and INCR is there afterwards."""

import random
import threading
import time

import harness
from harness import Cluster, log, redis, wait_until

ROUNDS = 3
WRITERS = 3
MAX_OPS_PER_WRITER = 3000  # bounds the load even if the rounds stall


class Writer(threading.Thread):
    def __init__(self, wid, cluster, stop):
        super().__init__(daemon=True)
        self.wid, self.cluster, self.stop = wid, cluster, stop
        self.acked = {}       # key -> value, acknowledged SETs
        self.incr_acked = 0   # INCRs answered with a value
        self.incr_tried = 0   # INCRs sent (each may have been applied)
        self.n_ok = 0
        self.error = None

    def run(self):
        rng = random.Random(self.wid)
        conns = {}
        try:
            for n in range(MAX_OPS_PER_WRITER):
                if self.stop.is_set():
                    break
                live = self.cluster.live()
                if not live:
                    continue
                node = rng.choice(live)
                c = conns.get(node.id) or node.client(timeout=3.0)
                conns[node.id] = c
                try:
                    if n % 4 == 3:
                        self.incr_tried += 1
                        v = c.incr("counter")
                        self.incr_acked += 1
                        assert v >= self.incr_acked
                    else:
                        key, val = "w%d-%d" % (self.wid, n), "v%d" % n
                        assert c.set(key, val) is True
                        self.acked[key] = val
                    self.n_ok += 1
                except redis.ResponseError:
                    pass  # an error reply is not an acknowledgement
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    conns.pop(node.id).close()
        except Exception as e:
            self.error = e
        finally:
            for c in conns.values():
                c.close()


def test():
    with Cluster(3, "leader-kill") as cl:
        leader = cl.start()
        stop = threading.Event()
        writers = [Writer(i, cl, stop) for i in range(WRITERS)]
        for w in writers:
            w.start()
        ok = lambda: sum(w.n_ok for w in writers)
        elections = []
        try:
            for r in range(ROUNDS):
                base = ok()
                wait_until("150 acknowledged writes before round %d" % (r + 1),
                           lambda: ok() >= base + 150, 20)
                old_term = cl.term_of(leader)
                t0 = time.monotonic()
                leader.kill()
                bound = cl.election_deadline_s()
                new = cl.wait_leader(min_term=old_term + 1, timeout=bound)
                took = time.monotonic() - t0
                elections.append(took)
                log("round %d: node %d killed in term %d; node %d leads after %.2f s (bound %.2f s)"
                    % (r + 1, leader.id, old_term, new.id, took, bound))
                assert new.id != leader.id
                leader.start()  # back with its data: the next round may kill another node
                cl.wait_ready([leader])
                leader = new
            base = ok()
            wait_until("writes after the last round", lambda: ok() >= base + 20, 20)
        finally:
            stop.set()
            for w in writers:
                w.join(30)
        for w in writers:
            assert not w.is_alive(), "writer %d is stuck" % w.wid
            if w.error:
                raise w.error
        leader = cl.wait_leader()
        acked = {}
        for w in writers:
            acked.update(w.acked)
        incr_acked = sum(w.incr_acked for w in writers)
        incr_tried = sum(w.incr_tried for w in writers)
        log("checking %d acknowledged SETs and %d acknowledged INCRs on every node"
            % (len(acked), incr_acked))
        assert len(acked) > 100, "too few writes were acknowledged to mean anything"
        for node in cl.live():
            c = node.client(timeout=5.0)
            keys = sorted(acked)
            for i in range(0, len(keys), 200):
                chunk = keys[i:i + 200]
                p = c.pipeline(transaction=False)
                for k in chunk:
                    p.get(k)
                got = p.execute()
                lost = [(k, acked[k], g) for k, g in zip(chunk, got) if g != acked[k]]
                assert not lost, "node %d lost acknowledged writes: %s" % (node.id, lost[:5])
            counter = int(c.get("counter") or 0)
            assert incr_acked <= counter <= incr_tried, (
                "node %d: counter %d, but %d INCRs were acknowledged and %d sent"
                % (node.id, counter, incr_acked, incr_tried))
            c.close()
        log("elections took %s s" % ", ".join("%.2f" % t for t in elections))


if __name__ == "__main__":
    harness.main(test)
