#!/usr/bin/env python3
"""`make run`'s cluster, as the README promises it: tools/run_cluster.sh starts three craftd on
127.0.0.1:7001-7003, `redis-cli -p 7001 set k v` then `redis-cli -p 7002 get k` prints v,
Ctrl-C (SIGINT to the script's process group, as a terminal sends it) stops all three and the
script exits 0, and a second run finds the data again. It needs the fixed ports 7001-7003 and
7101-7103: it skips (77) with the reason when one is taken (a `make run` of your own, say).
Every wait polls with a bounded deadline."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness
from harness import log, wait_until

PORTS = (7001, 7002, 7003, 7101, 7102, 7103)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def cli(port, *args):
    r = subprocess.run([shutil.which("redis-cli"), "-p", str(port)] + list(args),
                       capture_output=True, text=True, timeout=10)
    return r.stdout.strip()


def start(craftd, data):
    env = dict(os.environ, CRAFT_DATA=data)
    # Its own process group, as a shell's foreground job: Ctrl-C reaches the script and the
    # three craftd it started.
    return subprocess.Popen(["bash", os.path.join(ROOT, "tools", "run_cluster.sh"), craftd,
                             "--election-timeout-ms", str(harness.ELECTION_MS),
                             "--heartbeat-ms", str(harness.HEARTBEAT_MS)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def craftd_children(p):
    """The pids of the craftd processes in p's process group."""
    out = subprocess.run(["ps", "-o", "pid=,comm=", "-g", str(p.pid)], capture_output=True,
                         text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1] == "craftd"]


def ctrl_c(p):
    pids = craftd_children(p)
    assert len(pids) == 3, "three craftd running, found %s" % pids
    os.killpg(p.pid, signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    log("run_cluster.sh said:\n" + out)
    assert p.returncode == 0, "run_cluster.sh exited with %d" % p.returncode
    for pid in pids:
        wait_until("craftd %d to exit" % pid, lambda: not os.path.exists("/proc/%d" % pid), 10)
    assert "stopped; data kept in" in out


def test():
    craftd = harness.require_craftd()
    taken = [port for port in PORTS if not port_free(port)]
    if taken:
        print("SKIP: ports %s are in use (make run's fixed ports)" % taken)
        raise SystemExit(harness.SKIP)
    data = tempfile.mkdtemp(prefix="craft-run-cluster-")
    try:
        p = start(craftd, data)
        try:
            wait_until("a leader", lambda: any(
                "role:leader" in cli(port, "info", "raft") for port in (7001, 7002, 7003)), 20)
            wait_until("SET on 7001", lambda: cli(7001, "set", "k", "v") == "OK", 20)
            assert cli(7002, "get", "k") == "v", "redis-cli -p 7002 get k"
            assert cli(7003, "get", "k") == "v", "redis-cli -p 7003 get k"
        finally:
            if p.poll() is None:
                ctrl_c(p)
        for i in (1, 2, 3):
            assert os.path.isdir(os.path.join(data, "node%d" % i))
        # The second run finds the data again.
        p = start(craftd, data)
        try:
            wait_until("GET k on 7002 after a restart",
                       lambda: cli(7002, "get", "k") == "v", 20)
        finally:
            if p.poll() is None:
                ctrl_c(p)
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    harness.main(test)
