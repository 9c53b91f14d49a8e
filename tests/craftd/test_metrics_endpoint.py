#!/usr/bin/env python3
"""The Prometheus endpoint of a running cluster (--metrics-port): each node's role, term and
indexes agree with INFO raft, the leader exports each follower's lag and counts the writes it
committed, every node exports its disk I/O (WAL fsync histogram and bytes, snapshots saved and
received) with counts that rise with writes, and anything but GET /metrics gets its 4xx."""

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


# The node's I/O families and their types.
IO_FAMILIES = {
    "craftd_wal_fsync_duration_seconds": "histogram",
    "craftd_wal_written_bytes_total": "counter",
    "craftd_snapshot_save_duration_seconds": "histogram",
    "craftd_snapshot_fsync_duration_seconds": "histogram",
    "craftd_snapshots_saved_total": "counter",
    "craftd_snapshot_save_failures_total": "counter",
    "craftd_snapshot_size_bytes": "gauge",
    "craftd_snapshots_received_total": "counter",
    "craftd_snapshot_received_bytes_total": "counter",
    "craftd_snapshot_received_size_bytes": "gauge",
}

SNAPSHOT_EVERY = 10


def check_histogram(text, family):
    """Buckets in rising le order, counts never falling, +Inf last and equal to _count.
    Returns _count."""
    buckets = re.findall(r'^%s_bucket\{le="([^"]+)"\} (\S+)$' % re.escape(family), text, re.M)
    assert buckets, "no buckets of %s" % family
    assert buckets[-1][0] == "+Inf", buckets[-1]
    bounds = [float(le) for le, _ in buckets[:-1]]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), bounds
    counts = [float(c) for _, c in buckets]
    assert counts == sorted(counts), "%s buckets fall: %s" % (family, counts)
    count = sample(text, family + "_count")
    assert counts[-1] == count, (counts[-1], count)
    assert sample(text, family + "_sum") >= 0
    return count


def check_io(text):
    for family, kind in IO_FAMILIES.items():
        assert len(re.findall(r"^# TYPE %s %s$" % (family, kind), text, re.M)) == 1, family
    return {
        "fsyncs": check_histogram(text, "craftd_wal_fsync_duration_seconds"),
        "wal_bytes": sample(text, "craftd_wal_written_bytes_total"),
        "saves": check_histogram(text, "craftd_snapshot_save_duration_seconds"),
        "snapshot_fsyncs": check_histogram(text, "craftd_snapshot_fsync_duration_seconds"),
        "saved": sample(text, "craftd_snapshots_saved_total"),
        "size": sample(text, "craftd_snapshot_size_bytes"),
    }


def test():
    with Cluster(3, "metrics", metrics=True, snapshot_every=SNAPSHOT_EVERY) as cl:
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
            io = check_io(text)
            assert io["fsyncs"] >= 1 and io["wal_bytes"] > 0, io
            # 20 writes passed the snapshot points 10 and 20 (if the leader's first entry is
            # not among them, one of them): every node saved at least one.
            wait_until("node %d to count a snapshot" % n.id,
                       lambda n=n: check_io(scrape(n))["saved"] >= 1, 10)
            io = check_io(scrape(n))
            assert io["saves"] == io["saved"], io
            assert io["snapshot_fsyncs"] >= io["saved"], io
            assert io["size"] > 0, io
            log("node %d: role %s, metrics agree; %s" % (n.id, info["role"], io))
        # More writes: every node's WAL counts more fsyncs and bytes, never fewer.
        before = {n.id: check_io(scrape(n)) for n in cl.nodes.values()}
        c = leader.client()
        for i in range(20):
            assert c.set("more%d" % i, "y" * 100) is True
        c.close()
        commit = int(leader.info_raft()["commit_index"])
        for n in cl.nodes.values():
            wait_until("node %d to apply %d" % (n.id, commit),
                       lambda n=n: int(n.info_raft()["applied_index"]) >= commit, 10)
            after = check_io(scrape(n))
            b = before[n.id]
            assert after["fsyncs"] > b["fsyncs"], (b, after)
            assert after["wal_bytes"] >= b["wal_bytes"] + 20 * 100, (b, after)
            assert after["saved"] >= b["saved"], (b, after)
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
