"""A fault-injecting TCP proxy for the links between craftd peers, on loopback.

Each directed link a->b is one listening port: node a is told (in its --peers) that b lives
there, and the link forwards to b's real peer port. cut() closes the link's connections and
black-holes new ones (accepted, read and dropped: the dialer sees a connection over which
nothing arrives, as in a partition); heal() drops the black-holed ones so the nodes redial and
flow again. Blocking sockets, two pump threads per connection: a stalled receiver (SIGSTOP)
stalls only its own connection.

Why not network namespaces: they need root and change the host's network configuration;
this works for any user, on loopback only (127.0.0.1, or ::1 for a link that listens there), and
cuts one link or one direction precisely.
"""

import socket
import threading


def _close(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


class Link:
    def __init__(self, name, target, port=0, listen_host="127.0.0.1"):
        self.name = name
        self.target = target
        self.lock = threading.Lock()
        self.cut_now = False
        self.closed = False
        self.live = set()   # sockets of forwarded connections (both ends)
        self.held = set()   # black-holed connections (cut)
        self.n_accepted = 0
        family = socket.AF_INET6 if ":" in listen_host else socket.AF_INET
        self.lsock = socket.socket(family, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((listen_host, port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)  # lets the accept loop see close()
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, name="link " + name, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            with self.lock:
                self.n_accepted += 1
                if self.closed:
                    _close(c)
                    return
                if self.cut_now:
                    self.held.add(c)
                    threading.Thread(target=self._drain, args=(c,), daemon=True).start()
                    continue
            try:
                u = socket.create_connection(self.target, timeout=1.0)
                u.settimeout(None)
            except OSError:
                _close(c)  # the target is down: the dialer sees a refusal, as without a proxy
                continue
            with self.lock:
                if self.cut_now or self.closed:
                    _close(c)
                    _close(u)
                    continue
                self.live.update((c, u))
            threading.Thread(target=self._pump, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data or self.cut_now:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.live.discard(src)
                self.live.discard(dst)
            _close(src)
            _close(dst)

    def _drain(self, c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            with self.lock:
                self.held.discard(c)
            c.close()

    def cut(self):
        with self.lock:
            self.cut_now = True
            socks = list(self.live)
            self.live.clear()
        for s in socks:
            _close(s)

    def heal(self):
        with self.lock:
            self.cut_now = False
            socks = list(self.held)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)  # its drain thread closes it
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.cut()
        self.heal()
        self.lsock.close()
        self.thread.join(timeout=5)


class Hub:
    """The links of one cluster; close() ends them all."""

    def __init__(self):
        self.links = []

    def link(self, name, target, port=0, listen_host="127.0.0.1"):
        lk = Link(name, target, port, listen_host)
        self.links.append(lk)
        return lk

    def close(self):
        for lk in self.links:
            lk.close()
