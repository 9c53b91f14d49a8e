#!/usr/bin/env python3
"""The fault-injecting proxy the partition tests rely on (needs no craftd): a link forwards both
ways, cut() ends its connections and black-holes new ones, heal() lets new ones through again."""

import socket
import threading

import harness
import proxy


def echo_server():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=c: [c.sendall(d) for d in iter(lambda: c.recv(4096), b"")],
                             daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return ls


def roundtrip(port, data=b"hello", timeout=1.0):
    """The echo of data through the link, or None if nothing came back within timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(data)
        s.settimeout(timeout)
        try:
            return s.recv(100) or None
        except (socket.timeout, ConnectionResetError):
            return None
    finally:
        s.close()


def test():
    ls = echo_server()
    hub = proxy.Hub()
    try:
        link = hub.link("a->b", ls.getsockname())
        assert roundtrip(link.port) == b"hello"
        s = socket.create_connection(("127.0.0.1", link.port), timeout=2)
        s.sendall(b"x")
        assert s.recv(10) == b"x"
        link.cut()
        s.settimeout(2)
        try:
            got = s.recv(10)
        except ConnectionResetError:
            got = b""
        assert got == b"", "a connection survived the cut"
        s.close()
        assert roundtrip(link.port, timeout=0.5) is None, "data crossed a cut link"
        link.heal()
        harness.wait_until("the healed link to forward", lambda: roundtrip(link.port) == b"hello", 5)
    finally:
        hub.close()
        ls.close()


if __name__ == "__main__":
    harness.main(test)
