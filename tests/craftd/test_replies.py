#!/usr/bin/env python3
"""How craftd writes replies (conn.c: a connection's replies once per loop turn, with
uv_try_write, the rest as a queued write), on a real three-node cluster:

- pipelined GETs of a 512 KiB value, sent while the client reads nothing, fill the socket: the
  server writes part of a turn's replies at once and queues the rest (then stops reading, over
  its output bound); every reply arrives whole and in order, PINGs between them included;
- pipelined SETs ending with QUIT: every +OK, then QUIT's, then the connection closes (the close
  waits for the replies a turn's writer has not written yet)."""

import harness
from harness import Cluster, Raw, resp_command


def check_big_replies(leader):
    value = b"v" * (512 * 1024)
    c = leader.client()
    assert c.set("big", value.decode()) is True
    c.close()
    raw = Raw(leader.port)
    n = 40  # 20 MiB of replies: far past what the sockets hold
    raw.send(b"".join(resp_command("GET", "big") + resp_command("PING", "p%d" % i)
                      for i in range(n)))
    want = b"$%d\r\n%s" % (len(value), value)
    for i in range(n):
        got = raw.reply(timeout=20.0)
        assert got == want, "GET %d: a reply of %s bytes, not the value" % (
            i, None if got is None else len(got))
        got = raw.reply()
        assert got == b"$%d\r\np%d" % (len("p%d" % i), i), "PING %d: %r" % (i, got)
    raw.close()


def check_quit_after_pipeline(leader):
    raw = Raw(leader.port)
    n = 200
    raw.send(b"".join(resp_command("SET", "q%d" % i, str(i)) for i in range(n)) +
             resp_command("QUIT"))
    for i in range(n):
        got = raw.line()
        assert got == b"+OK", "SET %d: %r" % (i, got)
    assert raw.line() == b"+OK", "QUIT's reply"
    assert raw.closed(), "the connection stays open after QUIT"
    raw.close()
    c = leader.client()
    assert c.get("q%d" % (n - 1)) == str(n - 1)
    c.close()


def test():
    with Cluster(3, "replies") as cl:
        leader = cl.start()
        check_big_replies(leader)
        check_quit_after_pipeline(leader)


if __name__ == "__main__":
    harness.main(test)
