"""Process-test harness for craftd: real craftd processes on loopback ports in a temporary
directory, real Redis clients (redis-py), faults by signal (SIGKILL, SIGSTOP/SIGCONT) and by a
fault-injecting TCP proxy between the peers (see proxy.py).

Rules it keeps: every wait polls a condition against a deadline (no sleep stands in for
synchronisation); only processes it started are signalled, by PID; everything it started is
stopped and its directory removed when the cluster is closed (with-statement, or atexit).
"""

import atexit
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import redis
except ImportError:  # Debian's python3-redis lives here; a pyenv python3 does not see it
    sys.path.append("/usr/lib/python3/dist-packages")
    import redis

import proxy as proxy_mod

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests

ELECTION_MS = 300
HEARTBEAT_MS = 50
REQUEST_TIMEOUT_MS = 1500
# A leader is due within two election timeouts of losing the old one (timeouts are drawn from
# [t, 2t)); the slack covers pre-vote and vote round trips and scheduling on a loaded machine.
ELECTION_SLACK_S = 2.0


def craftd_path():
    return os.environ.get("CRAFTD") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin", "craftd")


def require_craftd():
    """Exits with SKIP and a clear message when build/bin/craftd is not built yet."""
    path = craftd_path()
    if not os.access(path, os.X_OK):
        print("SKIP: craftd is not built (%s does not exist yet)" % path)
        sys.exit(SKIP)
    return path


def snapshots_in(d):
    """Indexes of the snapshot files under d (snapshot-<group>-<index>-<term>.snap, hex)."""
    out = []
    for _, _, files in os.walk(d):
        for f in files:
            m = re.match(r"snapshot-([0-9a-f]{16})-([0-9a-f]{16})-([0-9a-f]{16})\.snap$", f)
            if m:
                out.append(int(m.group(2), 16))
    return out


def log(msg):
    print("[%8.3f] %s" % (time.monotonic() % 100000, msg), flush=True)


def wait_until(what, cond, timeout, interval=0.02):
    """Polls cond() until it returns a true value, which it returns; fails after timeout s."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except (redis.RedisError, OSError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s%s" % (
                timeout, what, " (last error: %r)" % last_exc if last_exc else ""))
        time.sleep(interval)  # the polling interval, not a synchronisation


# Ports for the nodes and proxies come from below the kernel's ephemeral range (32768 and up on
# Linux): a port picked there could be taken, before the node binds it, as the local end of some
# process's outgoing connection (our nodes dial each other all the time).
PORT_MIN, PORT_MAX = 20000, 32000
_rng = random.Random()


def free_ports(n, taken=None):
    """n distinct loopback ports, each free (bindable) a moment ago and not in `taken` (a set
    of ports handed out but maybe not bound yet, which this adds them to)."""
    ports = []
    taken = taken if taken is not None else set()
    for _ in range(200 * n):
        if len(ports) == n:
            break
        p = _rng.randrange(PORT_MIN, PORT_MAX)
        if p in ports or p in taken:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            ports.append(p)
        except OSError:
            pass
        finally:
            s.close()
    assert len(ports) == n, "no %d free ports in [%d, %d)" % (n, PORT_MIN, PORT_MAX)
    taken.update(ports)
    return ports


def is_error_reply(e):
    return isinstance(e, redis.ResponseError)


class Node:
    def __init__(self, cluster, nid, port, peer_port, metrics_port):
        self.cluster = cluster
        self.id = nid
        self.port = port
        self.peer_port = peer_port
        self.metrics_port = metrics_port
        self.dir = os.path.join(cluster.dir, "n%d" % nid)
        self.log_path = os.path.join(cluster.dir, "n%d.log" % nid)
        self.proc = None
        self.stopped = False  # SIGSTOPped by us
        self.extra_args = []

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def args(self, peers, join=None):
        c = self.cluster
        a = [c.craftd, "--id", str(self.id), "--bind", "127.0.0.1", "--port", str(self.port),
             "--peer-port", str(self.peer_port), "--dir", self.dir, "--peers", peers,
             "--cluster-id", str(c.cluster_id), "--election-timeout-ms", str(c.election_ms),
             "--heartbeat-ms", str(c.heartbeat_ms),
             "--request-timeout-ms", str(c.request_timeout_ms)]
        if c.snapshot_every is not None:
            a += ["--snapshot-every", str(c.snapshot_every)]
        if c.max_bulk is not None:
            a += ["--max-bulk", str(c.max_bulk)]
        if self.metrics_port:
            a += ["--metrics-port", str(self.metrics_port)]
        if join:
            a += ["--join", join]
        return a + self.extra_args

    def start(self, join=None):
        assert not self.alive()
        os.makedirs(self.dir, exist_ok=True)
        out = open(self.log_path, "ab")
        out.write(b"\n==== start %s\n" % time.strftime("%H:%M:%S").encode())
        out.flush()
        argv = self.args(self.cluster.peers_arg(self.id), join=join)
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        self.stopped = False
        log("started node %d pid %d port %d" % (self.id, self.proc.pid, self.port))

    def signal(self, sig):
        assert self.alive(), "node %d is not running" % self.id
        os.kill(self.proc.pid, sig)

    def kill(self):
        """SIGKILL, then reaps it."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            log("killed node %d" % self.id)
        self.stopped = False

    def stop(self):
        """SIGTERM (SIGCONT first if stopped), then SIGKILL if it is not gone in 5 s."""
        if not self.alive():
            return
        if self.stopped:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.stopped = False
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log("node %d ignored SIGTERM for 5 s: SIGKILL" % self.id)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.stopped = True
        log("SIGSTOP node %d" % self.id)

    def resume(self):
        self.signal(signal.SIGCONT)
        self.stopped = False
        log("SIGCONT node %d" % self.id)

    def client(self, timeout=2.0, **kw):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout,
                           socket_connect_timeout=min(timeout, 1.0), decode_responses=True, **kw)

    def info_raft(self, timeout=0.5):
        c = self.client(timeout=timeout)
        try:
            return c.info("raft")
        finally:
            c.close()

    def ping(self, timeout=0.5):
        c = self.client(timeout=timeout)
        try:
            return c.ping()
        finally:
            c.close()

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"


