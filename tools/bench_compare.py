#!/usr/bin/env python3
"""make bench: craftd beside redis and etcd on this machine, in one run, on one disk (issue 14).

Runs, each bounded in count and time:
  1. a 3-node craftd (real WAL, fsync on) under redis-benchmark: SET and GET, 64-byte values,
     50 clients with pipeline 1 and 16, one client with pipeline 1;
  2. the same against one redis-server with appendonly yes + appendfsync always, then with no
     persistence;
  3. a 3-member etcd cluster through its v3 JSON gateway, loaded with wrk at 128 connections and at
     one, 64-byte values;
  4. the fdatasync rate and the loopback round trip (craft-bench limits);
each workload on every system in turn, twice (the order reversed the second time), the best
run of each figure kept; then prints one table and every figure as '<name> <value> <unit>', and writes docs/benchmarks.md
and docs/benchmarks.png. Every process it starts runs on 127.0.0.1, on free ports, with its data in
one temp directory, and is stopped by its pid when the run ends, however it ends.
"""
import argparse
import atexit
import base64
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUDGET_S = 560  # the whole run, start to last process stopped (issue 14: under 10 minutes)
VALUE_BYTES = 64
KEYSPACE = 100000  # redis-benchmark -r: random keys key:000000000000 .. key:000000099999
WRK_SECONDS = 10
START_S = 30  # a server must answer within this
# (name, test, clients, pipeline, requests): sized so each takes seconds here.
REDIS_RUNS = [
    ("set_c50", "set", 50, 1, 100000),
    ("set_p16", "set", 50, 16, 400000),
    ("set_c1", "set", 1, 1, 10000),
    ("get_c50", "get", 50, 1, 100000),
    ("get_p16", "get", 50, 16, 400000),
    ("get_c1", "get", 1, 1, 10000),
]
# (name, connections, threads); etcd's figures sit beside craftd's SET at 50 clients and at one.
WRK_RUNS = [("put_c128", 128, 2), ("put_c1", 1, 1)]
ETCD_PEER = {"put_c128": "set_c50", "put_c1": "set_c1"}
SYSTEMS = ["craftd", "redis_always", "redis_none", "etcd"]
# Issue 14's targets: (ratio name, bound, "min" if the ratio must reach it, "max" if stay under).
TARGETS = [
    ("bench.set_c50.vs_etcd", 5.0, "min"),
    ("bench.set_c50.vs_redis_always", 0.75, "min"),
    ("bench.set_p16.vs_redis_always", 0.5, "min"),
    ("bench.set_c1_p50.vs_redis_always", 2.0, "max"),
    ("bench.get_c50.vs_redis_none", 0.8, "min"),
]


# ---------------------------------------------------------------------------------------------
# Parsers (tools/test_bench_compare.py runs them on canned output).

def parse_redis_benchmark_csv(text):
    """redis-benchmark --csv (7.x) -> {test: {"rps", "p50_us", "p99_us"}}."""
    out = {}
    header = None
    for line in text.splitlines():
        cells = [c.strip().strip('"') for c in line.strip().split(",")]
        if len(cells) < 2:
            continue
        if cells[0] == "test":
            header = cells
            continue
        if header is None or len(cells) != len(header):
            continue
        row = dict(zip(header, cells))
        try:
            out[row["test"]] = {
                "rps": float(row["rps"]),
                "p50_us": float(row["p50_latency_ms"]) * 1000.0,
                "p99_us": float(row["p99_latency_ms"]) * 1000.0,
            }
        except (KeyError, ValueError):
            continue
    return out


def _duration_us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError("not a wrk duration: %r" % text)
    scale = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]
    return float(m.group(1)) * scale


