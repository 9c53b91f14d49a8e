"""Client workloads for the craftd process tests: client threads that record every operation
(invoke and return times, outcome) in the text format of craft-lincheck (tests/lin/lincheck.h),
and the check of such a history with that CLI.

History file format (one operation per line; see tests/lin/lincheck.h for the full grammar):

    CLIENT INVOKE RETURN KEY CMD [ARG] OUTPUT

times in nanoseconds of this process's monotonic clock, RETURN '?' when no answer came;
CMD get|set|append|incr; OUTPUT ok | nil | =VALUE | :N | err | ? (unknown outcome).

What counts as what: an answer is the outcome; a timeout, a dropped connection or an error
reply to a write is '?' (the write may have been applied: a forwarded write can commit after
its leader stopped answering); a read without an answer is left out (it changed nothing).
"""

import os
import random
import subprocess
import threading
import time

from harness import redis, log


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.lines = []

    def add(self, client, invoke, ret, key, cmd, arg, out):
        parts = [str(client), str(invoke), "?" if ret is None else str(ret), key, cmd]
        if arg is not None:
            parts.append(arg)
        parts.append(out)
        with self.lock:
            self.lines.append(" ".join(parts))

    def write(self, path):
        with self.lock:
            lines = list(self.lines)
        with open(path, "w") as f:
            f.write("# craftd process-test history: CLIENT INVOKE RETURN KEY CMD [ARG] OUTPUT\n")
            for line in lines:
                f.write(line + "\n")
        return len(lines)


def lincheck_path():
    p = os.environ.get("CRAFT_LINCHECK") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin", "craft-lincheck")
    return p if os.access(p, os.X_OK) else None


def check_history(path, timeout=120):
    """Runs craft-lincheck on the history; returns (exit status, its output)."""
    exe = lincheck_path()
    assert exe, "craft-lincheck is not built (build/bin/craft-lincheck)"
    r = subprocess.run([exe, path], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


class Client(threading.Thread):
    """One client: operations from `choose` against a node picked by `pick_node`, one at a
    time, until stop is set or max_ops were tried. Records each in history."""

    def __init__(self, cid, cluster, history, stop, keys, max_ops=2000, timeout=3.0, seed=None):
        super().__init__(name="client %d" % cid, daemon=True)
        self.cid = cid
        self.cluster = cluster
        self.history = history
        self.stop = stop
        self.keys = keys  # {"r": [...], "a": [...], "c": [...]}
        self.max_ops = max_ops
        self.timeout = timeout
        self.rng = random.Random(seed if seed is not None else cid)
        self.conns = {}
        self.n_ok = 0
        self.n_tried = 0
        self.n_unknown = 0
        self.error = None

    def conn(self, node):
        c = self.conns.get(node.id)
        if c is None:
            c = node.client(timeout=self.timeout)
            self.conns[node.id] = c
        return c

    def drop(self, node):
        c = self.conns.pop(node.id, None)
        if c is not None:
            c.close()

    def one(self, n):
        live = self.cluster.live()
        if not live:
            return
        node = self.rng.choice(live)
        kind = self.rng.choice("rrac")
        key = self.rng.choice(self.keys[kind])
        read = self.rng.random() < 0.4
        if read:
            cmd, arg, args = "get", None, ("GET", key)
        elif kind == "r":
            arg = "v%d.%d" % (self.cid, n)
            cmd, args = "set", ("SET", key, arg)
        elif kind == "a":
            arg = "%d.%d;" % (self.cid, n)
            cmd, args = "append", ("APPEND", key, arg)
        else:
            cmd, arg, args = "incr", None, ("INCR", key)
        invoke = time.monotonic_ns()
        try:
            v = self.conn(node).execute_command(*args)
        except redis.ResponseError as e:
            ret = time.monotonic_ns()
            if cmd == "incr" and "not an integer" in str(e):
                self.history.add(self.cid, invoke, ret, key, cmd, arg, "err")
                self.n_ok += 1
            elif not read:
                self.history.add(self.cid, invoke, None, key, cmd, arg, "?")
                self.n_unknown += 1
            return
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            self.drop(node)
            if not read:
                self.history.add(self.cid, invoke, None, key, cmd, arg, "?")
                self.n_unknown += 1
            return
        ret = time.monotonic_ns()
        self.n_ok += 1
        if cmd == "get":
            out = "nil" if v is None else "=" + v
        elif cmd == "set":
            assert v is True or v == "OK", "SET answered %r" % (v,)
            out = "ok"
        else:
            out = ":%d" % int(v)
        self.history.add(self.cid, invoke, ret, key, cmd, arg, out)

    def run(self):
        try:
            n = 0
            while not self.stop.is_set() and n < self.max_ops:
                n += 1
                self.n_tried = n
                self.one(n)
        except Exception as e:  # reported by the test's join
            self.error = e
        finally:
            for c in self.conns.values():
                c.close()


def default_keys():
    return {"r": ["r0", "r1"], "a": ["a0"], "c": ["c0"]}


def run_clients(cluster, history, n_clients, stop, max_ops, timeout=3.0, keys=None):
    clients = [Client(i + 1, cluster, history, stop, keys or default_keys(), max_ops=max_ops,
                      timeout=timeout) for i in range(n_clients)]
    for c in clients:
        c.start()
    return clients


def join_clients(clients, timeout=60):
    for c in clients:
        c.join(timeout)
        assert not c.is_alive(), "client %d did not stop within %d s" % (c.cid, timeout)
        if c.error:
            raise c.error


def total_ok(clients):
    return sum(c.n_ok for c in clients)


def wait_progress(clients, more, timeout, what="client progress"):
    """Waits until the clients have had `more` further answered operations."""
    from harness import wait_until
    base = total_ok(clients)
    wait_until("%s (%d more answered operations)" % (what, more),
               lambda: total_ok(clients) >= base + more, timeout)
    log("%s: %d answered so far" % (what, total_ok(clients)))
