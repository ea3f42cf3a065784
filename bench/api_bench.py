#!/usr/bin/env python3
"""checkpointd API throughput: requests per second of `GET /checkpoints?limit=20`
and `GET /health` on the service vs a bare libmicrohttpd server answering the
same bytes (build/bench/bare_mhd, built from bench/bare_mhd.c with the
service's compiler flags and daemon options).

Method (the figures are defined in bench/README.md):

* The service must be running and have an engine on 127.0.0.1:ENGINE_PORT.
  When `GET /checkpoints?limit=20` has fewer than 20 records, a small counter
  container (`checkpointd-test:latest`, network none, named bench-api-...) is
  started on that engine and checkpointed through the service
  (`POST /checkpoints?wait=true {"container": ..., "engine": ...,
  "leave_running": true}`) until it has 20.  The records stay; the container
  is removed at the end.
* The exact bodies of both answers are fetched from the service into
  temporary files and build/bench/bare_mhd serves them on a free loopback
  port, status, Content-Type and ETag included: the same bytes on the wire,
  without any of the service's work.  It runs with the service's thread pool
  (4, the service's default --threads).  It is stopped by its PID.
* wrk (Debian's; installed with apt-get when missing, as root): 64
  connections, 2 threads, 10 s per run (5 s with quick), 3 runs (2 with
  quick) of each URL on each server, interleaved: run 1 of every
  (URL, server) pair, then run 2; which server goes first alternates from
  run to run.  A 2 s warm-up of every pair runs first and is not recorded.
* A run that has non-2xx answers or socket errors fails the benchmark.  The
  bodies are fetched again at the end; a body that changed in between (a
  record written during the runs) fails it too.
* Figures: per URL and server the median of wrk's `Requests/sec`, and the
  ratio service / bare.  `api_get_rps` is the service's median for
  `/checkpoints?limit=20`, `api_over_bare_mhd` its ratio (goal >= 0.5),
  `api_health_over_bare_mhd` that of `/health`.
* wrk, the service and bare_mhd share this machine's cores; both servers
  share them alike, so the ratio is the figure to compare.

Library: run(service_port, engine_port, quick, out_dict) fills out_dict.
Stand-alone: python3 bench/api_bench.py SERVICE_PORT ENGINE_PORT [--quick]
[--json]: a markdown table on stdout (and the dict as JSON with --json);
QUICK=1 in the environment is the same as --quick.
"""

import http.client
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[1]
BARE_MHD = ROOT / "build" / "bench" / "bare_mhd"
IMAGE = "checkpointd-test:latest"
PREFIX = "bench-api-"          # our containers; bench.py removes bench-* too

LIST_URL = "/checkpoints?limit=20"
HEALTH_URL = "/health"
URLS = (LIST_URL, HEALTH_URL)
RECORDS = 20
CONNECTIONS = 64
WRK_THREADS = 2
BARE_THREADS = 4               # the service's default --threads
WARMUP_S = 2


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class ApiBenchError(Exception):
    pass


def http_call(port, method, path, obj=None, timeout=300):
    """One request to 127.0.0.1:port; returns (status, raw body bytes)."""
    body = json.dumps(obj).encode() if obj is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def call_json(port, method, path, obj=None, ok=(200, 201, 204), what=""):
    status, raw = http_call(port, method, path, obj)
    if status not in ok:
        raise ApiBenchError(f"{what or 'port %d' % port} {method} {path}: HTTP {status}: "
                            f"{raw[:800]!r}")
    return json.loads(raw) if raw[:1] in (b"{", b"[") else None