def parse_wrk(text):
    """wrk --latency output -> {"rps", "p50_us", "p99_us", "requests", "errors"}."""
    out = {"errors": 0}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"Requests/sec:\s+([0-9.]+)", line)
        if m:
            out["rps"] = float(m.group(1))
        m = re.match(r"(50|99)(?:\.0+)?%\s+(\S+)", line)
        if m:
            out["p%s_us" % m.group(1)] = _duration_us(m.group(2))
        m = re.match(r"(\d+) requests in", line)
        if m:
            out["requests"] = int(m.group(1))
        m = re.match(r"Non-2xx or 3xx responses:\s+(\d+)", line)
        if m:
            out["errors"] += int(m.group(1))
        m = re.match(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", line)
        if m:
            out["errors"] += sum(int(g) for g in m.groups())
    for key in ("rps", "p50_us", "p99_us", "requests"):
        if key not in out:
            raise ValueError("wrk output without %s" % key)
    return out


def parse_figures(text):
    """'<name> <value> [unit]' lines (craft-bench's) -> {name: value}."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) in (2, 3):
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


# ---------------------------------------------------------------------------------------------
# Results: figures, ratios, the table, the report.

def figures_of(results):
    """results[system][run] = {"rps", "p50_us", "p99_us"} -> [(name, value, unit)]."""
    lines = []
    for system in SYSTEMS:
        for run, r in results.get(system, {}).items():
            lines.append(("bench.%s.%s" % (system, run), r["rps"], "req/s"))
            lines.append(("bench.%s.%s.p50" % (system, run), r["p50_us"], "us"))
            lines.append(("bench.%s.%s.p99" % (system, run), r["p99_us"], "us"))
    return lines


def rows_of(results):
    """The table's rows: (row, unit, {system: value}); throughput rows, then latency rows. Each
    etcd figure sits on the row of the craftd figure it is compared with."""
    rows = []
    for run, *_ in REDIS_RUNS:
        rows.append((run, "req/s", "rps"))
    for run, _, _, _, _ in REDIS_RUNS:
        if "_p16" in run:
            continue  # latency under a pipeline is the batch's, not a request's
        rows.append((run + "_p50", "us", (run, "p50_us")))
        rows.append((run + "_p99", "us", (run, "p99_us")))
    etcd_of = {v: k for k, v in ETCD_PEER.items()}
    out = []
    for row, unit, what in rows:
        run, key = (row, "rps") if what == "rps" else what
        vals = {}
        for system in SYSTEMS:
            src = etcd_of.get(run) if system == "etcd" else run
            r = results.get(system, {}).get(src)
            if r is not None:
                vals[system] = r[key]
        out.append((row, unit, vals))
    return out


def ratios_of(rows):
    """craftd / each peer, per row: [(name, ratio)]. For latency rows lower is better."""
    out = []
    for row, _, vals in rows:
        if "craftd" not in vals:
            continue
        for peer in ("redis_always", "redis_none", "etcd"):
            if vals.get(peer):
                out.append(("bench.%s.vs_%s" % (row, peer), vals["craftd"] / vals[peer]))
    return out


def verdicts(ratios):
    """[(name, ratio or None, bound, kind, met)] for issue 14's targets."""
    have = dict(ratios)
    out = []
    for name, bound, kind in TARGETS:
        r = have.get(name)
        met = None if r is None else (r >= bound if kind == "min" else r <= bound)
        out.append((name, r, bound, kind, met))
    return out


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit == "us":
        return "%.0f" % v if v >= 100 else "%.1f" % v
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "%.2f" % v


def table_text(rows, limits):
    head = ["figure", "unit", "craftd", "redis always", "redis none", "etcd", "/ always",
            "/ none", "/ etcd"]
    body = []
    for row, unit, vals in rows:
        c = vals.get("craftd")
        cells = [row, unit] + [fmt(vals.get(s), unit) for s in SYSTEMS]
        for peer in ("redis_always", "redis_none", "etcd"):
            p = vals.get(peer)
            cells.append("%.2f" % (c / p) if c and p else "-")
        body.append(cells)
    for name, unit in (("limit.fdatasync.rate", "appends/s"), ("limit.fdatasync.p50", "us"),
                       ("limit.loopback_rtt.p50", "us")):
        body.append([name, unit, fmt(limits.get(name), unit)] + [""] * 6)
    return head, body


def render_plain(head, body):
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in
                       enumerate(zip(r, widths))) for r in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def render_markdown(head, body):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in body:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Processes: every one started here is stopped by its pid at exit.

