#!/usr/bin/env python3
"""Benchmark: webseed-collector taking reports, 500 mirrors x 2 reports at once, HTTP and HTTPS.

    python3 tests/bench/collector_bench.py --collector build/webseed-collector --agent build/webseed-agent

One real report is made by the agent (`run --dry-run` on a small generated tree,
tests/fixtures/fake_reports.py) and cloned per mirror with a fresh report_id and the mirror's
base_url. The collector runs `serve` on 127.0.0.1 (spot checks off, its default 4 threads, a
fresh SQLite database in a temp dir: WAL, synchronous=FULL, so every 202 is one fsync'd
transaction), plain and with TLS (a throw-away CA, EC P-256). --mirrors mirrors are registered
with `mirror add` (8 processes at a time; timed, shown below the table).

Each round POSTs --reports reports per mirror (fresh report_ids, shuffled so a mirror's reports
arrive together) from --clients Python threads, one connection per request (the agent's way:
no keep-alive), and times each request (connect to response read). Rows:

  baseline http / https   the same POSTs against a trivial server: Python's ThreadingHTTPServer
                          in a child process that reads the body and answers 202 with a small
                          JSON (TLS handshake in the handler thread), nothing stored. It is the
                          ceiling of this client: the Python client threads are often the limit.
  collector http / https  webseed-collector serve.

Columns: requests and seconds per round (median round), throughput = requests / seconds,
p50/p99 latency over every request of every round, "vs baseline" = collector throughput /
baseline throughput of the same scheme (1.00x: as fast as a server that stores nothing).
Rounds interleave the four targets, the order rotated each round.

Then reads against the http collector (its --mirrors mirrors x the template's torrents, every
report stored): --read-requests GETs of each read endpoint from 8 threads, one connection per
request, p50/p99 and requests/s, and the collector's peak RSS (VmHWM) after them. Every read
reads the per-mirror listing index (contrib/collector/listing_index.h): on an older main each GET
rebuilt the whole listing.

Then the network's scale (issue 14): a collector whose catalog is --scale-torrents generated
torrents (fixtures/fake_reports.py scale_template) and --mirrors mirrors each reporting every
torrent ready (500 x 200 = 100,000 ready claims; spot checks off, so every claim is listed):

  ingest alone / with readers   --mirrors reports from 8 client threads, alone and (in
                                alternation, 3 rounds each) while a separate process polls
                                (4 threads, keep-alive) webseeds of random torrents and a
                                mirrors page at --reader-rate GETs/s (the target's row), then
                                once flat out; the slowdown is 1 - (median reports/s with
                                readers) / (median reports/s alone)
  reads                         webseeds of one torrent from ApacheBench (`ab -k -c 8`, a C
                                client, when installed: Debian apache2-utils), then each read
                                path from 8 Python client processes, each on one kept-alive
                                connection: requests/s, p50/p99; peak RSS (VmHWM) after all
                                of them, the whole /api/v1/mirrors document included

each figure beside its target and the figure issue 14 measured before (every GET rebuilt the
whole listing then). --scale-torrents 0 skips this part.

A benchmark, not a test: exits 0 after printing the table; 1 when a sanity check fails (a
collector answer other than 202 accepted, a request failing, reports_stored not equal to the
reports sent); 2 on usage errors (a missing binary).
"""

import argparse
import http.client
import multiprocessing
import os
import random
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the fixtures package
from links_bench import machine_info  # noqa: E402
from fixtures import fake_reports as R  # noqa: E402
from fixtures import tls  # noqa: E402
from fixtures.collector import Collector  # noqa: E402
from fixtures import webservers  # noqa: E402

