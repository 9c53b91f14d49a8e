#!/usr/bin/env python3
"""The parsers and the report of tools/bench_compare.py on canned output (ctest bench_compare_parse,
label bench): no server is started."""
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_compare as bc  # noqa: E402

REDIS_CSV = """"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","65876.15","0.742","0.224","0.711","1.031","1.351","3.743"
"GET","95238.10","0.503","0.120","0.487","0.711","0.903","2.015"
"""

WRK_OUT = """Running 10s test @ http://127.0.0.1:2379/v3/kv/put
  2 threads and 128 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.01ms    5.32ms  70.47ms   74.65%
    Req/Sec     4.60k   405.40     5.51k    72.00%
  Latency Distribution
     50%   13.29ms
     75%   16.23ms
     90%   19.95ms
     99%   1.02s
  91594 requests in 10.01s, 29.60MB read
  Non-2xx or 3xx responses: 5
Requests/sec:   9150.48
Transfer/sec:      2.96MB
"""

WRK_ONE = """Running 10s test @ http://127.0.0.1:2379/v3/kv/put
  1 threads and 1 connections
  Latency Distribution
     50%  770.00us
     75%  812.00us
     90%  900.00us
     99%    1.51ms
  12950 requests in 10.00s, 4.18MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:   1294.87
"""

LIMITS = """limit.fdatasync.p50 167.4 us
limit.fdatasync.p99 386.8 us
limit.fdatasync.rate 5586.3 appends/s
limit.loopback_rtt.p50 11.5 us
wal.append.64b_x1.ratio 0.981
"""


def fake_results():
    def r(rps, p50, p99):
        return {"rps": rps, "p50_us": p50, "p99_us": p99}
    res = {s: {} for s in bc.SYSTEMS}
    for run, *_ in bc.REDIS_RUNS:
        res["craftd"][run] = r(40000.0, 300.0, 900.0)
        res["redis_always"][run] = r(50000.0, 200.0, 600.0)
        res["redis_none"][run] = r(80000.0, 100.0, 300.0)
    res["etcd"]["put_c128"] = r(8000.0, 15000.0, 40000.0)
    res["etcd"]["put_c1"] = r(1300.0, 770.0, 1500.0)
    return res


class Parsers(unittest.TestCase):
    def test_redis_benchmark_csv(self):
        got = bc.parse_redis_benchmark_csv(REDIS_CSV)
        self.assertEqual(set(got), {"SET", "GET"})
        self.assertAlmostEqual(got["SET"]["rps"], 65876.15)
        self.assertAlmostEqual(got["SET"]["p50_us"], 711.0)
        self.assertAlmostEqual(got["GET"]["p99_us"], 903.0)

    def test_redis_benchmark_csv_without_header_is_empty(self):
        self.assertEqual(bc.parse_redis_benchmark_csv('"SET","1.0","1","1","1","1","1","1"\n'), {})

    def test_wrk_units_and_errors(self):
        got = bc.parse_wrk(WRK_OUT)
        self.assertAlmostEqual(got["rps"], 9150.48)
        self.assertAlmostEqual(got["p50_us"], 13290.0)
        self.assertAlmostEqual(got["p99_us"], 1020000.0)
        self.assertEqual(got["requests"], 91594)
        self.assertEqual(got["errors"], 5)
        one = bc.parse_wrk(WRK_ONE)
        self.assertAlmostEqual(one["p50_us"], 770.0)
        self.assertAlmostEqual(one["p99_us"], 1510.0)
        self.assertEqual(one["errors"], 3)

    def test_wrk_without_figures_fails(self):
        with self.assertRaises(ValueError):
            bc.parse_wrk("unable to connect to 127.0.0.1:2379 Connection refused\n")

    def test_figures(self):
        got = bc.parse_figures(LIMITS)
        self.assertAlmostEqual(got["limit.fdatasync.rate"], 5586.3)
        self.assertAlmostEqual(got["wal.append.64b_x1.ratio"], 0.981)