class Procs:
    def __init__(self):
        self.procs = []  # (name, Popen), in start order

    def start(self, name, argv, log_path):
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append((name, p))
        return p

    def stop(self, only=None):
        """SIGTERM to each (the last started first), then SIGKILL to any still up after 10 s."""
        victims = [(n, p) for n, p in self.procs if only is None or p in only]
        for _, p in reversed(victims):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, p in victims:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print("bench: %s (pid %d) ignored SIGTERM; killing it" % (name, p.pid),
                      file=sys.stderr)
                p.kill()
                p.wait()
        self.procs = [(n, p) for n, p in self.procs if (n, p) not in victims]

    def check_alive(self, procs):
        for name, p in self.procs:
            if p in procs and p.poll() is not None:
                raise RuntimeError("%s (pid %d) exited with %s" % (name, p.pid, p.returncode))


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def bound(self, want):
        """A step's timeout: want seconds, or what is left of the budget (keeping 20 s to stop)."""
        left = self.left() - 20
        if left < 5:
            raise RuntimeError("the run's time budget (%d s) is spent" % BUDGET_S)
        return min(want, left)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def resp(port, *args, timeout=2.0):
    """One RESP command to 127.0.0.1:port; the reply's raw text (enough for PING and INFO)."""
    req = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        data = s.recv(65536)
        if data.startswith(b"$"):
            n = int(data[1:data.index(b"\r\n")])
            while n >= 0 and len(data) < data.index(b"\r\n") + 2 + n + 2:
                more = s.recv(65536)
                if not more:
                    break
                data += more
        return data.decode(errors="replace")


def poll(what, check, seconds, procs=None, pool=None):
    """Calls check() until it returns something true, or fails after seconds."""
    end = time.monotonic() + seconds
    delay = 0.01
    while True:
        if pool is not None:
            pool.check_alive(procs)
        try:
            got = check()
            if got:
                return got
        except (OSError, ValueError):
            pass
        if time.monotonic() > end:
            raise RuntimeError("%s: not ready after %d s" % (what, seconds))
        time.sleep(delay)  # a poll interval, not a synchronisation: readiness is the check
        delay = min(delay * 2, 0.2)