def ensure_wrk():
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() != 0:
        raise ApiBenchError("wrk is missing and we are not root: apt-get install wrk")
    log("api: installing wrk (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "wrk"],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "wrk"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 or not shutil.which("wrk"):
        raise ApiBenchError("cannot install wrk: " + r.stderr[-1000:])
    return shutil.which("wrk")


# --- records to list ------------------------------------------------------------

def service_engine_name(service_port, engine_port):
    """The service's name for the engine on 127.0.0.1:engine_port."""
    out = call_json(service_port, "GET", "/engines", what="checkpointd")
    items = out["items"] if isinstance(out, dict) else out
    for e in items:
        u = urllib.parse.urlsplit(e.get("url", ""))
        if u.port == engine_port and u.hostname in ("127.0.0.1", "localhost"):
            return e["name"]
    raise ApiBenchError(f"the service has no engine on 127.0.0.1:{engine_port}: "
                        f"{[e.get('url') for e in items]}")


def populate(service_port, engine_port):
    """Checkpoints of a counter container until the list has RECORDS records.
    Returns how many were taken."""
    have = len(call_json(service_port, "GET", LIST_URL, what="checkpointd")["items"])
    if have >= RECORDS:
        return 0
    engine = service_engine_name(service_port, engine_port)
    name = f"{PREFIX}counter-{os.getpid()}"
    log(f"api: {have} records; checkpointing {name} {RECORDS - have} times")
    cfg = {"Image": IMAGE, "Cmd": ["/usr/local/bin/counter"],
           "HostConfig": {"NetworkMode": "none"}}
    out = call_json(engine_port, "POST", "/containers/create?name=" + name, cfg, what="engine")
    cid = out["Id"]
    try:
        call_json(engine_port, "POST", f"/containers/{cid}/start", what="engine")
        for _ in range(RECORDS - have):
            rec = call_json(service_port, "POST", "/checkpoints?wait=true",
                            {"container": name, "engine": engine, "leave_running": True},
                            ok=(201,), what="checkpointd")
            if rec.get("status") != "ready":
                raise ApiBenchError(f"checkpoint {rec.get('id')} is {rec.get('status')}: {rec}")
    finally:
        http_call(engine_port, "DELETE", f"/containers/{cid}?force=1&v=1")
    n = len(call_json(service_port, "GET", LIST_URL, what="checkpointd")["items"])
    if n < RECORDS:
        raise ApiBenchError(f"{LIST_URL} lists {n} records after populating, not {RECORDS}")
    return RECORDS - have


# --- the baseline ---------------------------------------------------------------

def fetch_bodies(service_port):
    bodies = {}
    for url in URLS:
        status, raw = http_call(service_port, "GET", url)
        if status != 200:
            raise ApiBenchError(f"checkpointd GET {url}: HTTP {status}: {raw[:800]!r}")
        bodies[url] = raw
    return bodies


class BareMhd:
    """build/bench/bare_mhd on a free loopback port (it picks one and prints
    it), serving bodies {url: bytes}; stopped by its PID."""

    def __init__(self, bodies, threads=BARE_THREADS):
        if not os.access(BARE_MHD, os.X_OK):
            raise ApiBenchError(f"{BARE_MHD} is missing: make build/bench/bare_mhd")
        self.dir = tempfile.mkdtemp(prefix="checkpointd-apibench-")
        self.proc = None
        args = []
        for i, (url, body) in enumerate(bodies.items()):
            path = os.path.join(self.dir, f"body{i}.json")
            with open(path, "wb") as fh:
                fh.write(body)
            args.append(f"{urllib.parse.urlsplit(url).path}={path}")
        self.proc = subprocess.Popen([str(BARE_MHD), "--threads", str(threads), "0", *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise ApiBenchError(f"bare_mhd did not start (exit {self.proc.returncode})")
        self.port = int(line)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- wrk ------------------------------------------------------------------------

_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}


def wrk(binary, port, url, seconds):
    """One wrk run; returns {"rps", "latency_avg_ms", "requests"}."""
    cmd = [binary, "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s",
           f"http://127.0.0.1:{port}{url}"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = r.stdout
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if r.returncode != 0 or not m:
        raise ApiBenchError(f"{' '.join(cmd)}: exit {r.returncode}: {out[-1500:]}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    err = re.search(r"Socket errors:.*", out)
    if bad or err:
        raise ApiBenchError(f"{' '.join(cmd)}: {bad.group(0) if bad else err.group(0)}")
    res = {"rps": float(m.group(1))}
    lat = re.search(r"^\s+Latency\s+([\d.]+)(us|ms|s)\b", out, re.M)
    if lat:
        res["latency_avg_ms"] = float(lat.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[lat.group(2)]
    n = re.search(r"^\s+(\d+) requests in", out, re.M)
    if n:
        res["requests"] = int(n.group(1))
    return res


def stats(runs):
    runs = [round(float(x), 1) for x in runs]
    return {"runs": runs, "median": round(statistics.median(runs), 1),
            "min": min(runs), "max": max(runs)}


def run(service_port, engine_port, quick, out_dict, threads=BARE_THREADS):
    """The API figures into out_dict (see the module's docstring)."""
    binary = ensure_wrk()
    seconds = 5 if quick else 10
    nruns = 2 if quick else 3
    taken = populate(service_port, engine_port)
    bodies = fetch_bodies(service_port)
    bare = BareMhd(bodies, threads)
    try:
        servers = {"service": service_port, "bare_mhd": bare.port}
        for url in URLS:                              # the same bytes?
            status, raw = http_call(bare.port, "GET", url)
            if status != 200 or raw != bodies[url]:
                raise ApiBenchError(f"bare_mhd GET {url}: HTTP {status}, body differs")
        log(f"api: warm-up ({WARMUP_S} s per URL and server)")
        for url in URLS:
            for port in servers.values():
                wrk(binary, port, url, WARMUP_S)
        raw = {url: {s: [] for s in servers} for url in URLS}
        for i in range(nruns):
            order = list(servers) if i % 2 == 0 else list(reversed(servers))
            for url in URLS:
                for s in order:
                    res = wrk(binary, servers[s], url, seconds)
                    raw[url][s].append(res)
                    log(f"api: run {i + 1}/{nruns} {s:8} GET {url}: {res['rps']:.0f} req/s")
        after = fetch_bodies(service_port)
        changed = [u for u in URLS if after[u] != bodies[u]]
        if changed:
            raise ApiBenchError(f"the service's answer to {changed} changed during the runs")
    finally:
        bare.stop()

    per_url = {}
    for url in URLS:
        fig = {"body_bytes": len(bodies[url])}
        for s in servers:
            fig[f"{s}_rps"] = stats([r["rps"] for r in raw[url][s]])
            fig[f"{s}_latency_avg_ms"] = [round(r.get("latency_avg_ms", 0.0), 3)
                                          for r in raw[url][s]]
        fig["service_over_bare_mhd"] = round(fig["service_rps"]["median"] /
                                             fig["bare_mhd_rps"]["median"], 3)
        per_url[url] = fig
    out_dict["api"] = {
        "tool": subprocess.run([binary, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True).stdout.splitlines()[0].strip(),
        "connections": CONNECTIONS, "wrk_threads": WRK_THREADS, "duration_s": seconds,
        "runs": nruns, "bare_mhd_threads": threads, "records_listed": RECORDS,
        "records_added": taken, "urls": per_url,
    }
    out_dict["api_get_rps"] = per_url[LIST_URL]["service_rps"]["median"]
    out_dict["api_over_bare_mhd"] = per_url[LIST_URL]["service_over_bare_mhd"]
    out_dict["api_health_rps"] = per_url[HEALTH_URL]["service_rps"]["median"]
    out_dict["api_health_over_bare_mhd"] = per_url[HEALTH_URL]["service_over_bare_mhd"]
    return out_dict


def table(out):
    a = out["api"]
    lines = [f"API throughput: wrk {a['connections']} connections, {a['wrk_threads']} threads, "
             f"{a['duration_s']} s, medians of {a['runs']} runs (req/s)",
             "",
             "| request | service | bare libmicrohttpd | service / bare | body bytes |",
             "|---|---|---|---|---|"]
    for url, f in a["urls"].items():
        s, b = f["service_rps"], f["bare_mhd_rps"]
        lines.append(f"| `GET {url}` | {s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f}) "
                     f"| {b['median']:.0f} ({b['min']:.0f}-{b['max']:.0f}) "
                     f"| {f['service_over_bare_mhd']:.2f} | {f['body_bytes']} |")
    lines += ["", f"api_get_rps = {out['api_get_rps']:.0f}, "
              f"api_over_bare_mhd = {out['api_over_bare_mhd']:.2f} (goal >= 0.5), "
              f"/health: {out['api_health_over_bare_mhd']:.2f}"]
    return "\n".join(lines)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if len(args) != 2 or not all(a.isdigit() for a in args) or flags - {"--quick", "--json"}:
        print("usage: api_bench.py SERVICE_PORT ENGINE_PORT [--quick] [--json]", file=sys.stderr)
        return 2
    quick = "--quick" in flags or os.environ.get("QUICK", "") == "1"
    out = {}
    try:
        run(int(args[0]), int(args[1]), quick, out)
    except (ApiBenchError, OSError) as e:
        log(f"api_bench: {e}")
        return 1
    print(table(out))
    if "--json" in flags:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