class Report(unittest.TestCase):
    def test_ratios_and_targets(self):
        ratios = dict(bc.ratios_of(bc.rows_of(fake_results())))
        self.assertAlmostEqual(ratios["bench.set_c50.vs_etcd"], 5.0)
        self.assertAlmostEqual(ratios["bench.set_c50.vs_redis_always"], 0.8)
        self.assertAlmostEqual(ratios["bench.set_p16.vs_redis_always"], 0.8)
        self.assertAlmostEqual(ratios["bench.set_c1_p50.vs_redis_always"], 1.5)
        self.assertAlmostEqual(ratios["bench.get_c50.vs_redis_none"], 0.5)
        self.assertAlmostEqual(ratios["bench.set_c1_p50.vs_etcd"], 300.0 / 770.0)
        self.assertNotIn("bench.get_c50.vs_etcd", ratios)
        self.assertNotIn("bench.set_p16_p50.vs_redis_always", ratios)
        met = {name: ok for name, _, _, _, ok in bc.verdicts(list(ratios.items()))}
        self.assertEqual(met, {
            "bench.set_c50.vs_etcd": True,
            "bench.set_c50.vs_redis_always": True,
            "bench.set_p16.vs_redis_always": True,
            "bench.set_c1_p50.vs_redis_always": True,
            "bench.get_c50.vs_redis_none": False,
        })

    def test_missing_peer_is_not_met_nor_guessed(self):
        res = fake_results()
        del res["etcd"]["put_c128"]
        v = {n: (r, ok) for n, r, _, _, ok in bc.verdicts(bc.ratios_of(bc.rows_of(res)))}
        self.assertEqual(v["bench.set_c50.vs_etcd"], (None, None))

    def test_better_keeps_the_faster_run(self):
        a = {"rps": 1.0, "p50_us": 5.0, "p99_us": 9.0}
        b = {"rps": 2.0, "p50_us": 6.0, "p99_us": 8.0}
        self.assertIs(bc.better(None, a), a)
        self.assertIs(bc.better(a, b), b)
        self.assertIs(bc.better(b, a), b)

    def test_table_and_markdown(self):
        rows = bc.rows_of(fake_results())
        head, body = bc.table_text(rows, bc.parse_figures(LIMITS))
        text = bc.render_plain(head, body)
        self.assertIn("set_c50", text)
        self.assertIn("limit.fdatasync.rate", text)
        lines = ["%s %.1f %s" % f for f in bc.figures_of(fake_results())]
        self.assertIn("bench.etcd.put_c1.p50 770.0 us", lines)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "benchmarks.md")
            facts = {k: "x" for k in ("date", "nproc", "cpu", "mem", "disk", "load", "kernel",
                                      "redis", "etcd", "wrk", "commit")}
            vrows = bc.verdicts(bc.ratios_of(rows))
            bc.write_markdown(path, facts, head, body, lines, vrows, None, "benchmarks.png", 2)
            with open(path) as f:
                md = f.read()
        self.assertIn("| set_c50 | req/s | 40,000 | 50,000 | 80,000 | 8,000 | 0.80 | 0.50 | 5.00 |",
                      md)
        self.assertIn("4 of 5 met", md)
        self.assertIn("![throughput and latency](benchmarks.png)", md)

    def test_rerun_keeps_what_each_change_bought(self):
        rows = bc.rows_of(fake_results())
        head, body = bc.table_text(rows, bc.parse_figures(LIMITS))
        facts = {k: "x" for k in ("date", "nproc", "cpu", "mem", "disk", "load", "kernel",
                                  "redis", "etcd", "wrk", "commit")}
        vrows = bc.verdicts(bc.ratios_of(rows))
        section = "## What each change bought\n\n### one change\n\nset_c50 0.9x.\n"
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "benchmarks.md")
            with open(path, "w") as f:
                f.write("# old page\n\n## Results\n\nold\n\n" + section + "\n## Every figure\n")
            for _ in range(2):
                bc.write_markdown(path, facts, head, body, [], vrows, None, None, 2)
            with open(path) as f:
                md = f.read()
        self.assertEqual(md.count("## What each change bought"), 1)
        self.assertIn(section, md)
        self.assertNotIn("old page", md)
        self.assertLess(md.index("## What each change bought"), md.index("## Every figure"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