def http_request(port, method, path, body=None, timeout=2.0):
    """One HTTP request to 127.0.0.1:port: (status, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# The systems under load.

def redis_benchmark(port, dl, test, clients, pipeline, n):
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test, "-n", str(n),
            "-c", str(clients), "-P", str(pipeline), "-d", str(VALUE_BYTES), "-r", str(KEYSPACE),
            "--csv", "--precision", "3"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=dl.bound(90))
    got = parse_redis_benchmark_csv(p.stdout).get(test.upper())
    if p.returncode != 0 or got is None:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                  p.stderr))
    if "error" in p.stderr.lower():
        raise RuntimeError("%s: errors from the server:\n%s" % (" ".join(argv), p.stderr[:2000]))
    return got


def report_run(system, run, r):
    print("bench: %-12s %-8s %12.0f req/s  p50 %8.1f us  p99 %8.1f us" % (
        system, run, r["rps"], r["p50_us"], r["p99_us"]), flush=True)


class Craftd:
    """Three craftd processes; load goes to whichever is the leader when a run starts."""

    def __init__(self, pool, craftd, root, dl):
        ports = free_ports(6)
        self.client, peer = ports[:3], ports[3:]
        peers = ",".join("%d@127.0.0.1:%d" % (i + 1, peer[i]) for i in range(3))
        self.pool = pool
        self.procs = []
        for i in range(3):
            d = os.path.join(root, "craftd%d" % (i + 1))
            os.makedirs(d)
            self.procs.append(pool.start("craftd%d" % (i + 1), [
                craftd, "--id", str(i + 1), "--bind", "127.0.0.1", "--port", str(self.client[i]),
                "--peer-port", str(peer[i]), "--dir", d, "--peers", peers, "--log-level", "warn"],
                os.path.join(root, "craftd%d.log" % (i + 1))))
        for i in range(3):
            poll("craftd %d PING" % (i + 1), lambda: "PONG" in resp(self.client[i], "PING"),
                 dl.bound(START_S), self.procs, pool)
        lead = self.leader(dl)
        print("bench: craftd cluster up, leader node %d (client port %d)" % (
            lead, self.client[lead - 1]), flush=True)

    def leader(self, dl):
        def find():
            for i in range(3):
                if "role:leader" in resp(self.client[i], "INFO", "raft"):
                    return i + 1
            return None
        return poll("craftd leader", find, dl.bound(START_S), self.procs, self.pool)

    def port(self, dl):
        return self.client[self.leader(dl) - 1]

    def load(self, dl, test, clients, pipeline, n, on_start=None):
        lead = self.leader(dl)
        if on_start is not None:
            on_start(self.procs[lead - 1].pid)
        return redis_benchmark(self.client[lead - 1], dl, test, clients, pipeline, n)


class Redis:
    """One redis-server: mode "always" (appendonly, appendfsync always) or "none"."""

    def __init__(self, pool, root, dl, mode):
        self._port = free_ports(1)[0]
        d = os.path.join(root, "redis_" + mode)
        os.makedirs(d)
        argv = ["redis-server", "--port", str(self._port), "--bind", "127.0.0.1", "--dir", d,
                "--daemonize", "no", "--save", "", "--protected-mode", "no"]
        argv += (["--appendonly", "yes", "--appendfsync", "always"] if mode == "always"
                 else ["--appendonly", "no"])
        p = pool.start("redis-server " + mode, argv, os.path.join(root, "redis_%s.log" % mode))
        poll("redis-server PING", lambda: "PONG" in resp(self._port, "PING"), dl.bound(START_S),
             [p], pool)

    def port(self, dl):
        return self._port

    def load(self, dl, test, clients, pipeline, n, on_start=None):
        return redis_benchmark(self._port, dl, test, clients, pipeline, n)


def profile_start(pid, root):
    """perf record -g on the leader for 5 s, while the 50-client SET runs."""
    data = os.path.join(root, "perf.data")
    argv = ["perf", "record", "-g", "-F", "499", "-p", str(pid), "-o", data, "--", "sleep", "5"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"proc": p, "data": data}


def profile_finish(prof):
    """The profile's self time by library, then its top symbols (text), or None."""
    out = []
    try:
        prof["proc"].wait(timeout=30)
        for sort, limit in (("pid", "1"), ("dso", "1"), ("pid,dso,symbol", "1")):
            rep = subprocess.run(["perf", "report", "--stdio", "--no-children", "-i", prof["data"],
                                  "--sort", sort, "--percent-limit", limit, "-g", "none"],
                                 capture_output=True, text=True, timeout=60)
            lines = [ln.rstrip() for ln in rep.stdout.splitlines()
                     if ln.strip() and not ln.startswith("#")]
            out.append("\n".join(lines[:24]))
    except subprocess.TimeoutExpired:
        prof["proc"].kill()
        prof["proc"].wait()
        return None
    return "\n\n".join(o for o in out if o) or None


WRK_LUA = """-- PUTs of 64-byte values through etcd's v3 JSON gateway, over a fixed set of keys.
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
                    bodies[(i %% #bodies) + 1])
end
"""


def etcd_lua(path, n_keys=1000):
    value = base64.b64encode(b"x" * VALUE_BYTES).decode()
    bodies = ['\'{"key": "%s", "value": "%s"}\'' % (
        base64.b64encode(b"key:%012d" % i).decode(), value) for i in range(n_keys)]
    with open(path, "w") as f:
        f.write(WRK_LUA % ",\n  ".join(bodies))


