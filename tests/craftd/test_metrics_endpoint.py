#!/usr/bin/env python3
"""The Prometheus endpoint of a running cluster (--metrics-port): each node's role, term and
indexes agree with INFO raft, the leader exports each follower's lag and counts the writes it
committed, and anything but GET /metrics gets its 4xx."""

import re
import socket
import urllib.error
import urllib.request

import harness
from harness import Cluster, log, wait_until


def scrape(node):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % node.metrics_port,
                                timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def sample(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    assert m, "no sample %s in:\n%s" % (name, text[:2000])
    return float(m.group(1))


def test():
    with Cluster(3, "metrics", metrics=True) as cl:
        leader = cl.start()
        c = leader.client()
        for i in range(20):
            assert c.set("m%d" % i, "x") is True
        c.close()
        commit = int(leader.info_raft()["commit_index"])
        for n in cl.nodes.values():
            wait_until("node %d to apply %d" % (n.id, commit),
                       lambda n=n: int(n.info_raft()["applied_index"]) >= commit, 10)
        for n in cl.nodes.values():
            text = scrape(n)
            info = n.info_raft()
            is_leader = info["role"] == "leader"
            assert sample(text, 'craftd_role{role="leader"}') == (1 if is_leader else 0)
            assert sample(text, "craftd_term") == int(info["term"])
            assert sample(text, "craftd_applied_index") >= commit
            if is_leader:
                assert sample(text, 'craftd_proposals_total{outcome="ok"}') >= 20
                assert sample(text, "craftd_commit_latency_seconds_count") >= 20
                for f in cl.nodes:
                    if f != n.id:
                        wait_until("the leader's lag of node %d to reach 0" % f,
                                   lambda f=f: sample(scrape(n), 'craftd_peer_lag{peer="%d"}' % f)
                                   == 0, 10)
            log("node %d: role %s, metrics agree" % (n.id, info["role"]))
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/nope" % leader.metrics_port, timeout=5)
            raise AssertionError("GET /nope was answered 200")
        except urllib.error.HTTPError as e:
            assert e.code == 404, e.code
        s = socket.create_connection(("127.0.0.1", leader.metrics_port), timeout=5)
        s.sendall(b"\x16\x03\x01junk\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400 ")
        s.close()
        assert scrape(leader)  # still serving


if __name__ == "__main__":
    harness.main(test)