class Cluster:
    """n craftd nodes (ids 1..n) on loopback. With proxied=True every node reaches each peer
    through its own proxy link (proxy.py), so links can be cut one way or both."""

    def __init__(self, n=3, name="craftd", proxied=False, snapshot_every=None, max_bulk=None,
                 election_ms=ELECTION_MS, heartbeat_ms=HEARTBEAT_MS,
                 request_timeout_ms=REQUEST_TIMEOUT_MS, metrics=False):
        self.craftd = require_craftd()
        self.dir = tempfile.mkdtemp(prefix="craftd-%s-" % name)
        self.cluster_id = random.randint(1, 2**31)
        self.election_ms = election_ms
        self.heartbeat_ms = heartbeat_ms
        self.request_timeout_ms = request_timeout_ms
        self.snapshot_every = snapshot_every
        self.max_bulk = max_bulk
        self.nodes = {}
        self.ports = set()  # every port handed out to this cluster's nodes and proxies
        self.voters = list(range(1, n + 1))
        self.proxies = {}  # (from, to) -> proxy_mod.Link
        self.proxied = proxied
        self.metrics = metrics
        self.closed = False
        for i in self.voters:
            self.add_node_slot(i)
        if proxied:
            self.proxy_hub = proxy_mod.Hub()
            links = [(i, j) for i in self.voters for j in self.voters if i != j]
            for (i, j), port in zip(links, free_ports(len(links), self.ports)):
                self.proxies[(i, j)] = self.proxy_hub.link(
                    "%d->%d" % (i, j), ("127.0.0.1", self.nodes[j].peer_port), port)
        else:
            self.proxy_hub = None
        atexit.register(self.close)

    def add_node_slot(self, nid):
        ports = free_ports(3, self.ports)
        self.nodes[nid] = Node(self, nid, ports[0], ports[1], ports[2] if self.metrics else 0)
        return self.nodes[nid]

    def peers_arg(self, me):
        """The --peers list node `me` is given: itself at its own peer port, every other voter
        at its own port, or at the proxy of the link me->j."""
        parts = []
        for j in sorted(set(self.voters) | {me}):
            if j == me or not self.proxied:
                port = self.nodes[j].peer_port
            else:
                port = self.proxies[(me, j)].port
            parts.append("%d@127.0.0.1:%d" % (j, port))
        return ",".join(parts)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not issubclass(exc_type, SystemExit):
            self.dump_logs()
        self.close()
        return False

    def dump_logs(self):
        for n in self.nodes.values():
            print("---- node %d log (%s), last lines:\n%s" % (n.id, n.log_path, n.log_tail()),
                  flush=True)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for n in self.nodes.values():
            try:
                n.stop()
            except Exception as e:  # keep stopping the others
                print("stopping node %d: %r" % (n.id, e))
        if self.proxy_hub:
            self.proxy_hub.close()
        if os.environ.get("CRAFTD_KEEP"):
            print("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout=15):
        for i in self.voters:
            self.nodes[i].start()
        self.wait_ready(timeout=timeout)
        return self.wait_leader(timeout=timeout)

    def live(self):
        return [n for n in self.nodes.values() if n.alive() and not n.stopped]

    def wait_ready(self, nodes=None, timeout=15):
        for n in nodes or self.live():
            wait_until("node %d to answer PING" % n.id,
                       lambda n=n: self._check_alive(n) and n.ping(), timeout)

    def _check_alive(self, n):
        if not n.alive():
            raise AssertionError("node %d exited with %s:\n%s" % (
                n.id, n.proc.returncode, n.log_tail()))
        return True

    def roles(self, nodes=None):
        """{id: info dict or None} for the given (default: live) nodes."""
        out = {}
        for n in nodes or self.live():
            try:
                out[n.id] = n.info_raft()
            except (redis.RedisError, OSError):
                out[n.id] = None
        return out

    def leader_now(self, nodes=None, min_term=0):
        """The node that is leader with a term >= min_term, agreed by a majority of the voters
        (the leader itself included), else None."""
        infos = self.roles(nodes)
        leaders = [(i, inf) for i, inf in infos.items()
                   if inf and inf.get("role") == "leader" and int(inf.get("term", 0)) >= min_term]
        if not leaders:
            return None
        lid, linfo = max(leaders, key=lambda x: int(x[1]["term"]))
        agree = sum(1 for inf in infos.values()
                    if inf and str(inf.get("leader_id")) == str(lid)
                    and int(inf.get("term", 0)) == int(linfo["term"]))
        if agree < len(self.voters) // 2 + 1:
            return None
        return self.nodes[lid]

    def wait_leader(self, nodes=None, min_term=0, timeout=15):
        try:
            n = wait_until("a leader (term >= %d)" % min_term,
                           lambda: self.leader_now(nodes, min_term), timeout)
        except AssertionError as e:
            raise AssertionError("%s; the nodes then: %s" % (e, self.roles_summary(nodes)))
        log("leader is node %d" % n.id)
        return n

    def roles_summary(self, nodes=None):
        parts = []
        for i, inf in sorted(self.roles(nodes).items()):
            parts.append("node %d: %s" % (i, "no answer" if inf is None else "%s term %s leader %s" % (
                inf.get("role"), inf.get("term"), inf.get("leader_id"))))
        return "; ".join(parts)

    def failover_deadline_s(self):
        """For waits whose speed is not what the test checks: generous, so load cannot fail
        them (the leader-kill test holds elections to election_deadline_s)."""
        return 10 * self.election_ms / 1000.0 + 5

    def term_of(self, node):
        return int(node.info_raft()["term"])

    def election_deadline_s(self):
        return 2 * self.election_ms / 1000.0 + ELECTION_SLACK_S

    # --- faults ------------------------------------------------------------------------------

    def isolate(self, nid):
        """Cuts every link to and from node nid (proxied clusters only)."""
        assert self.proxied
        for (a, b), link in self.proxies.items():
            if nid in (a, b):
                link.cut()
        log("isolated node %d" % nid)

    def heal(self):
        for link in self.proxies.values():
            link.heal()
        log("healed every link")


class Raw:
    """A plain socket to craftd, for bytes no Redis client would send."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def reply(self, timeout=5.0):
        """One reply: its first line, and for a bulk string its body too (b"$3\\r\\nnew"); None
        when the server closed the connection."""
        first = self.line(timeout)
        if first is None or not first.startswith(b"$") or first == b"$-1":
            return first
        body = self.line(timeout)
        return None if body is None else first + b"\r\n" + body

    def send(self, data):
        self.s.sendall(data)

    def line(self, timeout=5.0):
        """The next reply line (without CRLF), or None when the server closed the connection."""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no reply within %.1f s (have %r)" % (timeout, self.buf)
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                continue
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def closed(self, timeout=5.0):
        """True once the server has closed the connection (fails if it stays open)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "the server kept the connection open"
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except ConnectionResetError:
                return True
            except socket.timeout:
                continue
            if not data:
                return True

    def close(self):
        self.s.close()


def resp_command(*args):
    """One request in RESP's multibulk form."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def redis_cli(node, *args, timeout=5.0):
    """Runs redis-cli (Debian's redis-tools) against node; returns its output, stripped."""
    exe = shutil.which("redis-cli")
    assert exe, "redis-cli is not installed (Debian's redis-tools: run make deps)"
    r = subprocess.run([exe, "-h", "127.0.0.1", "-p", str(node.port)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    return r.stdout.strip()


def main(test_fn):
    """Runs a test function as a script: exit 0 on success, 1 with the failure printed."""
    start = time.monotonic()
    try:
        test_fn()
    except AssertionError as e:
        print("FAIL: %s" % e, flush=True)
        sys.exit(1)
    print("PASS (%.1f s)" % (time.monotonic() - start), flush=True)
    sys.exit(0)