class Etcd:
    """Three etcd members; wrk loads the leader through the v3 JSON gateway."""

    def __init__(self, pool, root, dl):
        ports = free_ports(6)
        client, peer = ports[:3], ports[3:]
        cluster = ",".join("m%d=http://127.0.0.1:%d" % (i + 1, peer[i]) for i in range(3))
        procs = []
        for i in range(3):
            procs.append(pool.start("etcd m%d" % (i + 1), [
                "etcd", "--name", "m%d" % (i + 1),
                "--data-dir", os.path.join(root, "etcd%d" % (i + 1)),
                "--listen-client-urls", "http://127.0.0.1:%d" % client[i],
                "--advertise-client-urls", "http://127.0.0.1:%d" % client[i],
                "--listen-peer-urls", "http://127.0.0.1:%d" % peer[i],
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer[i],
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "craft-bench-%d" % os.getpid(),
                "--logger", "zap", "--log-level", "warn"],
                os.path.join(root, "etcd%d.log" % (i + 1))))
        for i in range(3):
            poll("etcd m%d /health" % (i + 1),
                 lambda: '"health":"true"' in http_request(client[i], "GET", "/health")[1].replace(" ", ""),
                 dl.bound(START_S), procs, pool)

        def leader():
            for i in range(3):
                st = json.loads(http_request(client[i], "POST", "/v3/maintenance/status", "{}")[1])
                if st.get("leader") and st.get("leader") == st.get("header", {}).get("member_id"):
                    return i + 1
            return None
        lead = poll("etcd leader", leader, dl.bound(START_S), procs, pool)
        self.port = client[lead - 1]
        status, text = http_request(self.port, "POST", "/v3/kv/put", '{"key": "Zm9v", "value": "YmFy"}')
        if status != 200:
            raise RuntimeError("etcd: a put through the gateway failed: %d %s" % (status, text))
        print("bench: etcd cluster up, leader m%d (client port %d)" % (lead, self.port),
              flush=True)
        self.lua = os.path.join(root, "put.lua")
        etcd_lua(self.lua)

    def load(self, dl, conns, threads):
        argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % WRK_SECONDS,
                "--latency", "--timeout", "5s", "-s", self.lua,
                "http://127.0.0.1:%d/v3/kv/put" % self.port]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=dl.bound(WRK_SECONDS + 30))
        if p.returncode != 0:
            raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                      p.stderr))
        r = parse_wrk(p.stdout)
        if r["errors"] > r["requests"] // 1000:
            raise RuntimeError("wrk: %d errors in %d requests\n%s" % (r["errors"], r["requests"],
                                                                     p.stdout))
        return r


def better(a, b):
    """The faster of two runs of one figure (None if neither ran)."""
    if a is None or (b is not None and b["rps"] > a["rps"]):
        return b
    return a


def run_all(servers, etcd, dl, rounds, profile_into):
    """Every figure, ROUNDS times, the systems taking turns within each workload (their order
    reversed every other round), so a slow moment of this shared disk lands on every system
    alike; the best run of each figure is kept."""
    results = {s: {} for s in SYSTEMS}
    for rnd in range(rounds):
        order = list(servers) if rnd % 2 == 0 else list(reversed(list(servers)))
        for run, test, clients, pipeline, n in REDIS_RUNS:
            for system in order:
                hook = None
                if profile_into is not None and rnd == 0 and system == "craftd" and \
                        run == "set_c50":
                    def hook(pid):
                        profile_into.update(profile_start(pid, profile_into["root"]))
                r = servers[system].load(dl, test, clients, pipeline, n, hook)
                report_run(system, run, r)
                results[system][run] = better(results[system].get(run), r)
                if profile_into is not None and "proc" in profile_into and \
                        "text" not in profile_into:
                    profile_into["text"] = profile_finish(profile_into)
            for erun, conns, threads in WRK_RUNS:
                if ETCD_PEER[erun] == run:
                    r = etcd.load(dl, conns, threads)
                    report_run("etcd", erun, r)
                    results["etcd"][erun] = better(results["etcd"].get(erun), r)
    # redis-benchmark 7 does not report error replies: the SETs must have landed.
    for system, server in servers.items():
        reply = resp(server.port(dl), "DBSIZE")
        if not reply.startswith(":") or int(reply[1:].strip()) < KEYSPACE // 2:
            raise RuntimeError("%s: DBSIZE %r after the SET runs: the writes failed" % (
                system, reply.strip()))
    return results


