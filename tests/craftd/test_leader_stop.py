#!/usr/bin/env python3
"""SIGSTOP the leader: once a new leader is elected and a new value written through it, no node
serves the old value to a linearizable GET, including a GET sent to the stopped leader while it
was stopped (answered after SIGCONT); after SIGCONT the old leader steps down."""

import harness
from harness import Cluster, Raw, log, resp_command, wait_until


def test():
    with Cluster(3, "leader-stop") as cl:
        old = cl.start()
        c = old.client()
        assert c.set("x", "old") is True
        # Every node has applied it before the fault, so each could serve "old" if it cheated.
        commit = int(old.info_raft()["commit_index"])
        for n in cl.live():
            wait_until("node %d to apply %d" % (n.id, commit),
                       lambda n=n: int(n.info_raft()["applied_index"]) >= commit, 10)
        c.close()
        old_term = cl.term_of(old)
        old.pause()
        # A GET that reaches the stopped leader's socket now and is answered after SIGCONT.
        pending = Raw(old.port)
        pending.send(resp_command("GET", "x"))
        others = [n for n in cl.nodes.values() if n is not old]
        new = cl.wait_leader(nodes=others, min_term=old_term + 1,
                             timeout=cl.failover_deadline_s())
        nc = new.client()
        assert nc.set("x", "new") is True
        nc.close()
        for n in others:
            v = n.client().get("x")
            assert v == "new", "node %d served %r after 'new' was acknowledged" % (n.id, v)
        old.resume()
        reply = pending.reply(timeout=10) or b""
        pending.close()
        log("the GET pending on the stopped leader got %r" % reply)
        assert b"old" not in reply, "the old leader served a stale read: %r" % reply
        assert reply == b"" or reply.startswith(b"-") or reply == b"$3\r\nnew", \
            "unexpected reply %r" % reply
        wait_until("node %d to step down" % old.id,
                   lambda: old.info_raft().get("role") != "leader", cl.failover_deadline_s())
        wait_until("node %d to follow node %d" % (old.id, new.id),
                   lambda: str(old.info_raft().get("leader_id")) == str(new.id), 10)
        v = old.client().get("x")
        assert v == "new", "the old leader serves %r after stepping down" % v


if __name__ == "__main__":
    harness.main(test)