REGISTER_THREADS = 8
BASELINE_SERVER = r"""
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"status":"accepted"}\n'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
srv = S(("127.0.0.1", 0), H)
if len(sys.argv) > 2:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def die(msg, code=1):
    print(f"collector_bench: {msg}", file=sys.stderr)
    sys.exit(code)


class Baseline:
    """The trivial server in a child process (own session, killed at exit)."""

    def __init__(self, cert=None, key=None):
        argv = [sys.executable, "-c", BASELINE_SERVER] + ([str(cert), str(key)] if cert else [])
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            die("the baseline server did not start")
        self.port = int(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


class Target:
    def __init__(self, name, port, ctx, collector=None):
        self.name, self.port, self.ctx, self.collector = name, port, ctx, collector
        self.rounds = []        # seconds per round
        self.latencies = []     # seconds per request
        self.requests = 0


def post(target, body, headers, timeout):
    """One POST on a new connection: (status, answer bytes, seconds)."""
    t0 = time.perf_counter()
    if target.ctx is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", target.port, context=target.ctx,
                                           timeout=timeout)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=timeout)
    try:
        conn.request("POST", "/api/v1/reports", body=body, headers=headers)
        res = conn.getresponse()
        answer = res.read()
        return res.status, answer, time.perf_counter() - t0
    finally:
        conn.close()


def jobs_for(template, tokens, reports, seed):
    """[(body, headers)] for every mirror's `reports` fresh reports, shuffled."""
    out = []
    for i, token in enumerate(tokens):
        for _ in range(reports):
            r = R.clone(template, name(i), url(i))
            out.append((R.body(r), {"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json",
                                    "Idempotency-Key": r["report_id"]}))
    random.Random(seed).shuffle(out)
    return out


def name(i):
    return f"mirror-{i:03d}.example.org"


def url(i):
    return f"http://{name(i)}/pub/"


def run_round(target, jobs, clients, timeout, failures):
    lock = threading.Lock()

    def one(job):
        try:
            status, answer, seconds = post(target, job[0], job[1], timeout)
        except (OSError, http.client.HTTPException) as e:
            with lock:
                failures.append(f"{target.name}: {type(e).__name__}: {e}")
            return None
        if status != 202 or (target.collector and b'"accepted"' not in answer):
            with lock:
                failures.append(f"{target.name}: answered {status} {answer[:200]!r}")
        return seconds

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, jobs))
    target.rounds.append(time.perf_counter() - t0)
    target.latencies += [x for x in lat if x is not None]
    target.requests = len(jobs)


def stored(col, ca):
    _, _, body = col.get("/metrics", ca=ca)
    m = re.search(r"^webseed_collector_reports_stored (\d+)$", body.decode(), re.M)
    return int(m.group(1)) if m else None