def run_limits(bench, dl):
    p = subprocess.run([bench, "limits"], capture_output=True, text=True, timeout=dl.bound(60))
    if p.returncode != 0:
        raise RuntimeError("craft-bench limits: exit %d\n%s" % (p.returncode, p.stderr))
    return parse_figures(p.stdout)


# ---------------------------------------------------------------------------------------------
# The report.

def machine_facts():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except subprocess.TimeoutExpired:
            return "?"
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": sh("nproc"),
        "cpu": cpu,
        "mem": sh("free -g | awk '/Mem:/ {print $2 \" GiB\"}'"),
        "disk": sh("findmnt -no SOURCE,FSTYPE -T /tmp"),
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "kernel": sh("uname -r"),
        "redis": sh("redis-server --version | awk '{print $3}' | sed 's/v=//'"),
        "etcd": sh("etcd --version | awk '/etcd Version/ {print $3}'"),
        "wrk": sh("wrk -v 2>&1 | awk 'NR==1 {print $2}'"),
        "commit": sh("git -C %s rev-parse --short HEAD" % os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))),
    }


def write_chart(results, png, workdir):
    """Throughput (log scale) per workload and one-client latency, one bar per system."""
    if shutil.which("gnuplot") is None:
        print("bench: gnuplot not found; no chart", file=sys.stderr)
        return False
    etcd_of = {v: k for k, v in ETCD_PEER.items()}

    def val(system, run, key):
        src = etcd_of.get(run) if system == "etcd" else run
        r = results.get(system, {}).get(src) if src else None
        return "%.3f" % r[key] if r else "NaN"
    tp = os.path.join(workdir, "throughput.dat")
    with open(tp, "w") as f:
        f.write("run " + " ".join(SYSTEMS) + "\n")
        for run, *_ in REDIS_RUNS:
            f.write(run + " " + " ".join(val(s, run, "rps") for s in SYSTEMS) + "\n")
    lat = os.path.join(workdir, "latency.dat")
    with open(lat, "w") as f:
        f.write("run " + " ".join(SYSTEMS) + "\n")
        for run in ("set_c1", "get_c1", "set_c50", "get_c50"):
            for q in ("p50", "p99"):
                f.write("%s_%s " % (run, q) + " ".join(
                    val(s, run, q + "_us") for s in SYSTEMS) + "\n")
    script = """
set terminal pngcairo size 1200,520 font ",10"
set output '%(png)s'
set multiplot layout 1,2 title "craftd (3 nodes) vs redis (1 node) vs etcd (3 members), 64-byte values"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside bottom center horizontal
set xtics rotate by -30
set termoption noenhanced
set grid ytics
set title "throughput (requests/s, log scale; etcd: 128 / 1 connections)"
set logscale y
plot for [i=2:5] '%(tp)s' using i:xtic(1) title columnheader(i)
unset logscale y
set title "latency (us, log scale): one client, and 50 clients"
set logscale y
plot for [i=2:5] '%(lat)s' using i:xtic(1) title columnheader(i)
unset multiplot
""" % {"png": png, "tp": tp, "lat": lat}
    p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        print("bench: gnuplot failed:\n" + p.stderr, file=sys.stderr)
        return False
    return True


CHANGES_HEADING = "## What each change bought"


def kept_changes(path):
    """The page's hand-written "What each change bought" section (up to the next "## "
    heading), which a rerun keeps; "" when there is none."""
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        text = f.read()
    start = text.find("\n" + CHANGES_HEADING)
    if start < 0:
        return ""
    start += 1
    end = text.find("\n## ", start + len(CHANGES_HEADING))
    return text[start:] if end < 0 else text[start:end + 1]


