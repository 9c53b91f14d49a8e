#!/usr/bin/env python3
"""Transactions and entries on a real three-node craftd cluster, with redis-py:

- a MULTI mixing reads and writes is one log entry whose reads see the writes queued before
  them (SET k 1; INCR k; GET k gives OK, 2, "2", as Redis does), on the leader and through a
  follower (forwarded as MULTI ... EXEC); a MULTI of reads only makes no entry;
- INFO keyspace counts the live keys with an expiry (expires=), on the leader and a follower.

Log entries are counted from INFO raft's last_index on the leader, which nothing else moves
while the test writes (the leader's raft.advertise entries are in before the first write)."""

import harness
from harness import Cluster, log, wait_until


def last_index(node):
    return int(node.info_raft()["last_index"])


def entries_made(node, fn):
    """Runs fn(); returns (its result, the log entries the leader appended meanwhile)."""
    before = last_index(node)
    out = fn()
    return out, last_index(node) - before


def check_mixed_multi(leader, node, tag):
    """Transactions sent to node (the leader, or a follower that forwards them)."""
    c = node.client()
    k = "k-" + tag

    def mixed():
        p = c.pipeline(transaction=True)
        p.set(k, 1)
        p.incr(k)
        p.get(k)
        return p.execute()

    out, n = entries_made(leader, mixed)
    assert out == [True, 2, "2"], "%s: MULTI SET INCR GET gave %r" % (tag, out)
    assert n == 1, "%s: a mixed MULTI made %d log entries, not 1" % (tag, n)

    # Reads before and after the writes, and a failing command: its error only.
    p = c.pipeline(transaction=True)
    p.get(k)
    p.set(k, "x")
    p.incr(k)
    p.mget(k, "nope-" + tag)
    p.exists(k)
    p.delete(k)
    p.get(k)
    out = p.execute(raise_on_error=False)
    assert out[0] == "2" and out[1] is True and harness.is_error_reply(out[2]), out
    assert "not an integer" in str(out[2]), out
    assert out[3:] == [["x", None], 1, 1, None], "%s: %r" % (tag, out)

    # A MULTI of reads only goes through the read barrier: no entry.
    c.set(k, "r")

    def reads():
        p = c.pipeline(transaction=True)
        p.get(k)
        p.exists(k)
        return p.execute()

    out, n = entries_made(leader, reads)
    assert out == ["r", 1], "%s: a read-only MULTI gave %r" % (tag, out)
    assert n == 0, "%s: a read-only MULTI made %d log entries" % (tag, n)

    # A read of a key that expired: absent inside the entry (its store time is past the
    # expiry once the key reads as gone outside it, the leader's clock moving on).
    e = "e-" + tag
    assert c.set(e, "v", px=50) is True
    wait_until("%s to expire" % e, lambda: c.get(e) is None, 5)
    p = c.pipeline(transaction=True)
    p.get(e)
    p.exists(e)
    p.set(e, "again")
    p.get(e)
    out = p.execute()
    assert out == [None, 0, True, "again"], "%s: %r" % (tag, out)
    c.close()
    log("%s: mixed MULTI ok" % tag)


def keyspace(node):
    """INFO keyspace's db0 line as a dict (empty when there are no keys)."""
    c = node.client()
    try:
        return c.info("keyspace").get("db0", {})
    finally:
        c.close()


def check_info_expires(leader, follower):
    """INFO keyspace's expires: the live keys with an expiry, on every node."""
    c = leader.client()
    assert c.flushdb() is True
    assert keyspace(leader) == {}
    for i in range(5):
        assert c.set("x%d" % i, "v", ex=100) is True
    assert c.set("p", "v") is True
    assert c.set("gone", "v", px=30) is True
    assert c.persist("x4") is True
    wait_until("gone to expire", lambda: c.get("gone") is None, 5)
    # Every node reports the same once it has applied the writes (a stale read of the
    # figures): 6 keys live (x0-x4 and p), 4 with an expiry; "gone" is not counted either way.
    want = {"keys": 6, "expires": 4, "avg_ttl": 0}
    for n in (leader, follower):
        wait_until("node %d's keyspace to read %s" % (n.id, want),
                   lambda n=n: keyspace(n) == want, 5)
    assert c.set("x0", "plain") is True  # an overwrite drops the expiry
    assert c.expire("p", 100) is True
    assert c.delete("x1") == 1
    want = {"keys": 5, "expires": 3, "avg_ttl": 0}
    wait_until("the leader's keyspace to read %s" % want, lambda: keyspace(leader) == want, 5)
    assert c.flushdb() is True
    assert keyspace(leader) == {}
    c.close()
    log("INFO keyspace expires ok")


def test():
    with Cluster(3, "kvbatch") as cl:
        leader = cl.start()
        c = leader.client()
        assert c.set("warm", "1") is True
        follower = next(n for n in cl.live() if n is not leader)
        wait_until("node %d to know the leader's address" % follower.id,
                   lambda: follower.info_raft().get("leader_address"), 10)
        wait_until("the leader to have applied all it appended",
                   lambda: (lambda i: i["applied_index"] == i["last_index"])(leader.info_raft()),
                   10)
        check_mixed_multi(leader, leader, "leader")
        check_mixed_multi(leader, follower, "follower")
        check_info_expires(leader, follower)
        c.close()


if __name__ == "__main__":
    harness.main(test)
