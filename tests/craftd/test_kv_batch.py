#!/usr/bin/env python3
"""Transactions and entries on a real three-node craftd cluster, with redis-py:

- a MULTI mixing reads and writes is one log entry whose reads see the writes queued before
  them (SET k 1; INCR k; GET k gives OK, 2, "2", as Redis does), on the leader and through a
  follower (forwarded as MULTI ... EXEC); a MULTI of reads only makes no entry;
- INFO keyspace counts the live keys with an expiry (expires=), on the leader and a follower;
- a connection's pipelined plain writes become far fewer entries than writes (the leader groups
  what one read brings, a follower's forwarded ones too), each request answered with exactly its
  own reply, in order, an error in one leaving the others alone, also while leadership moves
  and on a leader deposed while paused or cut off from its peers.

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


def check_pipelined_writes(leader, node, tag):
    """Plain writes pipelined on one connection to node (the leader, or a follower that forwards
    them one by one, the leader then grouping them): far fewer entries than writes, and each
    request gets exactly its own reply, in order, whatever the others' replies are."""
    c = node.client()
    assert c.set("%s-str" % tag, "abc") is True
    n = 200
    cmds, want, count = [], [], 0
    for i in range(n):
        key = "%s-p%d" % (tag, i)
        if i % 50 == 7:  # runs in the entry and fails there
            cmds.append(harness.resp_command("INCR", "%s-str" % tag))
            want.append(b"-ERR value is not an integer or out of range")
        elif i % 50 == 13:  # refused before any entry
            cmds.append(harness.resp_command("SET", key))
            want.append(b"-ERR wrong number of arguments for 'set' command")
        elif i % 50 == 21:
            cmds.append(harness.resp_command("SET", key, "v", "BADOPT"))
            want.append(b"-ERR syntax error")
        elif i % 50 == 33:
            cmds.append(harness.resp_command("GETSET", "%s-str" % tag, "abc"))
            want.append(b"$3\r\nabc")
        elif i % 3 == 0:
            count += 1
            cmds.append(harness.resp_command("INCR", "%s-n" % tag))
            want.append(b":%d" % count)
        else:
            cmds.append(harness.resp_command("SET", key, "v%d" % i))
            want.append(b"+OK")
    raw = harness.Raw(node.port)
    before = last_index(leader)
    raw.send(b"".join(cmds))
    got = [raw.reply() for _ in range(n)]
    made = last_index(leader) - before
    raw.close()
    bad = [(i, got[i], want[i]) for i in range(n) if got[i] != want[i]]
    assert not bad, "%s: pipelined replies differ (index, got, want): %r" % (tag, bad[:5])
    log("%s: %d pipelined writes made %d entries" % (tag, n, made))
    assert 1 <= made <= n // 4, "%s: %d pipelined writes made %d entries" % (tag, n, made)
    assert c.get("%s-p1" % tag) == "v1" and c.get("%s-n" % tag) == str(count)

    # redis-py's pipeline (no transaction): binary values whose bytes look like RESP, so only a
    # real RESP scan splits the entry's reply right.
    p = c.pipeline(transaction=False)
    tricky = "a\r\n:1\r\n$2\r\nb"
    p.set("%s-bin" % tag, tricky)
    p.getset("%s-bin" % tag, "y")
    p.append("%s-bin" % tag, "\r\n*3")
    p.incr("%s-str" % tag)
    p.delete("%s-p1" % tag, "%s-p2" % tag, "%s-none" % tag)
    p.expire("%s-p4" % tag, 100)
    p.set("%s-nx" % tag, "1", nx=True)
    p.set("%s-nx" % tag, "2", nx=True)
    p.mset({"%s-m1" % tag: "1", "%s-m2" % tag: "2"})
    out = p.execute(raise_on_error=False)
    assert out[:3] == [True, tricky, 5], "%s: %r" % (tag, out)
    assert harness.is_error_reply(out[3]), out
    assert out[4:] == [2, True, True, None, True], "%s: %r" % (tag, out)
    assert c.get("%s-bin" % tag) == "y\r\n*3"
    c.close()


