#!/usr/bin/env python3
"""--join takes the addresses --peers does: a fourth node joins through an IPv6 literal,
[::1]:PORT (a relay listening on ::1 in front of the leader's client port, as the cluster itself
listens on 127.0.0.1), and a fifth through a host name, localhost:PORT. Both are added, catch up
and serve the data. Skipped (exit 77) when this kernel has no IPv6 loopback."""

import socket
import sys

import harness
import proxy as proxy_mod
from harness import Cluster, log, wait_until


def ipv6_loopback():
    """None when ::1 can be bound, else why not."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as e:
        return "no IPv6 sockets: %s" % e
    try:
        s.bind(("::1", 0))
        return None
    except OSError as e:
        return "cannot bind [::1]: %s" % e
    finally:
        s.close()


def joined(cl, leader, n, commit):
    cl.wait_ready([n], timeout=20)
    wait_until("node %d to apply index %d" % (n.id, commit),
               lambda: int(n.info_raft().get("applied_index", 0)) >= commit, 30)
    c = n.client()
    assert c.get("k7") == "v7"
    c.close()


def test():
    why = ipv6_loopback()
    if why is not None:
        print("SKIP: %s" % why, flush=True)
        sys.exit(77)
    harness.require_craftd()
    hub = proxy_mod.Hub()
    try:
        with Cluster(3, "join-addr") as cl:
            leader = cl.start()
            c = leader.client()
            for i in range(20):
                assert c.set("k%d" % i, "v%d" % i) is True
            c.close()
            commit = int(leader.info_raft()["commit_index"])

            relay = hub.link("[::1] -> leader", ("127.0.0.1", leader.port),
                             listen_host="::1")
            n4 = cl.add_node_slot(4)
            n4.start(join="[::1]:%d" % relay.port)
            joined(cl, leader, n4, commit)
            assert relay.n_accepted >= 1, "the join did not come through [::1]"
            log("node 4 joined through [::1]:%d" % relay.port)

            n5 = cl.add_node_slot(5)
            n5.start(join="localhost:%d" % leader.port)
            joined(cl, leader, n5, commit)
            log("node 5 joined through localhost:%d" % leader.port)

            # Both are members: a write now reaches them.
            c = leader.client()
            assert c.set("after", "joins") is True
            c.close()
            commit = int(leader.info_raft()["commit_index"])
            for n in (n4, n5):
                wait_until("node %d to apply index %d" % (n.id, commit),
                           lambda n=n: int(n.info_raft().get("applied_index", 0)) >= commit,
                           30)
    finally:
        hub.close()


if __name__ == "__main__":
    harness.main(test)
