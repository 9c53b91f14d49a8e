#!/usr/bin/env python3
"""Bad input over a real socket (one node, --max-bulk 1024): malformed RESP, an oversized bulk,
frames split byte by byte, a client gone mid-request, an unknown command, junk bytes. Each gets
Redis's error reply or a closed connection, and the server then serves other clients normally."""

import random
import socket

import harness
from harness import Cluster, Raw, log, redis_cli, resp_command

MAX_BULK = 1024


def error_then_close(node, data, want_prefix, what):
    r = Raw(node.port)
    r.send(data)
    line = r.line()
    log("%s -> %r" % (what, line))
    if line is not None:
        assert line.startswith(b"-"), "%s: answered %r, not an error" % (what, line)
        assert line.startswith(want_prefix), "%s: %r, want %r..." % (what, line, want_prefix)
        assert r.closed(), "%s: the connection stayed open after a protocol error" % what
    r.close()


def still_serves(node, tag):
    c = node.client()
    assert c.set("alive", tag) is True, "after %s the server does not take a SET" % tag
    assert c.get("alive") == tag
    c.close()
    assert node.alive(), "craftd exited after %s" % tag


def test():
    with Cluster(1, "bad-input", max_bulk=MAX_BULK) as cl:
        node = cl.start()
        still_serves(node, "start")

        error_then_close(node, b"*abc\r\n", b"-ERR Protocol error", "a bad multibulk count")
        still_serves(node, "bad count")
        error_then_close(node, b"*1\r\n+PING\r\n", b"-ERR Protocol error", "'+' for '$'")
        still_serves(node, "bad type")
        error_then_close(node, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (MAX_BULK * 100),
                         b"-ERR Protocol error", "a bulk over --max-bulk")
        still_serves(node, "oversized bulk")

        # The same bulk within the limit is fine.
        r = Raw(node.port)
        r.send(resp_command("SET", "big", "b" * MAX_BULK))
        assert r.line() == b"+OK"

        # Split frames: one byte per send, then two commands in one send.
        req = resp_command("SET", "split", "value")
        for i in range(len(req)):
            r.send(req[i:i + 1])
        assert r.line() == b"+OK"
        r.send(resp_command("GET", "split") + resp_command("PING"))
        assert r.line() == b"$5" and r.line() == b"value"
        assert r.line() == b"+PONG"

        # An unknown command and a wrong arity: errors, and the connection goes on.
        r.send(resp_command("FOOBARX", "a"))
        line = r.line()
        assert line.startswith(b"-ERR unknown command"), line
        r.send(resp_command("GET"))
        line = r.line()
        assert line.startswith(b"-ERR wrong number of arguments"), line
        r.send(resp_command("PING"))
        assert r.line() == b"+PONG"
        r.close()

        # A client that goes away in the middle of a request: nothing of it is applied.
        r = Raw(node.port)
        r.send(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc")
        r.close()
        still_serves(node, "a client gone mid-request")
        c = node.client()
        assert c.get("half") is None, "a half-sent SET was applied"
        c.close()

        # Junk: random bytes. An error or a close, never a hang or a crash.
        rng = random.Random(7)
        junk = bytes(rng.randrange(256) for _ in range(65536))
        r = Raw(node.port)
        try:
            r.send(b"\x00\xff" + junk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: fine
        line = r.line()
        assert line is None or line.startswith(b"-"), "junk answered %r" % line
        r.close()
        still_serves(node, "junk")

        # Many connections opened and dropped at once do not hurt either.
        socks = [socket.create_connection(("127.0.0.1", node.port), timeout=5) for _ in range(50)]
        for s in socks:
            s.close()
        still_serves(node, "50 dropped connections")
        assert redis_cli(node, "GET", "split") == "value"


if __name__ == "__main__":
    harness.main(test)