def read_table(col, template, count, timeout, failures):
    """GETs of each read endpoint from 8 threads; prints p50/p99, requests/s, peak RSS."""
    info_hash = template["torrents"][0]["info_hash_v1"]
    paths = [("webseeds (one torrent)", f"/api/v1/torrents/{info_hash}/webseeds", count),
             ("mirrors?torrents=false", "/api/v1/mirrors?torrents=false", max(1, count // 10)),
             ("mirrors?limit=50", "/api/v1/mirrors?limit=50", max(1, count // 10)),
             ("mirrors/<name>", "/api/v1/mirrors/" + name(0), count),
             ("mirrors (all)", "/api/v1/mirrors", max(1, count // 100))]
    hdr = (f"| {'read':<24} | {'requests':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} "
           f"| {'bytes':>9} |")
    print(hdr)
    print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
    for label, path, n in paths:
        lat, size = [], [0]

        def one(_):
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", col.port, timeout=timeout)
                conn.request("GET", path)
                res = conn.getresponse()
                body = res.read()
                conn.close()
                if res.status != 200:
                    failures.append(f"GET {path}: {res.status}")
                size[0] = len(body)
            except OSError as e:
                failures.append(f"GET {path}: {e}")
            lat.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(n)))
        sec = time.perf_counter() - t0
        lat.sort()
        print(f"| {label:<24} | {n:>8} | {n / sec:>7.0f} | {lat[len(lat) // 2] * 1000:>7.1f} "
              f"| {lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000:>7.1f} | {size[0]:>9} |")
    peak = 0
    with open(f"/proc/{col.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) // 1024
    print(f"collector peak RSS (VmHWM) after the reads: {peak} MiB")


# ---- the network's scale (issue 14) ----

POLLER = r"""
import http.client, random, sys, threading, time
port, hashes, rate = int(sys.argv[1]), sys.argv[2].split(","), float(sys.argv[3])
def poll(seed):
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = 0
    start = time.monotonic()
    while True:
        if rate > 0:  # paced: this thread's share of `rate` requests/s
            wait = start + n / (rate / 4) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        path = ("/api/v1/mirrors?torrents=false&limit=50" if n % 20 == 19 else
                "/api/v1/torrents/%s/webseeds" % rnd.choice(hashes))
        try:
            conn.request("GET", path)
            conn.getresponse().read()
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n += 1
for i in range(4):
    threading.Thread(target=poll, args=(i,), daemon=True).start()
print("polling", flush=True)
time.sleep(3600)
"""


def _reader(port, paths, count, seed, out):
    """One client process: `count` GETs of random `paths` on one kept-alive connection;
    puts (latencies, failures, last body size) on `out`."""
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat, failures, size = [], [], 0
    for _ in range(count):
        path = rnd.choice(paths)
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            size = len(body)
            if res.status != 200:
                failures.append(f"GET {path}: {res.status}")
        except (OSError, http.client.HTTPException) as e:
            failures.append(f"GET {path}: {e}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        lat.append(time.perf_counter() - t0)
    conn.close()
    out.put((lat, failures, size))


def read_load(port, paths, total, clients=8):
    """`total` GETs spread over `clients` processes: (requests/s, p50 ms, p99 ms, failures,
    body bytes)."""
    out = multiprocessing.Queue()
    per = max(1, total // clients)
    procs = [multiprocessing.Process(target=_reader, args=(port, paths, per, i, out))
             for i in range(clients)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    sec = time.perf_counter() - t0
    for p in procs:
        p.join(timeout=30)
    lat = sorted(x for r in results for x in r[0])
    failures = [f for r in results for f in r[1]]
    return (len(lat) / sec, lat[len(lat) // 2] * 1000,
            lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000, failures, results[0][2])


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scale_section(args, work):
    """The 500 x 200 part (see the module's docstring); returns the failures."""
    failures = []
    t0 = time.perf_counter()
    tdir, template = R.scale_template(os.path.join(work, "scale"), args.scale_torrents)
    col = Collector(os.path.join(work, "scale-col"), tdir, spot_check=False,
                    extra_config="report_rate:\n  per_hour: 100000\n  burst: 100000\n")
    col.start()
    try:
        with ThreadPoolExecutor(REGISTER_THREADS) as pool:
            tokens = list(pool.map(lambda i: col.add_mirror(name(i), url(i)),
                                   range(args.mirrors)))
        setup = time.perf_counter() - t0
        hashes = [t["info_hash_v1"] for t in template["torrents"]]

        def ingest(seed):
            jobs = []
            for i, token in enumerate(tokens):
                r = R.clone(template, name(i), url(i))
                jobs.append((R.body(r), {"Authorization": f"Bearer {token}",
                                         "Content-Type": "application/json",
                                         "Idempotency-Key": r["report_id"]}))
            random.Random(seed).shuffle(jobs)
            target = Target("scale", col.port, None, col)
            run_round(target, jobs, 8, args.timeout, failures)
            return len(jobs) / target.rounds[0]

        def with_readers(seed, rate):
            poller = subprocess.Popen([sys.executable, "-c", POLLER, str(col.port),
                                       ",".join(hashes), str(rate)],
                                      stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
            try:
                poller.stdout.readline()
                time.sleep(0.5)
                return ingest(seed)
            finally:
                poller.kill()
                poller.wait(timeout=10)

        # Alone and with paced readers in alternation, three rounds each, medians compared: a
        # round is ~500 reports (a few seconds), and on a shared 2-core machine two rounds of
        # the same kind differ by up to 15%, so one round of each cannot tell 20% apart.
        alones, paceds = [], []
        for k in range(3):
            alones.append(ingest(10 + k))
            paceds.append(with_readers(20 + k, args.reader_rate))
        flat_out = with_readers(3, 0)
        base = statistics.median(alones)
        paced = statistics.median(paceds)
        slowdown = max(0.0, 1 - paced / base)
        rss_after_ingest = peak_rss_mib(col.proc.pid)
        claims = sum(m["counts"].get("listed", 0)
                     for m in col.json("/api/v1/mirrors?torrents=false")["mirrors"])

        n = args.read_requests
        one = "/api/v1/mirrors/" + name(0)
        reads = [
            ("webseeds (random torrent)", [f"/api/v1/torrents/{h}/webseeds" for h in hashes],
             n * 2, "p99 < 5 ms, > 2000/s", "p50 190 ms, ~10/s"),
            ("mirrors?torrents=false", ["/api/v1/mirrors?torrents=false"], max(8, n // 20),
             "", ""),
            ("mirrors?limit=50", ["/api/v1/mirrors?limit=50"], max(8, n // 20), "", ""),
            ("mirrors/<name>", [one], max(8, n // 4), "", ""),
            ("mirrors (all, streamed)", ["/api/v1/mirrors"], 16, "", "13 MB, ~150 MB/request"),
            ("metrics", ["/metrics"], max(8, n // 20), "", ""),
            ("dashboard overview", ["/"], max(8, n // 40), "", "13 MB page"),
            ("dashboard one mirror", ["/?mirror=" + name(0)], max(8, n // 20), "", ""),
        ]
        print()
        print(f"scale: {args.mirrors} mirrors x {len(hashes)} torrents, {claims} listed claims "
              f"(spot checks off); set up in {setup:.0f} s (torrents, report, mirror add)")
        print()
        hdr = (f"| {'ingest, 8 clients':<28} | {'reports/s':>9} | {'target':<22} |")
        print(hdr)
        print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
        print(f"| {'alone (median of 3 rounds)':<28} | {base:>9.0f} | "
              f"{'rounds: ' + ', '.join(f'{x:.0f}' for x in alones):<22} |")
        print(f"| {f'readers {args.reader_rate:.0f} GETs/s (median)':<28} | {paced:>9.0f} | "
              f"{'rounds: ' + ', '.join(f'{x:.0f}' for x in paceds):<22} |")
        print(f"| {'readers flat out (4 threads)':<28} | {flat_out:>9.0f} | {'(CPU shared)':<22} |")
        verdict = "met" if slowdown <= 0.20 else "NOT met"
        print(f"slowdown with readers at {args.reader_rate:.0f} GETs/s (medians of 3 "
              f"alternating rounds): {slowdown * 100:.0f}% "
              f"(target <= 20%: {verdict}; issue 14 before: 150-170/s cut to 26/s by two "
              f"pollers); readers flat out: {max(0.0, 1 - flat_out / base) * 100:.0f}% (they "
              f"and the clients share the machine's {os.cpu_count()} cores with the collector)")
        print()
        hdr = (f"| {'read, 8 client processes':<26} | {'requests':>8} | {'req/s':>7} "
               f"| {'p50 ms':>7} | {'p99 ms':>7} | {'bytes':>9} | {'target':<20} "
               f"| {'issue 14 before':<24} |")
        print(hdr)
        print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
        results = {}
        ab = shutil.which("ab")
        if ab:  # ApacheBench: a C client, so the figure is the collector's, not Python's
            path = f"/api/v1/torrents/{hashes[0]}/webseeds"
            proc = subprocess.run([ab, "-q", "-k", "-c", "8", "-n", str(n * 4),
                                   f"http://127.0.0.1:{col.port}{path}"],
                                  capture_output=True, text=True, timeout=600)
            out = proc.stdout
            rate = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
            pct = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M))
            failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
            non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
            if failed or non2xx:
                failures.append(f"ab: {failed} failed, non-2xx {non2xx.group(1) if non2xx else 0}")
            size = int(re.search(r"Document Length:\s+(\d+)", out).group(1))
            results["webseeds (one torrent, ab)"] = (rate, float(pct["99"]))
            print(f"| {'webseeds (one torrent, ab)':<26} | {n * 4:>8} | {rate:>7.0f} "
                  f"| {float(pct['50']):>7.1f} | {float(pct['99']):>7.1f} | {size:>9} "
                  f"| {'p99 < 5 ms, > 2000/s':<20} | {'p50 190 ms, ~10/s':<24} |")
        for label, paths, count, target, before in reads:
            rate, p50, p99, errs, size = read_load(col.port, paths, count)
            failures += errs
            results[label] = (rate, p99)
            print(f"| {label:<26} | {count:>8} | {rate:>7.0f} | {p50:>7.1f} | {p99:>7.1f} "
                  f"| {size:>9} | {target:<20} | {before:<24} |")
        key = "webseeds (one torrent, ab)" if ab else "webseeds (random torrent)"
        rate, p99 = results[key]
        peak = peak_rss_mib(col.proc.pid)
        print(f"webseeds ({'ab, whole ms' if ab else 'Python clients'}): p99 {p99:.2f} ms (target < 5 ms: {'met' if p99 < 5 else 'NOT met'}), "
              f"{rate:.0f} requests/s (target > 2000: {'met' if rate > 2000 else 'NOT met'})")
        print(f"collector peak RSS (VmHWM): {rss_after_ingest:.0f} MiB after the ingest rounds, "
              f"{peak:.0f} MiB after every read "
              f"(target < 100 MB: {'met' if peak * 1.048576 < 100 else 'NOT met'}; issue 14 "
              f"before: 24 -> 600 MB after /api/v1/mirrors)")
    finally:
        col.stop()
    return failures


def spot_section(args, work):
    """Spot checks at scale: --mirrors mirrors (every one claiming --scale-torrents torrents
    ready) served by --nginx nginx instances on loopback; the time from the last report stored
    until every mirror has had its first check (and until all of them are listed)."""
    failures = []
    root = os.path.join(work, "spot-root")
    tdir, template = R.scale_template(os.path.join(work, "spot"), args.scale_torrents,
                                      payload=root)
    for d, _, files in os.walk(work):
        os.chmod(d, 0o755)
    webs = [webservers.Nginx(root).start() for _ in range(args.nginx)]
    spot_keys = {"round_every": "2s", "allow_private": "true"}
    col = Collector(os.path.join(work, "spot-col"), tdir, spot_check=True,
                    extra_config="".join(f"  {k}: {v}\n" for k, v in spot_keys.items())
                    + "report_rate:\n  per_hour: 100000\n  burst: 100000\n")
    try:
        col.start()
        bases = [w.base_url for w in webs]
        with ThreadPoolExecutor(REGISTER_THREADS) as pool:
            tokens = list(pool.map(lambda i: col.add_mirror(name(i), bases[i % len(bases)]),
                                   range(args.mirrors)))

        def post(i):
            return col.post_report(R.clone(template, name(i), bases[i % len(bases)]), tokens[i])

        t_first = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(args.mirrors)))
        bad = [a for a in answers if a[0] != 202]
        if bad:
            return [f"spot: {len(bad)} reports refused, first: {bad[0]}"]
        t0 = time.perf_counter()
        first_all = None
        checked = listed = 0
        deadline = t0 + args.spot_timeout
        while time.perf_counter() < deadline:
            doc = col.json("/api/v1/mirrors?torrents=false")["mirrors"]
            seen = sum(1 for m in doc
                       if m["counts"].get("listed", 0) + m["counts"].get("spot-failed", 0) > 0)
            checked = sum(m["counts"].get("listed", 0) + m["counts"].get("spot-failed", 0)
                          for m in doc)
            listed = sum(m["counts"].get("listed", 0) for m in doc)
            if first_all is None and seen == args.mirrors:
                first_all = time.perf_counter() - t0
                break
            time.sleep(0.5)
        failed = sum(m["counts"].get("spot-failed", 0) for m in doc)
        if failed:
            failures.append(f"spot: {failed} pairs spot-failed against good nginx mirrors")
        print()
        print(f"spot checks: {args.mirrors} mirrors x {len(template['torrents'])} torrents "
              f"claimed ready, served by {len(webs)} nginx on 127.0.0.1; collector defaults but "
              f"{', '.join(f'{k}: {v}' for k, v in spot_keys.items())} (max_checks_per_round "
              f"200, max_concurrent_mirrors 8, pieces 2 of 16 KiB)")
        if first_all is None:
            print(f"every mirror's first check: NOT within {args.spot_timeout:.0f} s "
                  f"({checked} pairs checked)")
        else:
            print(f"every mirror's first check: {first_all:.1f} s after the last report, "
                  f"{first_all + t0 - t_first:.1f} s after the first "
                  f"({checked} pairs checked by then, {listed} listed; issue 14 before: mirror "
                  f"#500 waited 8-22 h)")
    finally:
        col.stop()
        for w in webs:
            w.stop()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--collector", default="build/webseed-collector")
    ap.add_argument("--agent", default="build/webseed-agent")
    ap.add_argument("--mirrors", type=int, default=500)
    ap.add_argument("--reports", type=int, default=2, help="reports per mirror per round")
    ap.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    ap.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    ap.add_argument("--read-requests", type=int, default=2000,
                    help="GETs per read endpoint (default 2000)")
    ap.add_argument("--scale-torrents", type=int, default=200,
                    help="torrents of the scale part (default 200; 0: skip it)")
    ap.add_argument("--only-scale", action="store_true", help="run only the scale part")
    ap.add_argument("--nginx", type=int, default=4, help="nginx instances of the spot part")
    ap.add_argument("--spot-timeout", type=float, default=300.0,
                    help="seconds to wait for every mirror's first check (default 300)")
    ap.add_argument("--reader-rate", type=float, default=200.0,
                    help="GETs/s of the readers during the paced ingest round (default 200)")
    args = ap.parse_args()
    if min(args.mirrors, args.reports, args.clients, args.runs) < 1 or args.timeout <= 0:
        die("--mirrors, --reports, --clients, --runs and --timeout must be positive", 2)
    for what, path in (("collector", args.collector), ("agent", args.agent)):
        if not os.access(path, os.X_OK):
            die(f"{what} binary not found or not executable: {path} (run `make` first)", 2)
    os.environ["WEBSEED_COLLECTOR"] = os.path.abspath(args.collector)
    os.environ["WEBSEED_AGENT"] = os.path.abspath(args.agent)

    work = tempfile.mkdtemp(prefix="collector-bench-")
    os.chmod(work, 0o755)
    cleanup = []
    try:
        if args.only_scale:
            for k, v in machine_info(work):
                print(f"{k + ':':<12}{v}")
            failures = scale_section(args, work) + spot_section(args, work)
            if failures:
                die(f"{len(failures)} failed requests, first: {failures[0]}")
            return 0
        tdir, template = R.template(os.path.join(work, "template"))
        ca = tls.TestCA(os.path.join(work, "ca"))
        cert, key = ca.issue("collector", ["127.0.0.1"])
        client_tls = ssl.create_default_context(cafile=str(ca.cert))

        col_http = Collector(os.path.join(work, "http"), tdir, spot_check=False)
        col_https = Collector(os.path.join(work, "https"), tdir, spot_check=False,
                              tls=(cert, key))
        for c in (col_http, col_https):
            c.start()
            cleanup.append(c.stop)
        base_http, base_https = Baseline(), Baseline(cert, key)
        cleanup += [base_http.close, base_https.close]

        reg = {}
        tokens = {}
        for label, col in (("http", col_http), ("https", col_https)):
            t0 = time.perf_counter()
            with ThreadPoolExecutor(REGISTER_THREADS) as pool:
                tokens[label] = list(pool.map(lambda i, c=col: c.add_mirror(name(i), url(i)),
                                              range(args.mirrors)))
            reg[label] = time.perf_counter() - t0

        targets = [Target("baseline http", base_http.port, None),
                   Target("collector http", col_http.port, None, col_http),
                   Target("baseline https", base_https.port, client_tls),
                   Target("collector https", col_https.port, client_tls, col_https)]
        failures = []
        for rnd in range(args.runs):
            k = rnd % len(targets)
            for t in targets[k:] + targets[:k]:
                scheme = "https" if t.ctx else "http"
                jobs = jobs_for(template, tokens[scheme], args.reports, rnd)
                run_round(t, jobs, args.clients, args.timeout, failures)
                if failures:
                    die(f"{len(failures)} failed requests, first: {failures[0]}")
        sent = args.runs * args.mirrors * args.reports
        for label, col, ctx in (("http", col_http, None), ("https", col_https, ca.cert)):
            n = stored(col, ctx)
            if n != sent:
                die(f"collector {label}: reports_stored is {n}, expected {sent}")

        print()
        for k, v in machine_info(work):
            print(f"{k + ':':<12}{v}")
        print(f"{'load:':<12}{args.mirrors} mirrors x {args.reports} reports per round, "
              f"{args.clients} client threads, one connection per request, "
              f"report {len(R.body(template))} bytes")
        print(f"{'runs:':<12}{args.runs} rounds (interleaved, order rotated); seconds = median "
              f"round; latency over all {args.runs} rounds")
        print(f"{'baseline:':<12}Python ThreadingHTTPServer in a child process: reads the body, "
              f"answers 202, stores nothing")
        print()
        hdr = (f"| {'target':<16} | {'requests':>8} | {'seconds':>8} | {'reports/s':>9} "
               f"| {'p50 ms':>7} | {'p99 ms':>7} | {'vs baseline':>11} |")
        print(hdr)
        print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
        rate = {}
        for t in targets:
            sec = statistics.median(t.rounds)
            rate[t.name] = t.requests / sec
            lat = sorted(t.latencies)
            p50 = lat[len(lat) // 2] * 1000
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
            base = rate.get(t.name.replace("collector", "baseline"))
            ratio = f"{rate[t.name] / base:.2f}x" if t.collector and base else "-"
            print(f"| {t.name:<16} | {t.requests:>8} | {sec:>8.3f} | {rate[t.name]:>9.0f} "
                  f"| {p50:>7.1f} | {p99:>7.1f} | {ratio:>11} |")
        print()
        for label in ("http", "https"):
            print(f"mirror add ({REGISTER_THREADS} processes at a time), {label} collector: "
                  f"{args.mirrors} in {reg[label]:.2f} s ({args.mirrors / reg[label]:.0f}/s)")
        print("vs baseline = collector reports/s / baseline reports/s, same scheme")
        print()
        read_table(col_http, template, args.read_requests, args.timeout, failures)
        if failures:
            die(f"{len(failures)} failed reads, first: {failures[0]}")
        for c in (col_http, col_https):
            c.stop()
        if args.scale_torrents > 0:
            failures = scale_section(args, work) + spot_section(args, work)
            if failures:
                die(f"{len(failures)} failed requests, first: {failures[0]}")
        return 0
    finally:
        for fn in reversed(cleanup):
            try:
                fn()
            except Exception:  # noqa: BLE001  best effort at exit
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