def write_markdown(path, facts, head, body, lines, verdict_rows, profile, chart_name, rounds):
    changes = kept_changes(path)
    met = sum(1 for v in verdict_rows if v[4])
    out = []
    out.append("# craftd beside redis and etcd\n")
    out.append("Written by `make bench` (`tools/bench_compare.py`) on %s, commit `%s`. "
               "Rerun it to replace this page.\n" % (facts["date"], facts["commit"]))
    out.append("**Machine.** %s cores (%s), %s memory, `/tmp` on %s (a virtual disk), Linux %s; load average "
               "before the run %s (the machine is shared: a figure can move by a factor of 2–4 "
               "between runs, which is why each is compared with its peer measured in the same "
               "run). "
               "redis %s, etcd %s, wrk %s, all from Debian 12.\n" % (
                   facts["nproc"], facts["cpu"], facts["mem"], facts["disk"], facts["kernel"],
                   facts["load"], facts["redis"], facts["etcd"], facts["wrk"]))
    out.append("""**What runs**, all on 127.0.0.1, data in one temp directory on the same disk:

- **craftd**: three `craftd` processes (real WAL, fdatasync on every batch, default flags but
  `--log-level warn`), loaded
  on the leader with `redis-benchmark -d 64 -r %d` (random keys): SET and GET with 50 clients at
  pipeline 1 (`_c50`, %d requests) and 16 (`_p16`, %d requests), and with one client (`_c1`,
  %d requests). GET is craftd's default read, linearizable
  (`CRAFT_NODE_READ_LINEARIZABLE`).
- **redis always**: one `redis-server` with `appendonly yes`, `appendfsync always`, no RDB: the
  durable single-node baseline, same `redis-benchmark` runs.
- **redis none**: one `redis-server` without persistence, same runs.
- **etcd**: three Debian `etcd` members, loaded on the leader through the v3 JSON gateway
  (`POST /v3/kv/put`, 1,000 keys, 64-byte values) with `wrk --latency` for %d s at 128 connections
  (2 threads), shown on the `set_c50` rows, and at one connection, shown on the `set_c1` rows.
- **limits**: `craft-bench limits`: 4 KiB append + fdatasync into a preallocated file, and a
  64-byte round trip over loopback TCP; measured before the servers start and after they stop,
  the faster kept.

All servers are started first and stay up (idle ones only heartbeat). Each workload then runs on
every system in turn, and the whole sequence runs %d times, the order of the systems reversed
every other time, so a slow moment of the shared disk lands on each system alike; each figure is
the best (highest requests/s) of its runs, with that run's latencies.

Latencies are in microseconds (redis-benchmark's and wrk's percentiles); `/ always`, `/ none`
and `/ etcd` are craftd's figure over the peer's (for latencies lower is better). Pipelined
runs have no latency rows: there a latency is a batch's.
""" % (KEYSPACE, REDIS_RUNS[0][4], REDIS_RUNS[1][4], REDIS_RUNS[2][4], WRK_SECONDS, rounds))
    out.append("## Results\n")
    out.append(render_markdown(head, body) + "\n")
    if chart_name:
        out.append("![throughput and latency](%s)\n" % chart_name)
    out.append("## Targets (issue 14): %d of %d met\n" % (met, len(verdict_rows)))
    out.append("| ratio | measured | target | met |\n|---|---:|---:|---|")
    for name, r, bound, kind, ok in verdict_rows:
        out.append("| `%s` | %s | %s %.2f | %s |" % (
            name, "-" if r is None else "%.3f" % r, ">=" if kind == "min" else "<=", bound,
            "-" if ok is None else ("yes" if ok else "**no**")))
    out.append("")
    if profile:
        out.append("## Where the time goes (the leader, 5 s of the 50-client SET)\n")
        out.append("`perf record -g -F 499 -p <leader>` (all its threads) during `set_c50`, "
                   "then `perf report --no-children`: self time by thread, by library, and by "
                   "thread and symbol (above 1 %; Debian's libuv has no symbols):\n")
        out.append("```\n" + profile + "\n```\n")
    notes = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench",
                         "compare_notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            out.append(f.read().rstrip() + "\n")
    if changes:
        out.append(changes.rstrip() + "\n")
    out.append("## Every figure\n")
    out.append("```\n" + "\n".join(lines) + "\n```\n")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-bench", help="build directory with bin/craftd "
                    "and bin/craft-bench")
    ap.add_argument("--docs", default="docs", help="where benchmarks.md and .png go")
    ap.add_argument("--no-profile", action="store_true", help="skip perf on the leader")
    ap.add_argument("--rounds", type=int, default=2, help="runs of every figure (best kept)")
    args = ap.parse_args()
    dl = Deadline(BUDGET_S)
    craftd = os.path.join(args.build, "bin", "craftd")
    bench = os.path.join(args.build, "bin", "craft-bench")
    missing = [t for t in ("redis-server", "redis-benchmark", "etcd", "wrk", "gnuplot")
               if shutil.which(t) is None]
    missing += [b for b in (craftd, bench) if not os.access(b, os.X_OK)]
    if missing:
        print("bench: missing: %s (make bench installs and builds them)" % " ".join(missing),
              file=sys.stderr)
        return 1
    facts = machine_facts()
    root = tempfile.mkdtemp(prefix="craft-bench-compare.")
    pool = Procs()
    profile = {"root": root} if not args.no_profile and shutil.which("perf") else None

    def cleanup():
        if profile and "proc" in profile and profile["proc"].poll() is None:
            profile["proc"].terminate()
            profile["proc"].wait()
        pool.stop()
        shutil.rmtree(root, ignore_errors=True)
    atexit.register(cleanup)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))

    try:
        limits_before = run_limits(bench, dl)
        servers = {"craftd": Craftd(pool, os.path.abspath(craftd), root, dl),
                   "redis_always": Redis(pool, root, dl, "always"),
                   "redis_none": Redis(pool, root, dl, "none")}
        etcd = Etcd(pool, root, dl)
        results = run_all(servers, etcd, dl, args.rounds, profile)
        pool.stop()
        limits = run_limits(bench, dl)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print("bench: %s" % e, file=sys.stderr)
        for log in sorted(os.listdir(root)):
            if log.endswith(".log"):
                with open(os.path.join(root, log), errors="replace") as f:
                    tail = f.read()[-1500:]
                if tail.strip():
                    print("--- %s (tail)\n%s" % (log, tail), file=sys.stderr)
        return 1
    # The disk's limit before and after the load: the faster of the two.
    if limits_before.get("limit.fdatasync.p50", 1e99) < limits.get("limit.fdatasync.p50", 1e99):
        limits = limits_before
    profile_text = profile.get("text") if profile else None

    rows = rows_of(results)
    ratios = ratios_of(rows)
    lines = ["%s %.1f %s" % f for f in figures_of(results)]
    lines += ["%s %.1f %s" % (k, v, u) for k, u in (
        ("limit.fdatasync.rate", "appends/s"), ("limit.fdatasync.p50", "us"),
        ("limit.fdatasync.p99", "us"), ("limit.loopback_rtt.p50", "us"),
        ("limit.loopback_rtt.p99", "us")) for v in [limits.get(k)] if v is not None]
    lines += ["%s %.3f" % r for r in ratios]
    vrows = verdicts(ratios)
    lines += ["%s.target %.2f" % (name, bound) for name, _, bound, _, _ in vrows]
    head, body = table_text(rows, limits)
    print()
    print(render_plain(head, body))
    print()
    for name, r, bound, kind, ok in vrows:
        print("target %-34s %s %s %.2f: %s" % (name, "-" if r is None else "%.3f" % r,
                                              ">=" if kind == "min" else "<=", bound,
                                              "met" if ok else "NOT met"))
    print()
    print("\n".join(lines))
    os.makedirs(args.docs, exist_ok=True)
    png = os.path.join(args.docs, "benchmarks.png")
    chart = write_chart(results, os.path.abspath(png), root)
    write_markdown(os.path.join(args.docs, "benchmarks.md"), facts, head, body, lines, vrows,
                   profile_text, "benchmarks.png" if chart else None, args.rounds)
    print("\nbench: wrote %s%s (%.0f s)" % (os.path.join(args.docs, "benchmarks.md"),
                                            " and " + png if chart else "",
                                            BUDGET_S - dl.left()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