def check_batches_across_transfer(cl, leader):
    """Pipelined INCRs on the leader while leadership moves (RAFT.TRANSFER): batches in flight
    are committed, refused (each then routed again on its own, here forwarded to the new
    leader) or lost with the old leadership (each told its outcome is unknown). Every request
    still gets exactly one reply of its own: an integer or a TRYAGAIN/NOQUORUM error, no
    integer twice, none past what the counter holds in the end."""
    term = int(leader.info_raft()["term"])
    raw = harness.Raw(leader.port)
    admin = leader.client(timeout=10.0)
    n = 400
    incr = harness.resp_command("INCR", "xfer")
    raw.send(incr * n)
    assert admin.execute_command("RAFT.TRANSFER") in (True, "OK")
    raw.send(incr * n)
    got = [raw.reply(timeout=10.0) for _ in range(2 * n)]
    raw.close()
    assert None not in got, "node %d closed the connection (did it crash?)" % leader.id
    admin.close()
    new = cl.wait_leader(min_term=term + 1, timeout=cl.failover_deadline_s())
    assert new is not leader, "RAFT.TRANSFER left node %d leading" % leader.id
    ints, errors = [], []
    for g in got:
        if g.startswith(b":"):
            ints.append(int(g[1:]))
        else:
            assert g.startswith(b"-TRYAGAIN") or g.startswith(b"-NOQUORUM"), g
            errors.append(g)
    kinds = sorted(set(e[:60] for e in errors))
    c = new.client()
    final = int(c.get("xfer"))
    c.close()
    log("across the transfer: %d INCRs answered with their value, %d with an error %s, "
        "counter %d" % (len(ints), len(errors), kinds, final))
    assert len(set(ints)) == len(ints), "a value was answered twice"
    assert ints and max(ints) <= final <= 2 * n and len(ints) <= final


def check_batches_on_a_deposed_leader(cl, leader):
    """A pipeline read by a leader that was deposed while it was paused (SIGSTOP): it may still
    take itself for the leader and group the writes, whose proposal the node then refuses or
    loses; each request is routed again on its own (forwarded to the new leader) or told its
    outcome is unknown. Every request gets exactly one reply of its own, no value twice."""
    term = int(leader.info_raft()["term"])
    others = [n for n in cl.live() if n is not leader]
    raw = harness.Raw(leader.port)
    assert raw.s.sendall(harness.resp_command("PING")) is None and raw.line() == b"+PONG"
    leader.pause()
    try:
        new = cl.wait_leader(nodes=others, min_term=term + 1, timeout=cl.failover_deadline_s())
        n = 300
        raw.send(harness.resp_command("INCR", "deposed") * n)  # waits in the socket buffer
    finally:
        leader.resume()
    got = [raw.reply(timeout=10.0) for _ in range(n)]
    raw.close()
    assert None not in got, "node %d closed the connection (did it crash?)" % leader.id
    ints = [int(g[1:]) for g in got if g.startswith(b":")]
    errors = [g for g in got if not g.startswith(b":")]
    assert all(e.startswith(b"-TRYAGAIN") or e.startswith(b"-NOQUORUM") for e in errors), \
        sorted(set(errors))[:3]
    c = new.client()
    final = int(c.get("deposed") or 0)
    c.close()
    log("a deposed leader's pipeline: %d INCRs answered with their value, %d with an error %s, "
        "counter %d" % (len(ints), len(errors), sorted(set(e[:50] for e in errors)), final))
    assert len(set(ints)) == len(ints), "a value was answered twice"
    assert (max(ints) if ints else 0) <= final <= n and len(ints) <= final


def check_batches_on_an_isolated_leader():
    """Pipelined writes to a leader cut off from its peers: its batches are appended and never
    commit. Each request gets its own error (NOQUORUM at its deadline, or TRYAGAIN once the
    node steps down), whichever comes first, and the outcome arriving later for an answered
    request is dropped; after healing, none of those writes is in the store."""
    with Cluster(3, "kvbatch-isolated", proxied=True) as cl:
        leader = cl.start()
        c = leader.client()
        assert c.set("iso", "0") is True
        raw = harness.Raw(leader.port)
        assert raw.s.sendall(harness.resp_command("PING")) is None and raw.line() == b"+PONG"
        cl.isolate(leader.id)
        n = 300
        raw.send(harness.resp_command("INCR", "iso") * n)
        got = [raw.reply(timeout=20.0) for _ in range(n)]
        raw.close()
        assert None not in got, "the isolated leader closed the connection (did it crash?)"
        kinds = sorted(set(g[:40] for g in got))
        log("an isolated leader's pipeline: %s" % kinds)
        assert all(g.startswith(b"-NOQUORUM") or g.startswith(b"-TRYAGAIN") for g in got), kinds
        cl.heal()
        new = cl.wait_leader(min_term=0, timeout=cl.failover_deadline_s())
        nc = new.client()
        # Whoever leads now, the isolated leader's entries did not commit: iso is still 0
        # (a linearizable read on the current leader).
        wait_until("the cluster to answer a read", lambda: nc.get("iso") is not None, 10)
        assert nc.get("iso") == "0", "writes answered with an error were applied: iso=%s" % (
            nc.get("iso"),)
        nc.close()
        c.close()


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
        check_pipelined_writes(leader, leader, "leader")
        check_pipelined_writes(leader, follower, "follower")
        check_batches_across_transfer(cl, leader)
        check_batches_on_a_deposed_leader(cl, cl.wait_leader())
        c.close()
    check_batches_on_an_isolated_leader()


if __name__ == "__main__":
    harness.main(test)
