#!/usr/bin/env python3
"""checkpointd benchmark: checkpoint and restore through checkpointd vs by hand
with Docker's own calls, restored vs cold time to ready, moving a checkpoint
to a second engine, the same on a Podman engine (checkpointd vs libpod's own
calls), and the API's throughput (bench/api_bench.py).

Method (bench/README.md defines every figure):

* One private engine (`tests/bed/engine.sh start bench <free port>`), the test
  image (`tests/bed/images.sh`), the Tomcat image (`bench/tomcat-image.sh`),
  and the real build/checkpointd with a temporary data folder on a free
  loopback port.  Everything but the transfer is measured on that one engine,
  per workload, in the same run.
* A second private engine, `bench-b` (its own dockerd, containerd and data
  root: another "host", on the same machine and disk), known to the service
  as engine `b`.  All it holds is what the service moves there; its
  containers and images are removed when the run starts.
* Workloads, all in network mode none, each with a readiness probe that asks
  the app itself, run inside the container through the Engine API's exec:
  - slowboot: `slowboot --boot-seconds S --heap-mib M --port 8080` from the
    test image (boots for S s, then holds M MiB of touched memory and answers
    "ok"); probe `sh -c "nc 127.0.0.1 8080 </dev/null | grep -q ok"`.
    Full run: M in 64, 256, 512 by S in 2, 10; QUICK: 64 x 2 and 256 x 2.
  - tomcat10: Tomcat 10 on OpenJDK 17 from Debian 12's packages serving its
    examples, default JVM options; probe
    `curl -fs http://127.0.0.1:8080/examples/servlets/servlet/HelloWorldExample`.
  - tomcat10-jvm: the same app, image and probe, but every checkpoint
    through checkpointd (Docker and Podman) is taken with `"profile": "jvm"`
    (`jcmd 1 GC.run` in the container, then the settle wait; each restore
    first runs `rm -f /tmp/.java_pid1`).  No by-hand figures: Docker's and
    libpod's own calls have no hooks (tomcat10's rows are the by-hand
    baseline).  Its figures against tomcat10's: `jvm_size_over_default`,
    `jvm_restore_over_default`, and its own `jvm_ready_restore_over_cold`.
  "Booted" (before any checkpoint): slowboot has written /tmp/ready (polled
  through the archive API), Tomcat answers its probe (then 1 s idle, so that
  the probe's connection is closed on both sides).
* Per round of a workload, each on a fresh container of its own:
  1. by hand: `POST /commit?pause=true` + `POST /containers/{id}/checkpoints
     {"Exit": true}` (what `docker commit` + `docker checkpoint create` call),
     timed together; then `POST /containers/{id}/start?checkpoint=cp` (what
     `docker start --checkpoint` calls: in place, no copy) and the probe by
     exec through the Engine API, every 20 ms, as the service does; timed from
     the start call to the probe's success.
  2. `POST /checkpoints?wait=true` through checkpointd (commit + dump +
     measure), timed at the client; with transfer: the checkpoint then moves
     to engine b (`POST /checkpoints/{id}/copies?wait=true`, timed, see below).
  3. `POST /restores?wait=true {"checkpoint", "ready": probe}` from the
     workload's one checkpoint (taken through checkpointd before the rounds):
     a new container, to ready; timed at the client.
  4. the same with `"cold": true`: the committed image booted, to ready.
* Where a restore's time goes: Docker's start is split into containerd's
  copy of the checkpoint (from the start call until the last change in the
  ctrd-checkpoint* folder containerd unpacks it into; for the service's
  restores the start call's beginning is the container's StartedAt minus the
  record's start), CRIU's restore (the last timestamp in CRIU's restore.log,
  in containerd's work folder for the container) and the rest (runc,
  containerd's shim, dockerd).  The service's share is the client time minus
  the record's start and ready: create, stage, bookkeeping, HTTP.
* Transfer: `POST /checkpoints/{id}/copies?wait=true {"engine": "b"}` timed on
  the client; it moves the committed image (the whole `docker save` stream)
  and the checkpoint's files.  MB/s = the copy's `bytes` / client s / 1e6.
  Afterwards the checkpoint is deleted through the service (its copy with it)
  and the image force-removed from bench-b; before each copy the harness
  checks that bench-b holds no image.  Service memory: VmHWM of the
  service, reset (`echo 5 > /proc/<pid>/clear_refs`) right before each copy
  and read right after it.
* Times are wall-clock on the client (time.perf_counter around one HTTP
  request, connection set-up included, the same helper for engine and
  service), except the service record's timings_ms.
* Runs are interleaved (round 1 of every figure, then round 2, ...), so a
  change of background load hits all figures alike.  One warm-up round per
  workload is not recorded.  `sync` before every timed call.  containerd's
  ctrd-checkpoint* leftovers (one per restore, ENGINE-NOTES.md) are removed
  between calls, outside any timing.
* Podman: a private Podman engine (`tests/bed/podman.sh start bench-podman
  <free port>`), known to the service as `podman` (`podman+tcp://`), with the
  same two images copied from `bench` (images/get -> images/load -> tag).
  Before the rounds, two archives of the workload, each from a fresh booted
  container: one through checkpointd, one exported by hand.  In every
  round, after Docker's figures:
  5. by hand, on a fresh container: `POST
     /libpod/containers/{id}/checkpoint?export=true` (the archive, written
     to a file), timed.
  6. through checkpointd, on a fresh container: `POST
     /checkpoints?wait=true {"engine": "podman"}`, timed.
  7. by hand: the workload's by-hand archive sent to `POST
     /libpod/containers/import/restore?import=true&name=NEW`, the loopback
     of the new container set up again (Podman leaves it down after a
     restore in network mode none; a helper container in its network
     namespace with NET_ADMIN runs `ip link set lo up`, as the service does
     with its own helper) and the probe, timed from the restore call to the
     probe's success.
  8. `POST /restores?wait=true` of the workload's checkpointd archive: a
     new container (libpod import + the loopback fix), to ready, timed.
  9. the same with `"cold": true`.
  Both restores read an archive made before the rounds: a restore right
  after a checkpoint on the same engine competes with that checkpoint's
  aftermath (presumably Podman's cleanup of the stopped container) and was
  seen slower (CRIU's restore of Tomcat 2-4x).
  Probes on Podman run as the service runs them there: exec with stdout and
  stderr attached, the start call attached (it ends with the command).
* At the end, with the service still running, bench/api_bench.py measures
  the API (`api_get_rps`, `api_over_bare_mhd`).

Environment: QUICK=1 for 3 runs of 4 workloads; BENCH_RESULTS=DIR writes the
results there instead of bench/results; BENCH_ONLY=KEY[,KEY] runs only those
workloads; BENCH_RUNS=N recorded runs per workload; BENCH_NO_API=1 skips the
API figures.
Output: tables on stdout and in bench/results/latest.md,
bench/results/latest.json, and the chart bench/results/time-to-ready.png
(gnuplot, bench/chart.gp).
"""

import datetime
import http.client
import json
import os
import pathlib
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[1]
BED = ROOT / "tests" / "bed"
BINARY = ROOT / "build" / "checkpointd"
RESULTS = pathlib.Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
CRIU = "/opt/checkpointd-bed/bin/criu"
IMAGE = "checkpointd-test:latest"
TOMCAT_IMAGE = "checkpointd-bench/tomcat:10"
ENGINE_NAME = "bench"          # our own engine; tests use e2e*, dev, a, b
ENGINE_B_NAME = "bench-b"      # our second engine, the copies' target
SVC_ENGINE_B = "b"             # bench-b's name inside the service
PODMAN_NAME = "bench-podman"   # our Podman engine (tests/bed/podman.sh)
SVC_PODMAN = "podman"          # its name inside the service
PREFIX = "bench-"              # every container we make is named bench-...
CLI_REPO = "bench-cli"         # images committed by hand

QUICK = os.environ.get("QUICK", "") == "1"
RUNS = int(os.environ.get("BENCH_RUNS") or (3 if QUICK else 5))
ONLY = [k for k in os.environ.get("BENCH_ONLY", "").split(",") if k]   # workload keys
NO_API = os.environ.get("BENCH_NO_API", "") == "1"
WARMUP_ROUNDS = 1
APP_PORT = 8080                # inside the container's own network namespace
START_RETRIES = 3              # engine start?checkpoint= retries on 'already exists'
PROBE_INTERVAL_MS = 20
PROBE_TIMEOUT_S = 180
SLOWBOOT_MATRIX = ((64, 2), (256, 2)) if QUICK else \
    tuple((h, b) for h in (64, 256, 512) for b in (2, 10))
MAIN_KEY = "slowboot-64MiB-2s"  # the top-level figures come from this one
JVM_KEY = "tomcat10-jvm"        # the top-level jvm_... figures come from this one


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(port, method, path, obj=None, timeout=900):
    """One HTTP request to 127.0.0.1:port on a fresh connection.
    Returns (status, parsed JSON or raw bytes, elapsed ms); the clock runs
    from before connecting until the whole answer is read."""
    body = json.dumps(obj).encode() if obj is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        raw = r.read()
    finally:
        conn.close()
    ms = (time.perf_counter() - t0) * 1000.0
    data = raw
    if raw[:1] in (b"{", b"["):
        try:
            data = json.loads(raw)
        except ValueError:
            pass
    return r.status, data, ms


class BenchError(Exception):
    pass


def expect(what, status, data, ok):
    if status not in ok:
        text = json.dumps(data) if isinstance(data, (dict, list)) else repr(data[:800])
        raise BenchError(f"{what}: HTTP {status}: {text}")


def bed(*args, capture=False):
    """Runs a tests/bed script; returns its stdout when capture."""
    out = subprocess.run([str(BED / args[0]), *args[1:]], check=True, text=True,
                         stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    return out.stdout.strip() if capture else None


def docker_time(s):
    """Docker's RFC 3339 time with nanoseconds -> epoch seconds."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", s)
    if not m:
        raise BenchError(f"unexpected time from the engine: {s!r}")
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + frac


# --- the workloads ----------------------------------------------------------------

class Workload:
    """An app to checkpoint: its image and command, how to tell it has
    booted, its readiness probe (argv run inside the container)."""

    def __init__(self, key, label, chart_label, image, cmd, probe, heap_mib=None,
                 boot_s=None, booted_file=None, idle_s=0.0, transfer=True, profile=None,
                 base=None):
        self.key, self.label, self.chart_label = key, label, chart_label
        self.image, self.cmd, self.probe = image, cmd, probe
        self.heap_mib, self.boot_s = heap_mib, boot_s
        self.booted_file = booted_file   # path written once booted, else: the probe
        self.idle_s = idle_s             # wait after booted, before a checkpoint
        self.transfer = transfer
        self.profile = profile           # the service's checkpoints take this profile
        self.base = base                 # the workload without it (same app), its baseline
        self.by_hand = profile is None   # the engines' own calls know no profiles

    def service_probe(self):
        return {"exec": self.probe, "interval_ms": PROBE_INTERVAL_MS,
                "timeout_s": PROBE_TIMEOUT_S}

    def checkpoint_body(self, container, engine):
        """The body of POST /checkpoints for this workload."""
        body = {"container": container, "engine": engine}
        if self.profile:
            body["profile"] = self.profile
        return body


def slowboot(heap_mib, boot_s):
    return Workload(
        f"slowboot-{heap_mib}MiB-{boot_s}s", f"slowboot, heap {heap_mib} MiB, boot {boot_s} s",
        f"slowboot {heap_mib} MiB|{boot_s} s boot", IMAGE,
        ["/usr/local/bin/slowboot", "--boot-seconds", str(boot_s), "--heap-mib", str(heap_mib),
         "--port", str(APP_PORT)],
        ["sh", "-c", f"nc 127.0.0.1 {APP_PORT} </dev/null | grep -q ok"],
        heap_mib=heap_mib, boot_s=boot_s, booted_file="/tmp/ready")


def tomcat():
    return Workload(
        "tomcat10", "Tomcat 10 + OpenJDK 17 (Debian), examples", "Tomcat 10|OpenJDK 17",
        TOMCAT_IMAGE, None,
        ["curl", "-fs", f"http://127.0.0.1:{APP_PORT}/examples/servlets/servlet/HelloWorldExample"],
        idle_s=1.0, transfer=not QUICK)


def tomcat_jvm():
    """tomcat10 with every checkpoint through checkpointd taken with the
    service's jvm profile (jcmd 1 GC.run + settle before the dump)."""
    w = tomcat()
    w.key, w.label = "tomcat10-jvm", w.label + ", checkpoints with profile jvm"
    w.chart_label = "Tomcat 10|profile jvm"
    w.profile, w.base, w.by_hand = "jvm", "tomcat10", False
    return w


def workloads():
    ws = [slowboot(h, b) for h, b in SLOWBOOT_MATRIX] + [tomcat(), tomcat_jvm()]
    if ONLY:
        unknown = set(ONLY) - {w.key for w in ws}
        if unknown:
            raise SystemExit(f"bench: BENCH_ONLY names no workload of this run: "
                             f"{sorted(unknown)}; there are {[w.key for w in ws]}")
        ws = [w for w in ws if w.key in ONLY]
    return ws


# --- the engine, called directly ------------------------------------------------

class Engine:
    SCRIPT = "engine.sh"         # the bed script that runs this kind of engine

    def __init__(self, port, name=ENGINE_NAME):
        self.port = port
        self.name = name
        self.dir = pathlib.Path(bed(self.SCRIPT, "dir", name, capture=True))

    def call(self, method, path, obj=None, ok=(200, 201, 204, 304)):
        status, data, ms = http_call(self.port, method, path, obj)
        if ok:
            expect(f"engine {self.name} {method} {path}", status, data, ok)
        return status, data, ms

    def create(self, name, w):
        cfg = {"Image": w.image, "HostConfig": {"NetworkMode": "none"}}
        if w.cmd:
            cfg["Cmd"] = w.cmd
        _, out, _ = self.call("POST", "/containers/create?name=" + urllib.parse.quote(name), cfg)
        return out["Id"]

    def running(self, cid):
        _, out, _ = self.call("GET", f"/containers/{cid}/json")
        return out["State"]["Running"]

    def exec_ok(self, cid, argv):
        """One probe attempt the way the service makes it (engine_exec):
        exec create, start detached, poll its state every 10 ms.  True when
        it ended with status 0; False when it failed or the container does
        not take execs yet (409)."""
        status, x, _ = self.call("POST", f"/containers/{cid}/exec",
                                 {"Cmd": argv, "AttachStdout": False, "AttachStderr": False},
                                 ok=None)
        if status == 409:
            return False
        expect(f"engine {self.name} exec create", status, x, (201,))
        status, data, _ = self.call("POST", f"/exec/{x['Id']}/start", {"Detach": True}, ok=None)
        if status == 409:
            return False
        expect(f"engine {self.name} exec start", status, data, (200, 204))
        deadline = time.time() + 30
        while time.time() < deadline:
            _, j, _ = self.call("GET", f"/exec/{x['Id']}/json")
            if not j["Running"]:
                return j["ExitCode"] == 0
            time.sleep(0.01)
        raise BenchError(f"probe exec in {cid[:12]} still running after 30 s")

    def wait_ready(self, cid, argv, timeout=PROBE_TIMEOUT_S):
        """The probe every PROBE_INTERVAL_MS until it succeeds; returns
        (ms, attempts)."""
        t0 = time.perf_counter()
        deadline = time.time() + timeout
        n = 0
        while time.time() < deadline:
            n += 1
            if self.exec_ok(cid, argv):
                return (time.perf_counter() - t0) * 1000.0, n
            time.sleep(PROBE_INTERVAL_MS / 1000.0)
        raise BenchError(f"container {cid[:12]} not ready within {timeout}s")

    def wait_booted(self, cid, w, timeout=PROBE_TIMEOUT_S):
        """Until the app has booted (see the module's docstring)."""
        if w.booted_file:
            deadline = time.time() + timeout
            while time.time() < deadline:
                status, _, _ = self.call("GET", f"/containers/{cid}/archive?path={w.booted_file}",
                                         ok=None)
                if status == 200:
                    break
                time.sleep(0.1)
            else:
                raise BenchError(f"container {cid[:12]} did not boot within {timeout}s")
        else:
            self.wait_ready(cid, w.probe, timeout)
        if w.idle_s:
            time.sleep(w.idle_s)

    def memory_kib(self, cid):
        """The container's anonymous memory (what a dump must write), KiB."""
        _, s, _ = self.call("GET", f"/containers/{cid}/stats?stream=false&one-shot=true")
        st = s.get("memory_stats", {}).get("stats", {})
        for k in ("anon", "total_rss", "rss"):
            if k in st:
                return st[k] // 1024
        return None

    def wait_stopped(self, cid, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.running(cid):
                return
            time.sleep(0.05)
        raise BenchError(f"container {cid[:12]} still running {timeout}s after its checkpoint")

    def remove(self, ref):
        self.call("DELETE", f"/containers/{ref}?force=1&v=1", ok=(204, 404))

    def remove_ours(self):
        """Every container whose name starts with bench- (ours and the
        service's copies of ours), the images committed by hand or by the
        service from our containers, and the service's checkpoint folders
        (<root>/checkpointd/: each run's service starts with an empty data
        folder, so whatever is there when no service runs is left over)."""
        flt = urllib.parse.quote(json.dumps({"name": [PREFIX]}))
        _, out, _ = self.call("GET", f"/containers/json?all=1&filters={flt}")
        for c in out:
            if any(n.lstrip("/").startswith(PREFIX) for n in c.get("Names", [])):
                self.remove(c["Id"])
        for ref in (CLI_REPO, f"checkpointd/{PREFIX}*"):
            flt = urllib.parse.quote(json.dumps({"reference": [ref]}))
            _, out, _ = self.call("GET", f"/images/json?filters={flt}")
            for i in out:
                self.remove_image(i["Id"])
        for p in (self.dir / "data" / "checkpointd").glob("*"):
            shutil.rmtree(p, ignore_errors=True)

    def restore_copies(self):
        """containerd's ctrd-checkpoint* folders (one per restore)."""
        return {p.name: p for p in (self.dir / "tmp").glob("ctrd-checkpoint*")}

    def drop_leaked_restore_copies(self):
        for p in self.restore_copies().values():
            shutil.rmtree(p, ignore_errors=True)

    def remove_image(self, ref):
        self.call("DELETE", f"/images/{ref}?force=1", ok=(200, 404, 409))

    def empty(self):
        """Every container and image: only for bench-b, which holds nothing
        but what the service moved there."""
        _, out, _ = self.call("GET", "/containers/json?all=1")
        for c in out:
            self.remove(c["Id"])
        _, out, _ = self.call("GET", "/images/json?all=1")
        for i in out:
            self.remove_image(i["Id"])

    def start_split(self, cid, start_wall, start_ms, before):
        """Where a restoring start's time went: containerd's copy (from the
        call until containerd's unpacked copy stopped changing), CRIU's
        restore (its log's last timestamp) and the rest.  start_wall: epoch s
        of the call; before: restore_copies() before it.  Reads files of a
        container that still exists."""
        split = {"copy": None, "criu": None, "other": None}
        work = (self.dir / "data" / "containerd" / "daemon" /
                "io.containerd.runtime.v2.task" / "moby" / cid / "restore.log")
        try:
            with open(work, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 8192))
                stamps = re.findall(rb"^\((\d+\.\d+)\)", fh.read(), re.M)
            if stamps:
                split["criu"] = float(stamps[-1]) * 1000.0
        except OSError:
            pass
        new = [p for n, p in self.restore_copies().items() if n not in before]
        if new:
            last = 0.0
            for p in new:
                last = max(last, p.stat().st_ctime)
                for f in p.rglob("*"):
                    last = max(last, f.lstat().st_ctime)
            split["copy"] = (last - start_wall) * 1000.0
        if split["copy"] is not None and split["criu"] is not None:
            split["other"] = start_ms - split["copy"] - split["criu"]
        return split


class PodmanEngine(Engine):
    """A Podman engine (`podman system service`, tests/bed/podman.sh): the
    Docker-compatible routes where they serve, libpod's for checkpoint and
    restore."""

    SCRIPT = "podman.sh"
    LIBPOD = "/v4.0.0/libpod"

    def exec_ok(self, cid, argv):
        """One probe attempt the way the service makes it on Podman
        (engine_podman_exec): exec create with stdout and stderr attached
        (Podman refuses an exec without a stream), start attached (the call
        ends when the command does), then its exit code.  False when it
        failed or the container does not take execs yet (409)."""
        status, x, _ = self.call("POST", f"/containers/{cid}/exec",
                                 {"Cmd": argv, "AttachStdout": True, "AttachStderr": True},
                                 ok=None)
        if status == 409:
            return False
        expect(f"engine {self.name} exec create", status, x, (201,))
        status, data, _ = self.call("POST", f"/exec/{x['Id']}/start", {"Detach": False}, ok=None)
        if status == 409:
            return False
        expect(f"engine {self.name} exec start", status, data, (200, 204))
        _, j, _ = self.call("GET", f"/exec/{x['Id']}/json")
        return j.get("ExitCode") == 0

    def memory_kib(self, cid):
        """The container's anonymous memory, KiB: Podman's compat stats have
        no breakdown, so its cgroup's memory.stat (rss of cgroup v1, anon of
        v2), found through libpod's inspect (State.CgroupPath)."""
        _, j, _ = self.call("GET", f"{self.LIBPOD}/containers/{cid}/json")
        cg = (j.get("State") or {}).get("CgroupPath")
        if not cg:
            return None
        for path, keys in ((f"/sys/fs/cgroup/memory{cg}/memory.stat", ("total_rss", "rss")),
                           (f"/sys/fs/cgroup{cg}/memory.stat", ("anon",))):
            try:
                with open(path) as fh:
                    st = dict(line.split() for line in fh if len(line.split()) == 2)
            except OSError:
                continue
            for k in keys:
                if k in st:
                    return int(st[k]) // 1024
        return None

    def remove_ours(self):
        """Every container whose name starts with bench- (ours, the
        service's restores of ours, our loopback helpers)."""
        flt = urllib.parse.quote(json.dumps({"name": [PREFIX]}))
        _, out, _ = self.call("GET", f"/containers/json?all=1&filters={flt}")
        for c in out:
            if any(n.lstrip("/").startswith(PREFIX) for n in c.get("Names", [])):
                self.remove(c["Id"])

    def ensure_image(self, src, ref):
        """ref on this engine with the same Id as on engine src: copied when
        missing (`GET /images/{id}/get` on src into a file, `POST
        /images/load` here), then tagged ref (a load of an image got by id
        has no name).  An older image that had the tag is removed."""
        _, info, _ = src.call("GET", f"/images/{urllib.parse.quote(ref, safe='')}/json")
        iid = info["Id"]
        status, mine, _ = self.call("GET", f"/images/{urllib.parse.quote(ref, safe='')}/json",
                                    ok=None)
        old = mine.get("Id") if status == 200 and isinstance(mine, dict) else None
        if old == iid:
            return iid, False
        status, _, _ = self.call("GET", f"/images/{iid}/json", ok=None)
        if status != 200:
            with tempfile.TemporaryFile(prefix="checkpointd-bench-image-") as fh:
                conn = http.client.HTTPConnection("127.0.0.1", src.port, timeout=900)
                try:
                    conn.request("GET", f"/images/{iid}/get")
                    r = conn.getresponse()
                    if r.status != 200:
                        raise BenchError(f"engine {src.name} GET /images/{iid}/get: HTTP "
                                         f"{r.status}: {r.read()[:300]!r}")
                    shutil.copyfileobj(r, fh, 1 << 20)
                finally:
                    conn.close()
                size = fh.tell()
                fh.seek(0)
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900,
                                                  blocksize=1 << 20)
                try:
                    conn.request("POST", "/images/load", body=fh,
                                 headers={"Content-Type": "application/x-tar",
                                          "Content-Length": str(size)})
                    r = conn.getresponse()
                    raw = r.read()
                finally:
                    conn.close()
                if r.status != 200:
                    raise BenchError(f"engine {self.name} POST /images/load: HTTP {r.status}: "
                                     f"{raw[:300]!r}")
        repo, tag = ref.rsplit(":", 1)
        self.call("POST", f"/images/{iid}/tag?repo={urllib.parse.quote(repo, safe='')}&tag={tag}",
                  ok=(200, 201))
        if old:
            self.remove_image(old)
        return iid, True

    def libpod_checkpoint(self, cid, path):
        """`POST /libpod/containers/{id}/checkpoint?export=true` (what `podman
        container checkpoint --export` calls), its answer, the archive,
        written to path as it comes.  Returns (client ms, bytes)."""
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        try:
            conn.request("POST", f"{self.LIBPOD}/containers/{cid}/checkpoint?export=true")
            r = conn.getresponse()
            if r.status != 200:
                raise BenchError(f"engine {self.name} libpod checkpoint of {cid[:12]}: HTTP "
                                 f"{r.status}: {r.read()[:800]!r}")
            with open(path, "wb") as fh:
                shutil.copyfileobj(r, fh, 256 << 10)
                nbytes = fh.tell()
        finally:
            conn.close()
        return (time.perf_counter() - t0) * 1000.0, nbytes

    def libpod_restore(self, path, name):
        """`POST /libpod/containers/import/restore?import=true&name=NAME` with
        the archive as the body (what `podman container restore --import
        --name` calls; printStats=true for CRIU's figures).  Returns {ms,
        upload_ms (until the body was sent), id, criu_restore_ms}."""
        size = os.path.getsize(path)
        t0 = time.perf_counter()
        # the body in 256 KiB pieces, as the service sends it
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900,
                                          blocksize=256 << 10)
        try:
            with open(path, "rb") as fh:
                conn.request("POST", f"{self.LIBPOD}/containers/import/restore?import=true"
                             f"&printStats=true&name={urllib.parse.quote(name)}", body=fh,
                             headers={"Content-Type": "application/x-tar",
                                      "Content-Length": str(size)})
            t_sent = time.perf_counter()
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        ms = (time.perf_counter() - t0) * 1000.0
        if r.status != 200:
            raise BenchError(f"engine {self.name} libpod restore of {path}: HTTP {r.status}: "
                             f"{raw[:800]!r}")
        out = json.loads(raw)
        st = out.get("criu_statistics") or {}
        return {"ms": ms, "upload_ms": (t_sent - t0) * 1000.0, "id": out["Id"],
                "criu_restore_ms": st["restore_time"] / 1000.0 if "restore_time" in st else None}

    def loopback_up(self, cid, name):
        """What the service does after a Podman restore in network mode none
        (jobs_podman_loopback_up): a helper container in the restored one's
        network namespace with NET_ADMIN sets lo up (here busybox's `ip` from
        the test image), created, started, waited for, removed.  Returns (ms,
        {create, start, wait, remove: ms of each call})."""
        t0 = time.perf_counter()
        parts = {}
        _, h, parts["create"] = self.call(
            "POST", "/containers/create?name=" + urllib.parse.quote(name),
            {"Image": IMAGE, "Cmd": ["ip", "link", "set", "lo", "up"],
             "HostConfig": {"NetworkMode": f"container:{cid}", "CapAdd": ["NET_ADMIN"]}})
        try:
            _, _, parts["start"] = self.call("POST", f"/containers/{h['Id']}/start")
            _, st, parts["wait"] = self.call("POST", f"/containers/{h['Id']}/wait")
            if st.get("StatusCode") != 0:
                raise BenchError(f"loopback helper for {cid[:12]} exited {st}")
        finally:
            t1 = time.perf_counter()
            self.remove(h["Id"])
            parts["remove"] = (time.perf_counter() - t1) * 1000.0
        return (time.perf_counter() - t0) * 1000.0, parts


# --- the service ------------------------------------------------------------------

class Service:
    """build/checkpointd on a free port with a temporary data folder;
    stopped by its PID."""

    def __init__(self, engines):
        """engines: [(name, port, kind)], kind "docker" or "podman"; the
        first the default."""
        self.data_dir = tempfile.mkdtemp(prefix="checkpointd-bench-")
        self.port = free_port()
        self.log_path = os.path.join(self.data_dir, "service.log")
        self.log = open(self.log_path, "ab")
        flags = []
        for name, port, kind in engines:
            scheme = "podman+tcp" if kind == "podman" else "tcp"
            flags += ["--engine", f"{name}={scheme}://127.0.0.1:{port}"]
        self.proc = subprocess.Popen(
            [str(BINARY), "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
             *flags],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"checkpointd exited {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise BenchError("checkpointd did not listen: " + self.log_tail())

    def call(self, method, path, obj=None, ok=(200, 201, 204)):
        status, data, ms = http_call(self.port, method, path, obj)
        if ok:
            expect(f"checkpointd {method} {path}", status, data, ok)
        return status, data, ms

    def delete(self, kind, rid):
        """DELETE /restores/{id} or /checkpoints/{id}, waiting out 409 busy."""
        for _ in range(600):
            status, data, _ = self.call("DELETE", f"/{kind}/{rid}", ok=None)
            if status != 409:
                expect(f"checkpointd DELETE /{kind}/{rid}", status, data, (204, 404))
                return
            time.sleep(0.2)
        raise BenchError(f"{kind} {rid} stayed busy")

    def delete_all_checkpoints(self):
        """Every checkpoint the service holds (api_bench's too), with their
        images and files on the engines."""
        for _ in range(100):
            _, out, _ = self.call("GET", "/checkpoints?limit=100")
            items = out["items"] if isinstance(out, dict) else out
            if not items:
                return
            for ck in items:
                self.delete("checkpoints", ck["id"])

    def status_kib(self, field):
        """VmHWM, VmRSS, ... of the service's /proc/<pid>/status, in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise BenchError(f"no {field} in /proc/{self.proc.pid}/status")

    def reset_peak_rss(self):
        """VmHWM := VmRSS now (clear_refs 5, our own process)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as fh:
            fh.write("5")

    def podman_restore_split(self, rid):
        """The service's log lines of a Podman restore job: (libpod restore
        call ms, loopback set-up ms); None where a line is missing."""
        try:
            text = pathlib.Path(self.log_path).read_text(errors="replace")
        except OSError:
            return None, None
        call = re.search(rf"job {rid}: restored \S+ on Podman in (\d+)ms", text)
        lo = re.search(rf"job {rid}: loopback set up in (\d+)ms", text)
        return (float(call.group(1)) if call else None, float(lo.group(1)) if lo else None)

    def log_tail(self):
        try:
            return pathlib.Path(self.log_path).read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


# --- the figures ----------------------------------------------------------------

def stats(runs):
    """{"runs", "median", "min", "max"} of a list of numbers (ms, MB/s, KiB;
    rounded to 0.1).  None values (a split that could not be read) are left
    out of the median; all-None gives None."""
    runs = [None if x is None else round(float(x), 1) for x in runs]
    have = [x for x in runs if x is not None]
    if not have:
        return None
    return {"runs": runs, "median": round(statistics.median(have), 1),
            "min": min(have), "max": max(have)}


def settle():
    """Writes out dirty pages before a timed call (see the header)."""
    os.sync()


def cli_run(engine, w, n):
    """Round step 1: by hand, in place, on a fresh container: commit +
    checkpoint (timed together), then start?checkpoint= + the probe (timed
    together, from the start call)."""
    name = f"{PREFIX}cli-{n}"
    cid = engine.create(name, w)
    image = None
    r = {}
    try:
        engine.call("POST", f"/containers/{cid}/start")
        engine.wait_booted(cid, w)
        settle()
        t0 = time.perf_counter()
        _, out, r["cli_commit_ms"] = engine.call(
            "POST", f"/commit?container={cid}&repo={CLI_REPO}&tag=r{n}&pause=true", {})
        image = out["Id"]
        _, _, r["checkpoint_engine_ms"] = engine.call(
            "POST", f"/containers/{cid}/checkpoints", {"CheckpointID": "cp", "Exit": True},
            ok=(201,))
        r["checkpoint_cli_ms"] = (time.perf_counter() - t0) * 1000.0
        engine.wait_stopped(cid)
        engine.drop_leaked_restore_copies()
        before = engine.restore_copies()
        settle()
        retries = 0
        wall0 = time.time()
        t0 = time.perf_counter()
        while True:
            status, data, _ = engine.call("POST", f"/containers/{cid}/start?checkpoint=cp", ok=None)
            if status == 204:
                break
            msg = json.dumps(data) if isinstance(data, dict) else repr(data)
            if "already exists" not in msg or retries >= START_RETRIES:
                raise BenchError(f"engine start?checkpoint=cp of {name}: HTTP {status}: {msg}")
            retries += 1
        r["restore_engine_ms"] = (time.perf_counter() - t0) * 1000.0
        r["cli_probe_ms"], _ = engine.wait_ready(cid, w.probe)
        r["restore_cli_ready_ms"] = (time.perf_counter() - t0) * 1000.0
        r["restore_engine_retries"] = retries
        split = engine.start_split(cid, wall0, r["restore_engine_ms"], before)
        for k, v in split.items():
            r["cli_split_" + k] = v
        return r
    finally:
        engine.remove(cid)
        if image:
            engine.remove_image(image)
        engine.drop_leaked_restore_copies()


def hook_figures(ck, prefix):
    """What a checkpoint record says about its before hooks and the settle
    wait: timings_ms.before and .settle, memory_bytes.before_hooks and
    .at_dump (all None for a checkpoint without hooks)."""
    t = ck.get("timings_ms") or {}
    m = ck.get("memory_bytes") or {}
    return {prefix + "rec_before": t.get("before"), prefix + "rec_settle": t.get("settle"),
            prefix + "mem_before_hooks": m.get("before_hooks"),
            prefix + "mem_at_dump": m.get("at_dump")}


def transfer_copy(engine_b, svc, ck):
    """Moves checkpoint ck to engine b (timed); returns the figures."""
    _, left, _ = engine_b.call("GET", "/images/json?all=1")
    if left:
        raise BenchError(f"{ENGINE_B_NAME} still holds images before a copy: "
                         f"{[i['Id'][:19] for i in left]}")
    settle()
    rss_before = svc.status_kib("VmRSS")
    svc.reset_peak_rss()
    _, rec, ms = svc.call("POST", f"/checkpoints/{ck['id']}/copies?wait=true",
                          {"engine": SVC_ENGINE_B}, ok=(201,))
    peak = svc.status_kib("VmHWM")
    copy = [c for c in rec["copies"] if c["engine"] == SVC_ENGINE_B]
    if len(copy) != 1 or copy[0]["status"] != "ready" or not copy[0]["bytes"]:
        raise BenchError(f"copy of {ck['id']} to engine {SVC_ENGINE_B}: {rec['copies']}")
    nbytes = copy[0]["bytes"]
    return {"transfer_ms": ms, "transfer_bytes": nbytes,
            "transfer_mb_s": nbytes / (ms / 1000.0) / 1e6,
            "transfer_checkpoint_bytes": ck["size_bytes"],
            "peak_rss_kib": peak, "rss_before_kib": rss_before}


def service_checkpoint_run(engine, engine_b, svc, w, n):
    """Round step 2: a fresh container checkpointed through checkpointd
    (timed), then, for workloads with transfer, moved to engine b.  The
    checkpoint (with its copy), the container and the image on b are gone
    again afterwards."""
    name = f"{PREFIX}svc-{n}"
    cid = engine.create(name, w)
    ck = None
    try:
        engine.call("POST", f"/containers/{cid}/start")
        engine.wait_booted(cid, w)
        mem = engine.memory_kib(cid)
        settle()
        _, ck, ms = svc.call("POST", "/checkpoints?wait=true",
                             w.checkpoint_body(name, ENGINE_NAME), ok=(201,))
        r = {"checkpoint_service_ms": ms, "checkpoint_bytes": ck["size_bytes"],
             "memory_kib": mem}
        for k in ("commit", "checkpoint", "measure", "total"):
            r["ck_rec_" + k] = ck["timings_ms"][k]
        r.update(hook_figures(ck, "ck_"))
        if w.transfer:
            r.update(transfer_copy(engine_b, svc, ck))
        return r
    finally:
        if ck is not None:
            svc.delete("checkpoints", ck["id"])          # and its copy on b
            if w.transfer:
                engine_b.remove_image(ck["image"]["id"])
        engine.remove(cid)


def service_ready_run(engine, svc, ck_id, w, cold):
    """Round steps 3 and 4: POST /restores?wait=true with the probe, a new
    container, restored (or cold); returns (client ms, record, split).  The
    restore is deleted again (its container with it)."""
    body = {"checkpoint": ck_id, "ready": w.service_probe()}
    if cold:
        body["cold"] = True
    engine.drop_leaked_restore_copies()
    before = engine.restore_copies()
    settle()
    status, rec, ms = svc.call("POST", "/restores?wait=true", body, ok=None)
    split = None
    if isinstance(rec, dict) and rec.get("id"):
        try:
            expect("checkpointd POST /restores", status, rec, (201,))
            if rec["status"] != "ready":
                raise BenchError(f"restore {rec['id']} is {rec['status']}: {rec}")
            if not cold:
                cid = rec["container"]["id"]
                _, c, _ = engine.call("GET", f"/containers/{cid}/json")
                start_ms = rec["timings_ms"]["start"]
                wall0 = docker_time(c["State"]["StartedAt"]) - start_ms / 1000.0
                split = engine.start_split(cid, wall0, start_ms, before)
        finally:
            svc.delete("restores", rec["id"])
    else:
        expect("checkpointd POST /restores", status, rec, (201,))
    engine.drop_leaked_restore_copies()
    return ms, rec, split


def podman_libpod_checkpoint_run(pe, w, n, tmpdir):
    """Podman by hand, on a fresh container: the libpod checkpoint with
    export, timed (the archive written to a file in tmpdir as it comes).
    The container and the archive are gone again afterwards."""
    name = f"{PREFIX}plib-{n}"
    tar = pathlib.Path(tmpdir) / f"{name}.tar"
    cid = pe.create(name, w)
    r = {}
    try:
        pe.call("POST", f"/containers/{cid}/start")
        pe.wait_booted(cid, w)
        settle()
        r["podman_checkpoint_libpod_ms"], r["podman_checkpoint_libpod_bytes"] = \
            pe.libpod_checkpoint(cid, tar)
        return r
    finally:
        pe.remove(cid)
        tar.unlink(missing_ok=True)


def podman_libpod_restore_run(pe, w, n, tar):
    """Podman by hand: the workload's by-hand archive (exported before the
    rounds, as the service's) sent to libpod's restore with import into a
    new container, the loopback set up as the service does, and the probe,
    timed together from the restore call until the probe's success.  The
    container is removed again."""
    rid = None
    r = {}
    try:
        settle()
        t0 = time.perf_counter()
        rr = pe.libpod_restore(tar, f"{PREFIX}plib-{n}-r")
        rid = rr["id"]
        r["podman_lib_lo_ms"], lo = pe.loopback_up(rid, f"{PREFIX}plo-{n}")
        for k, v in lo.items():
            r["podman_lib_lo_" + k] = v
        r["podman_lib_probe_ms"], _ = pe.wait_ready(rid, w.probe)
        r["podman_restore_libpod_ready_ms"] = (time.perf_counter() - t0) * 1000.0
        r["podman_lib_restore_ms"] = rr["ms"]
        r["podman_lib_upload_ms"] = rr["upload_ms"]
        r["podman_lib_criu_ms"] = rr["criu_restore_ms"]
        return r
    finally:
        if rid:
            pe.remove(rid)


def podman_service_checkpoint_run(pe, svc, w, n):
    """Podman through checkpointd, on a fresh container: `POST
    /checkpoints?wait=true` on engine podman (dump + export into the
    service's archive), timed; deleted again afterwards."""
    name = f"{PREFIX}psvc-{n}"
    cid = pe.create(name, w)
    ck = None
    try:
        pe.call("POST", f"/containers/{cid}/start")
        pe.wait_booted(cid, w)
        mem = pe.memory_kib(cid)
        settle()
        _, ck, ms = svc.call("POST", "/checkpoints?wait=true",
                             w.checkpoint_body(name, SVC_PODMAN), ok=(201,))
        r = {"podman_checkpoint_service_ms": ms, "podman_checkpoint_bytes": ck["size_bytes"],
             "podman_memory_kib": mem}
        for k in ("commit", "checkpoint", "total"):
            r["podman_ck_rec_" + k] = ck["timings_ms"][k]
        r.update(hook_figures(ck, "podman_ck_"))
        cs = ck.get("criu_stats") or {}
        for k in ("frozen_time_us", "memdump_time_us", "memwrite_time_us"):
            r["podman_ck_criu_" + k] = cs.get(k)
        return r
    finally:
        if ck is not None:
            svc.delete("checkpoints", ck["id"])
        pe.remove(cid)


def podman_service_ready_run(pe, svc, ck_id, w, cold):
    """POST /restores?wait=true of the workload's Podman checkpoint (a new
    container, libpod import) or cold; returns (client ms, record, split:
    the libpod call and the loopback set-up from the service's log, CRIU's
    restore time from the record's statistics).  The restore is deleted
    again (its container with it)."""
    body = {"checkpoint": ck_id, "ready": w.service_probe()}
    if cold:
        body["cold"] = True
    settle()
    status, rec, ms = svc.call("POST", "/restores?wait=true", body, ok=None)
    split = None
    if isinstance(rec, dict) and rec.get("id"):
        try:
            expect("checkpointd POST /restores", status, rec, (201,))
            if rec["status"] != "ready":
                raise BenchError(f"restore {rec['id']} is {rec['status']}: {rec}")
            if not cold:
                call, lo = svc.podman_restore_split(rec["id"])
                cs = rec.get("criu_stats") or {}
                split = {"restore": call, "loopback": lo,
                         "criu": cs["restore_time"] / 1000.0 if "restore_time" in cs else None}
        finally:
            svc.delete("restores", rec["id"])
    else:
        expect("checkpointd POST /restores", status, rec, (201,))
    return ms, rec, split


def podman_round(pe, svc, pck_id, w, n, tmpdir, lib_tar):
    """The Podman figures of one round, in a fixed order: the two
    checkpoints, then the two restores (each of the workload's archive of
    its path) and the cold start.  Without the by-hand paths for a workload
    with a profile (w.by_hand false)."""
    r = podman_libpod_checkpoint_run(pe, w, n, tmpdir) if w.by_hand else {}
    r.update(podman_service_checkpoint_run(pe, svc, w, n))
    if w.by_hand:
        r.update(podman_libpod_restore_run(pe, w, n, lib_tar))

    ms, rec, split = podman_service_ready_run(pe, svc, pck_id, w, cold=False)
    t = rec["timings_ms"]
    after = t.get("after") or 0
    r["podman_restore_service_ready_ms"] = ms
    for k in ("start", "ready", "total"):
        r["podman_rec_" + k] = t[k]
    r["podman_rec_after"] = t.get("after")
    r["podman_ready_restore_ms"] = t["start"] + after + t["ready"]
    r["podman_svc_own_ms"] = ms - t["start"] - after - t["ready"]
    for k, v in split.items():
        r["podman_svc_split_" + k] = v

    ms, rec, _ = podman_service_ready_run(pe, svc, pck_id, w, cold=True)
    t = rec["timings_ms"]
    r["podman_cold_ready_ms"] = ms
    r["podman_ready_cold_ms"] = t["start"] + t["ready"]
    r["podman_cold_rec_start"], r["podman_cold_rec_ready"] = t["start"], t["ready"]
    return r


def one_round(engine, engine_b, svc, ck_id, w, n, pe=None, pck_id=None, tmpdir=None,
              lib_tar=None):
    """One run of every figure, in a fixed order (Docker's, then Podman's);
    returns {name: value}.  The by-hand figures only for a workload without
    a profile (w.by_hand)."""
    r = cli_run(engine, w, n) if w.by_hand else {}
    r.update(service_checkpoint_run(engine, engine_b, svc, w, n))

    ms, rec, split = service_ready_run(engine, svc, ck_id, w, cold=False)
    t = rec["timings_ms"]
    after = t.get("after") or 0     # the checkpoint's after_restore hooks
    r["restore_service_ready_ms"] = ms
    r["restore_service_retries"] = rec["retries"]
    for k in ("create", "stage", "start", "ready", "total"):
        r["rec_" + k] = t[k]
    r["rec_after"] = t.get("after")
    r["ready_restore_ms"] = t["start"] + after + t["ready"]
    r["svc_own_ms"] = ms - t["start"] - after - t["ready"]
    for k, v in split.items():
        r["svc_split_" + k] = v

    ms, rec, _ = service_ready_run(engine, svc, ck_id, w, cold=True)
    t = rec["timings_ms"]
    r["cold_ready_ms"] = ms
    r["ready_cold_ms"] = t["start"] + t["ready"]
    r["cold_rec_start"], r["cold_rec_ready"] = t["start"], t["ready"]
    if pe is not None:
        r.update(podman_round(pe, svc, pck_id, w, n, tmpdir, lib_tar))
    return r


def fmt_ms(v):
    return "-" if v is None else f"{v:.0f}"


def fmt_ratio(v):
    return "-" if v is None else f"{v:.2f}"


def podman_workload_checkpoints(pe, svc, w, tmpdir, cids):
    """The workload's two Podman archives, each from a fresh booted
    container: one taken through checkpointd (the service's restores and
    cold starts use it), one exported by hand into tmpdir (the by-hand
    restores use it; none for a workload with a profile).  Their containers
    stay (stopped) until the workload ends; their ids are appended to cids.
    Returns (record, archive path or None)."""
    name = f"{PREFIX}pck-{w.key}"
    cid = pe.create(name, w)
    cids.append(cid)
    pe.call("POST", f"/containers/{cid}/start")
    pe.wait_booted(cid, w)
    settle()
    _, ck, ms = svc.call("POST", "/checkpoints?wait=true",
                         w.checkpoint_body(name, SVC_PODMAN), ok=(201,))
    log(f"   Podman checkpoint to restore from: {ms:.0f} ms, {ck['size_bytes']} bytes, "
        f"timings_ms {ck['timings_ms']}, criu_stats {ck.get('criu_stats')}"
        + hooks_note(ck))
    if not w.by_hand:
        return ck, None
    name = f"{PREFIX}plibck-{w.key}"
    tar = pathlib.Path(tmpdir) / f"{name}.tar"
    cid = pe.create(name, w)
    cids.append(cid)
    pe.call("POST", f"/containers/{cid}/start")
    pe.wait_booted(cid, w)
    settle()
    ms, nbytes = pe.libpod_checkpoint(cid, tar)
    log(f"   Podman archive by hand to restore from: {ms:.0f} ms, {nbytes} bytes")
    return ck, tar


def hooks_note(ck):
    """A log line's tail for a checkpoint with before hooks: what they
    did and saved (empty without hooks)."""
    t, m = ck.get("timings_ms") or {}, ck.get("memory_bytes") or {}
    if t.get("before") is None:
        return ""
    return (f"; hooks {t.get('before')} ms + settle {t.get('settle')} ms, memory "
            f"{fmt_mib(m.get('before_hooks'))} -> {fmt_mib(m.get('at_dump'))} MiB, hook_results "
            f"{json.dumps(ck.get('hook_results'))[:300]}")


def podman_line(r):
    if "podman_checkpoint_libpod_ms" in r:
        by_hand_ck = (f"checkpoint by hand {r['podman_checkpoint_libpod_ms']:.0f} ms"
                      f" ({r['podman_checkpoint_libpod_bytes']} bytes), ")
        by_hand_restore = (
            f"by hand {r['podman_restore_libpod_ready_ms']:.0f} ms (restore call"
            f" {r['podman_lib_restore_ms']:.0f}: upload {r['podman_lib_upload_ms']:.0f}, criu"
            f" {fmt_ms(r['podman_lib_criu_ms'])}; loopback {r['podman_lib_lo_ms']:.0f}: create"
            f" {r['podman_lib_lo_create']:.0f}, start {r['podman_lib_lo_start']:.0f}, wait"
            f" {r['podman_lib_lo_wait']:.0f}, remove {r['podman_lib_lo_remove']:.0f}; probe"
            f" {r['podman_lib_probe_ms']:.0f}), ")
    else:
        by_hand_ck = by_hand_restore = ""
    hooks = ""
    if r.get("podman_ck_rec_before") is not None:
        hooks = (f"; hooks {r['podman_ck_rec_before']} + settle {r['podman_ck_rec_settle']} ms,"
                 f" memory {fmt_mib(r['podman_ck_mem_before_hooks'])} ->"
                 f" {fmt_mib(r['podman_ck_mem_at_dump'])} MiB")
    return (f"   ... Podman: {by_hand_ck}service"
            f" {r['podman_checkpoint_service_ms']:.0f} ms ({r['podman_checkpoint_bytes']} bytes"
            f"{hooks}) | to ready: {by_hand_restore}service"
            f" {r['podman_restore_service_ready_ms']:.0f}"
            f" ms (start {r['podman_rec_start']}: restore call"
            f" {fmt_ms(r['podman_svc_split_restore'])}, criu {fmt_ms(r['podman_svc_split_criu'])},"
            f" loopback {fmt_ms(r['podman_svc_split_loopback'])};"
            + (f" after hooks {r['podman_rec_after']};" if r.get("podman_rec_after") is not None
               else "")
            + f" ready {r['podman_rec_ready']}), cold {r['podman_cold_ready_ms']:.0f} ms")


def fmt_mib(b):
    return "-" if b is None else f"{b / 2**20:.0f}"


def bench_workload(engine, engine_b, svc, w, counter, pe=None):
    """All figures for one workload, runs interleaved; with pe (the Podman
    engine) Podman's too, in the same rounds."""
    log(f"== {w.key}: {w.label}, {WARMUP_ROUNDS} warm-up + {RUNS} runs"
        f"{'' if w.transfer else ', no transfer'}{', Docker + Podman' if pe else ''}"
        f"{'' if w.by_hand else ', no by-hand figures'}")

    # the one checkpoint that steps 3 and 4 restore from, taken through checkpointd
    ck_name = f"{PREFIX}ck-{w.key}"
    cid = engine.create(ck_name, w)
    engine.call("POST", f"/containers/{cid}/start")
    engine.wait_booted(cid, w)
    settle()
    _, ck, ck_ms = svc.call("POST", "/checkpoints?wait=true",
                             w.checkpoint_body(ck_name, ENGINE_NAME), ok=(201,))
    log(f"   checkpoint to restore from: {ck_ms:.0f} ms, {ck['size_bytes']} bytes, "
        f"timings_ms {ck['timings_ms']}" + hooks_note(ck))

    f = {}
    pcids = []
    pck = tmpdir = lib_tar = None
    try:
        if pe is not None:
            tmpdir = tempfile.mkdtemp(prefix="checkpointd-bench-libpod-")
            pck, lib_tar = podman_workload_checkpoints(pe, svc, w, tmpdir, pcids)
        for i in range(WARMUP_ROUNDS + RUNS):
            counter[0] += 1
            r = one_round(engine, engine_b, svc, ck["id"], w, counter[0], pe,
                          pck["id"] if pck else None, tmpdir, lib_tar)
            label = (f"warm-up {i + 1}" if i < WARMUP_ROUNDS
                     else f"run {i - WARMUP_ROUNDS + 1}/{RUNS}")
            by_hand_ck = by_hand_restore = hooks = ""
            if w.by_hand:
                by_hand_ck = (f"checkpoint by hand {r['checkpoint_cli_ms']:.0f} ms (commit"
                              f" {r['cli_commit_ms']:.0f}), ")
                by_hand_restore = (
                    f"in place {r['restore_cli_ready_ms']:.0f} ms (start"
                    f" {r['restore_engine_ms']:.0f}: copy {fmt_ms(r['cli_split_copy'])}, criu"
                    f" {fmt_ms(r['cli_split_criu'])}; {r['restore_engine_retries']} retries), ")
            if r.get("ck_rec_before") is not None:
                hooks = (f", {r['checkpoint_bytes']} bytes; hooks {r['ck_rec_before']} + settle"
                         f" {r['ck_rec_settle']} ms, memory {fmt_mib(r['ck_mem_before_hooks'])}"
                         f" -> {fmt_mib(r['ck_mem_at_dump'])} MiB")
            line = (f"   {label}: {by_hand_ck}service {r['checkpoint_service_ms']:.0f} ms{hooks} |"
                    f" to ready: {by_hand_restore}"
                    f"service {r['restore_service_ready_ms']:.0f} ms (create {r['rec_create']},"
                    f" stage {r['rec_stage']}, start {r['rec_start']}: copy"
                    f" {fmt_ms(r['svc_split_copy'])}, criu {fmt_ms(r['svc_split_criu'])};"
                    + (f" after hooks {r['rec_after']};" if r.get("rec_after") is not None
                       else "")
                    + f" ready {r['rec_ready']}), cold {r['cold_ready_ms']:.0f} ms")
            if w.transfer:
                line += (f" | copy to b {r['transfer_bytes']} bytes in {r['transfer_ms']:.0f} ms"
                         f" = {r['transfer_mb_s']:.1f} MB/s, peak RSS {r['peak_rss_kib']} KiB"
                         f" (from {r['rss_before_kib']})")
            log(line)
            if pe is not None:
                log(podman_line(r))
            if i >= WARMUP_ROUNDS:
                for k, v in r.items():
                    f.setdefault(k, []).append(v)
    finally:
        svc.delete("checkpoints", ck["id"])
        engine.remove(cid)
        if pck is not None:
            svc.delete("checkpoints", pck["id"])
        for pcid in pcids:
            pe.remove(pcid)
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    st = lambda k: stats(f.get(k, []))  # noqa: E731  (None: no such figure)
    mib = [b / 2**20 for b in f["checkpoint_bytes"]]
    w_out = {
        "label": w.label,
        "image": w.image,
        "cmd": w.cmd,
        "probe": w.probe,
        "heap_mib": w.heap_mib,
        "boot_seconds": w.boot_s,
        "profile": w.profile,
        "baseline_workload": w.base,
        "by_hand": w.by_hand,
        "runs": RUNS,
        "warmup_rounds": WARMUP_ROUNDS,
        # checkpoint
        "checkpoint_cli_ms": with_parts(st("checkpoint_cli_ms"), commit=st("cli_commit_ms"),
                                        checkpoint=st("checkpoint_engine_ms")),
        "checkpoint_engine_ms": st("checkpoint_engine_ms"),
        "checkpoint_service_ms": dict(stats(f["checkpoint_service_ms"]),
                                      timings_ms={k: st("ck_rec_" + k) for k in
                                                  ("commit", "checkpoint", "measure", "total",
                                                   "before", "settle")}),
        "checkpoint_size_bytes": ck["size_bytes"],
        "checkpoint_record": {k: ck.get(k) for k in ("timings_ms", "memory_bytes",
                                                     "hook_results")},
        "checkpoint_bytes": f["checkpoint_bytes"],
        "checkpoint_mib": stats(mib),
        "memory_kib": f["memory_kib"],
        "memory_before_hooks_mib": stats(to_mib(f["ck_mem_before_hooks"])),
        "memory_at_dump_mib": stats(to_mib(f["ck_mem_at_dump"])),
        "checkpoint_mib_per_heap_mib":
            round(statistics.median(mib) / w.heap_mib, 3) if w.heap_mib else None,
        # restore, by hand in place
        "restore_engine_ms": with_parts(st("restore_engine_ms"),
                                        retries=f.get("restore_engine_retries")),
        "restore_cli_ready_ms": with_parts(st("restore_cli_ready_ms"),
                                           start=st("restore_engine_ms"),
                                           ready=st("cli_probe_ms"),
                                           retries=f.get("restore_engine_retries")),
        "restore_cli_split_ms": ({k: st("cli_split_" + k) for k in ("copy", "criu", "other")}
                                 if w.by_hand else None),
        # restore, checkpointd into a new container
        "restore_service_ready_ms": dict(stats(f["restore_service_ready_ms"]),
                                         retries=f["restore_service_retries"]),
        "restore_service_timings_ms": {k: st("rec_" + k) for k in
                                       ("create", "stage", "start", "after", "ready", "total")},
        "restore_service_own_ms": stats(f["svc_own_ms"]),
        "restore_service_split_ms": {k: stats(f["svc_split_" + k])
                                     for k in ("copy", "criu", "other")},
        # time to ready: restored vs cold, both through checkpointd
        "cold_ready_ms": stats(f["cold_ready_ms"]),
        "ready_restore_ms": stats(f["ready_restore_ms"]),
        "ready_cold_ms": dict(stats(f["ready_cold_ms"]), start=stats(f["cold_rec_start"]),
                              ready=stats(f["cold_rec_ready"])),
    }
    if w.transfer:
        w_out.update({
            "transfer_ms": stats(f["transfer_ms"]),
            "transfer_bytes": f["transfer_bytes"],
            "transfer_checkpoint_bytes": f["transfer_checkpoint_bytes"],
            "transfer_mb_s": stats(f["transfer_mb_s"]),
            "peak_rss_kib": dict(stats(f["peak_rss_kib"]),
                                 rss_before_kib=f["rss_before_kib"],
                                 over_before_kib=[p - b for p, b in zip(f["peak_rss_kib"],
                                                                        f["rss_before_kib"])]),
        })
    w_out["restore_over_cli"] = ratio(w_out, "restore_service_ready_ms", "restore_cli_ready_ms")
    w_out["ready_restore_over_cold"] = ratio(w_out, "restore_service_ready_ms", "cold_ready_ms")
    w_out["checkpoint_over_cli"] = ratio(w_out, "checkpoint_service_ms", "checkpoint_cli_ms")
    w_out["breakdown_ms"] = breakdown(f)
    if pe is not None:
        w_out.update(podman_figures(f, w, pck, w_out))
    return w_out


def with_parts(s, **parts):
    """stats() s with more keys, or None when s is None (a figure this
    workload has not: the by-hand ones of a workload with a profile)."""
    return None if s is None else dict(s, **parts)


def to_mib(values):
    return [None if v is None else v / 2**20 for v in values]


def ratio(a, ka, kb, b=None):
    """median of a[ka] / median of (b or a)[kb], rounded; None when either
    is missing."""
    x, y = (a.get(ka) or {}).get("median"), ((b or a).get(kb) or {}).get("median")
    return None if x is None or not y else round(x / y, 3)


def podman_figures(f, w, pck, docker):
    """The Podman figures of a workload from its rounds' values (the
    by-hand ones None for a workload with a profile)."""
    st = lambda k: stats(f.get(k, []))  # noqa: E731
    mib = [b / 2**20 for b in f["podman_checkpoint_bytes"]]
    lib_mib = [b / 2**20 for b in f.get("podman_checkpoint_libpod_bytes", [])]
    p = {
        "podman_checkpoint_libpod_ms": st("podman_checkpoint_libpod_ms"),
        "podman_checkpoint_service_ms": dict(
            stats(f["podman_checkpoint_service_ms"]),
            timings_ms={k: st("podman_ck_rec_" + k) for k in ("commit", "checkpoint",
                                                              "total", "before", "settle")},
            criu_ms={k[:-3]: stats([None if v is None else v / 1000.0
                                    for v in f["podman_ck_criu_" + k]])
                     for k in ("frozen_time_us", "memdump_time_us", "memwrite_time_us")}),
        "podman_checkpoint_size_bytes": pck["size_bytes"],
        "podman_checkpoint_record": {k: pck.get(k) for k in ("timings_ms", "memory_bytes",
                                                             "hook_results")},
        "podman_checkpoint_bytes": f["podman_checkpoint_bytes"],
        "podman_checkpoint_mib": stats(mib),
        "podman_checkpoint_libpod_bytes": f.get("podman_checkpoint_libpod_bytes"),
        "podman_checkpoint_libpod_mib": stats(lib_mib),
        "podman_memory_kib": f["podman_memory_kib"],
        "podman_memory_before_hooks_mib": stats(to_mib(f["podman_ck_mem_before_hooks"])),
        "podman_memory_at_dump_mib": stats(to_mib(f["podman_ck_mem_at_dump"])),
        "podman_checkpoint_mib_per_heap_mib":
            round(statistics.median(mib) / w.heap_mib, 3) if w.heap_mib else None,
        "podman_restore_libpod_ready_ms": with_parts(
            st("podman_restore_libpod_ready_ms"),
            restore=st("podman_lib_restore_ms"), upload=st("podman_lib_upload_ms"),
            criu=st("podman_lib_criu_ms"),
            loopback=with_parts(st("podman_lib_lo_ms"),
                                **{k: st("podman_lib_lo_" + k)
                                   for k in ("create", "start", "wait", "remove")}),
            ready=st("podman_lib_probe_ms")),
        "podman_restore_service_ready_ms": stats(f["podman_restore_service_ready_ms"]),
        "podman_restore_service_timings_ms": {k: st("podman_rec_" + k)
                                              for k in ("start", "after", "ready", "total")},
        "podman_restore_service_own_ms": stats(f["podman_svc_own_ms"]),
        "podman_restore_service_split_ms": {k: stats(f["podman_svc_split_" + k])
                                            for k in ("restore", "criu", "loopback")},
        "podman_cold_ready_ms": stats(f["podman_cold_ready_ms"]),
        "podman_ready_restore_ms": stats(f["podman_ready_restore_ms"]),
        "podman_ready_cold_ms": dict(stats(f["podman_ready_cold_ms"]),
                                     start=stats(f["podman_cold_rec_start"]),
                                     ready=stats(f["podman_cold_rec_ready"])),
    }
    p["podman_restore_over_libpod"] = ratio(p, "podman_restore_service_ready_ms",
                                            "podman_restore_libpod_ready_ms")
    p["podman_ready_restore_over_cold"] = ratio(p, "podman_restore_service_ready_ms",
                                                "podman_cold_ready_ms")
    p["podman_checkpoint_over_libpod"] = ratio(p, "podman_checkpoint_service_ms",
                                               "podman_checkpoint_libpod_ms")
    p["podman_restore_over_docker"] = ratio(p, "podman_restore_service_ready_ms",
                                            "restore_service_ready_ms", docker)
    p["podman_breakdown_ms"] = podman_breakdown(f)
    return p


def median_run(values):
    """Index of the run whose value is the median (the lower one of two)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[(len(order) - 1) // 2]


def breakdown(f):
    """Where each path's time to ready went, in its median run (so the
    parts add up to its total).  No by-hand path for a workload with a
    profile (None)."""
    j = median_run(f["restore_service_ready_ms"])
    r1 = lambda v: None if v is None else round(v, 1)  # noqa: E731
    out = {"cli_in_place": None}
    if f.get("restore_cli_ready_ms"):
        i = median_run(f["restore_cli_ready_ms"])
        out["cli_in_place"] = {
            "run": i + 1, "total": r1(f["restore_cli_ready_ms"][i]), "service": 0.0,
            "create": 0.0, "stage": 0.0,
            "start": r1(f["restore_engine_ms"][i]),
            "engine_copy": r1(f["cli_split_copy"][i]), "criu": r1(f["cli_split_criu"][i]),
            "engine_other": r1(f["cli_split_other"][i]), "after": 0.0,
            "ready": r1(f["restore_cli_ready_ms"][i] - f["restore_engine_ms"][i])}
    out["service_new_container"] = {
        "run": j + 1, "total": r1(f["restore_service_ready_ms"][j]),
        "service": r1(f["svc_own_ms"][j]),
        "create": float(f["rec_create"][j]), "stage": float(f["rec_stage"][j]),
        "start": float(f["rec_start"][j]),
        "engine_copy": r1(f["svc_split_copy"][j]), "criu": r1(f["svc_split_criu"][j]),
        "engine_other": r1(f["svc_split_other"][j]),
        "after": float(f["rec_after"][j] or 0),
        "ready": float(f["rec_ready"][j])}
    return out


def podman_breakdown(f):
    """Where each Podman path's time to ready went, in its median run (no
    by-hand path, None, for a workload with a profile)."""
    j = median_run(f["podman_restore_service_ready_ms"])
    r1 = lambda v: None if v is None else round(v, 1)  # noqa: E731
    svc_call = f["podman_svc_split_restore"][j]
    svc_lo = f["podman_svc_split_loopback"][j]
    out = {"libpod_new_container": None}
    if f.get("podman_restore_libpod_ready_ms"):
        i = median_run(f["podman_restore_libpod_ready_ms"])
        lib_total = f["podman_restore_libpod_ready_ms"][i]
        lib_call = f["podman_lib_restore_ms"][i]
        out["libpod_new_container"] = {
            "run": i + 1, "total": r1(lib_total), "service": 0.0,
            "restore_call": r1(lib_call), "upload": r1(f["podman_lib_upload_ms"][i]),
            "criu": r1(f["podman_lib_criu_ms"][i]),
            "loopback": r1(f["podman_lib_lo_ms"][i]),
            "other": r1(lib_total - lib_call - f["podman_lib_lo_ms"][i]
                        - f["podman_lib_probe_ms"][i]),
            "after": 0.0,
            "ready": r1(f["podman_lib_probe_ms"][i])}
    out["service_new_container"] = {
        "run": j + 1, "total": r1(f["podman_restore_service_ready_ms"][j]),
        "service": r1(f["podman_svc_own_ms"][j]),
        "start": float(f["podman_rec_start"][j]),
        "restore_call": r1(svc_call), "upload": None,
        "criu": r1(f["podman_svc_split_criu"][j]), "loopback": r1(svc_lo),
        "other": (r1(f["podman_rec_start"][j] - svc_call - svc_lo)
                  if svc_call is not None and svc_lo is not None else None),
        "after": float(f["podman_rec_after"][j] or 0),
        "ready": float(f["podman_rec_ready"][j])}
    return out


# --- machine, output ---------------------------------------------------------------

def machine(engine, pe=None):
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = None
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    _, ver, _ = engine.call("GET", "/version")
    criu = subprocess.run([CRIU, "--version"], text=True, capture_output=True).stdout
    criu = criu.splitlines()[0].replace("Version:", "").strip() if criu else None
    cpd = subprocess.run([str(BINARY), "--version"], text=True, capture_output=True).stdout
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty=+dirty"],
                         text=True, capture_output=True).stdout.strip()
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "mem_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "os": platform.freedesktop_os_release().get(
                "PRETTY_NAME") if hasattr(platform, "freedesktop_os_release") else None,
            "docker_version": ver.get("Version"), "containerd_version": next(
                (c.get("Version") for c in ver.get("Components", [])
                 if c.get("Name") == "containerd"), None),
            "criu_version": criu, "checkpointd_version": cpd.strip().split()[-1] if cpd else None,
            "checkpointd_commit": git or None, "podman_version": podman_version(pe)}


def podman_version(pe):
    if pe is None:
        return None
    _, ver, _ = pe.call("GET", "/version")
    return next((c.get("Version") for c in ver.get("Components", [])
                 if c.get("Name") == "Podman Engine"), ver.get("Version"))


FIGURES = [  # (key path, label) in table order; nested keys with a dot; ms unless said
    ("checkpoint_cli_ms",
     "checkpoint by hand: `POST /commit` + `POST /containers/{id}/checkpoints`"),
    ("checkpoint_cli_ms.commit", "... of which commit"),
    ("checkpoint_engine_ms", "... of which checkpoint (Docker + CRIU dump)"),
    ("checkpoint_service_ms", "checkpoint through checkpointd: `POST /checkpoints?wait=true`"),
    ("checkpoint_service_ms.timings_ms.commit", "... record: commit"),
    ("checkpoint_service_ms.timings_ms.checkpoint", "... record: checkpoint"),
    ("checkpoint_service_ms.timings_ms.measure", "... record: measure"),
    ("checkpoint_service_ms.timings_ms.before", "... record: before hooks (jvm: `jcmd 1 GC.run`)"),
    ("checkpoint_service_ms.timings_ms.settle",
     "... record: settle (until the memory stops falling)"),
    ("checkpoint_mib", "checkpoint size on disk (MiB)"),
    ("memory_before_hooks_mib", "container memory before the hooks (record, MiB)"),
    ("memory_at_dump_mib", "container memory at the dump (record, MiB)"),
    ("restore_cli_ready_ms", "**restore in place to ready, by hand: `start?checkpoint=` + probe**"),
    ("restore_engine_ms", "... start call (what `docker start --checkpoint` waits for)"),
    ("restore_cli_split_ms.copy", "... ... containerd's copy of the checkpoint"),
    ("restore_cli_split_ms.criu", "... ... CRIU restore"),
    ("restore_cli_ready_ms.ready", "... probe until ready"),
    ("restore_service_ready_ms",
     "**restore to ready, checkpointd, new container: `POST /restores`**"),
    ("restore_service_timings_ms.create", "... record: create"),
    ("restore_service_timings_ms.stage", "... record: stage"),
    ("restore_service_timings_ms.start", "... record: start (Docker)"),
    ("restore_service_split_ms.copy", "... ... containerd's copy of the checkpoint"),
    ("restore_service_split_ms.criu", "... ... CRIU restore"),
    ("restore_service_timings_ms.after", "... record: after hooks (jvm: `rm -f /tmp/.java_pid1`)"),
    ("restore_service_timings_ms.ready", "... record: ready (probe)"),
    ("cold_ready_ms", "**cold boot to ready, checkpointd: `POST /restores` `cold: true`**"),
    ("transfer_ms", "copy to engine b, image + files: `POST /checkpoints/{id}/copies`"),
    ("transfer_mb_s", "... MB/s (copy `bytes` / client time)"),
    ("peak_rss_kib", "... service peak RSS during the copy (KiB)"),
    ("podman_checkpoint_libpod_ms",
     "Podman: checkpoint by hand: `POST /libpod/containers/{name}/checkpoint?export=true`"),
    ("podman_checkpoint_service_ms", "Podman: checkpoint through checkpointd"),
    ("podman_checkpoint_service_ms.timings_ms.checkpoint", "... record: checkpoint (dump + export)"),
    ("podman_checkpoint_service_ms.criu_ms.frozen_time", "... CRIU: processes frozen"),
    ("podman_checkpoint_service_ms.timings_ms.before", "... record: before hooks"),
    ("podman_checkpoint_service_ms.timings_ms.settle", "... record: settle"),
    ("podman_checkpoint_mib", "Podman: archive size, checkpointd (MiB)"),
    ("podman_checkpoint_libpod_mib", "Podman: archive size, by hand (MiB)"),
    ("podman_memory_before_hooks_mib", "Podman: container memory before the hooks (record, MiB)"),
    ("podman_memory_at_dump_mib", "Podman: container memory at the dump (record, MiB)"),
    ("podman_restore_libpod_ready_ms",
     "**Podman: restore to ready, by hand, new container: `restore?import=true` + loopback + probe**"),
    ("podman_restore_libpod_ready_ms.restore", "... libpod restore call"),
    ("podman_restore_libpod_ready_ms.upload", "... ... sending the archive"),
    ("podman_restore_libpod_ready_ms.criu", "... ... CRIU restore (its statistics)"),
    ("podman_restore_libpod_ready_ms.loopback", "... loopback up (helper container)"),
    ("podman_restore_libpod_ready_ms.loopback.create", "... ... helper create"),
    ("podman_restore_libpod_ready_ms.loopback.start", "... ... helper start"),
    ("podman_restore_libpod_ready_ms.loopback.wait", "... ... helper wait"),
    ("podman_restore_libpod_ready_ms.loopback.remove", "... ... helper remove"),
    ("podman_restore_libpod_ready_ms.ready", "... probe until ready"),
    ("podman_restore_service_ready_ms",
     "**Podman: restore to ready, checkpointd, new container: `POST /restores`**"),
    ("podman_restore_service_timings_ms.start", "... record: start (restore + loopback)"),
    ("podman_restore_service_split_ms.restore", "... ... libpod restore call (service log)"),
    ("podman_restore_service_split_ms.criu", "... ... CRIU restore (its statistics)"),
    ("podman_restore_service_split_ms.loopback", "... ... loopback up (service log)"),
    ("podman_restore_service_timings_ms.after", "... record: after hooks"),
    ("podman_restore_service_timings_ms.ready", "... record: ready (probe)"),
    ("podman_cold_ready_ms",
     "**Podman: cold boot to ready, checkpointd: `POST /restores` `cold: true`**"),
]
MIB_FIGURES = ("transfer_mb_s", "checkpoint_mib", "podman_checkpoint_mib",
               "podman_checkpoint_libpod_mib", "memory_before_hooks_mib", "memory_at_dump_mib",
               "podman_memory_before_hooks_mib", "podman_memory_at_dump_mib")


def dig(d, path):
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def md_table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rows = [rows[0], tuple("-" * w for w in widths)] + rows[1:]
    return ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |" for r in rows]


def markdown(results):
    ws = results["workloads"]
    keys = list(ws)
    runs = next(iter(ws.values()))["runs"]
    out = []
    if any("podman_restore_service_ready_ms" in w for w in ws.values()):
        out += side_by_side(results) + [""]
    prof = profile_tables(results)
    if prof:
        out += prof[1:] + [""]
    out += [f"Medians of {runs} runs (min-max), ms unless said:", ""]
    rows = [("figure", *keys)]
    for path, label in FIGURES:
        if all(dig(ws[k], path) is None for k in keys):
            continue
        cells = []
        for k in keys:
            s = dig(ws[k], path)
            if s is None:
                cells.append("-")
            else:
                fmt = ".1f" if path in MIB_FIGURES else ".0f"
                cells.append(f"{s['median']:{fmt}} ({s['min']:{fmt}}-{s['max']:{fmt}})")
        rows.append((label, *cells))
    out += md_table(rows)

    out += ["", "Docker ratios, each against its alternative in the same run:", ""]
    rows = [("workload", "restore_over_cli (goal <= 1.10)", "ready_restore_over_cold",
             "checkpoint_over_cli", "checkpoint MiB", "per heap MiB", "per anon MiB",
             "retries by hand / service", "transfer_mb_s", "peak_rss_kib (max)",
             "peak over before KiB (max)")]
    for k, w in ws.items():
        mem = [m for m in w["memory_kib"] if m]
        per_mem = (f"{w['checkpoint_mib']['median'] / (statistics.median(mem) / 1024):.2f}"
                   if mem else "-")
        rows.append((k, fmt_ratio(w["restore_over_cli"]), fmt_ratio(w["ready_restore_over_cold"]),
                     fmt_ratio(w["checkpoint_over_cli"]), f"{w['checkpoint_mib']['median']:.0f}",
                     fmt_ratio(w["checkpoint_mib_per_heap_mib"]), per_mem,
                     ("-" if w["restore_engine_ms"] is None
                      else str(sum(w["restore_engine_ms"]["retries"]))) + " / "
                     f"{sum(w['restore_service_ready_ms']['retries'])}",
                     f"{w['transfer_mb_s']['median']:.1f}" if "transfer_mb_s" in w else "-",
                     f"{w['peak_rss_kib']['max']:.0f}" if "peak_rss_kib" in w else "-",
                     f"{max(w['peak_rss_kib']['over_before_kib'])}" if "peak_rss_kib" in w
                     else "-"))
    out += md_table(rows)

    out += ["", "Docker: where the time to ready goes (ms, the median run of each path; the parts add up "
            "to its total):", ""]
    rows = [("workload", "path", "total", "service: create + stage + own",
             "Docker: containerd copy",
             "Docker: other (runc, shim, dockerd)", "CRIU restore", "after hooks",
             "probe until ready")]
    for k, w in ws.items():
        for path, label in (("cli_in_place", "by hand, in place"),
                            ("service_new_container", "checkpointd, new container")):
            b = w["breakdown_ms"][path]
            if b is None:
                continue
            own = b["service"]
            svc = ("0" if path == "cli_in_place" else
                   f"{own:.0f} ({b['create']:.0f} + {b['stage']:.0f} + "
                   f"{own - b['create'] - b['stage']:.0f})")
            rows.append((k, label, f"{b['total']:.0f}", svc, fmt_ms(b["engine_copy"]),
                         fmt_ms(b["engine_other"]), fmt_ms(b["criu"]), fmt_ms(b.get("after")),
                         f"{b['ready']:.0f}"))
    out += md_table(rows)
    if any("podman_breakdown_ms" in w for w in ws.values()):
        out += [""] + podman_tables(results)
    return "\n".join(out)


def side_by_side(results):
    """Docker and Podman per workload: the three times to ready, the
    checkpoints, the ratios."""
    s = lambda v: f"{v / 1000:.2f}"  # noqa: E731
    sm = lambda st, tail="": "-" if st is None else s(st["median"]) + tail  # noqa: E731
    out = ["Docker vs Podman, seconds to ready (medians of "
           f"{next(iter(results['workloads'].values()))['runs']} runs), checkpoints, ratios of "
           "medians:", ""]
    rows = [("workload", "engine", "cold boot", "restored by checkpointd (new container)",
             "restored by hand", "checkpointd / by hand", "restored / cold",
             "checkpoint: checkpointd / by hand (s)", "checkpoint MiB")]
    for k, w in results["workloads"].items():
        rows.append((k, "Docker", s(w["cold_ready_ms"]["median"]),
                     s(w["restore_service_ready_ms"]["median"]),
                     sm(w["restore_cli_ready_ms"], " (in place)"),
                     fmt_ratio(w["restore_over_cli"]), fmt_ratio(w["ready_restore_over_cold"]),
                     f"{s(w['checkpoint_service_ms']['median'])} / "
                     f"{sm(w['checkpoint_cli_ms'])}",
                     f"{w['checkpoint_mib']['median']:.0f}"))
        if "podman_restore_service_ready_ms" not in w:
            continue
        rows.append((k, "Podman", s(w["podman_cold_ready_ms"]["median"]),
                     s(w["podman_restore_service_ready_ms"]["median"]),
                     sm(w["podman_restore_libpod_ready_ms"], " (import)"),
                     fmt_ratio(w["podman_restore_over_libpod"]),
                     fmt_ratio(w["podman_ready_restore_over_cold"]),
                     f"{s(w['podman_checkpoint_service_ms']['median'])} / "
                     f"{sm(w['podman_checkpoint_libpod_ms'])}",
                     f"{w['podman_checkpoint_mib']['median']:.0f}"))
    return out + md_table(rows)


def podman_tables(results):
    """Podman's ratios and where its restores' time goes."""
    ws = results["workloads"]
    out = ["Podman ratios, each against its alternative in the same run:", ""]
    rows = [("workload", "podman_restore_over_libpod", "podman_ready_restore_over_cold",
             "podman_checkpoint_over_libpod", "podman_restore_over_docker",
             "archive MiB (checkpointd / by hand)", "per heap MiB", "per anon MiB")]
    for k, w in ws.items():
        if "podman_breakdown_ms" not in w:
            continue
        mem = [m for m in w["podman_memory_kib"] if m]
        per_mem = (f"{w['podman_checkpoint_mib']['median'] / (statistics.median(mem) / 1024):.2f}"
                   if mem else "-")
        lib = w["podman_checkpoint_libpod_mib"]
        rows.append((k, fmt_ratio(w["podman_restore_over_libpod"]),
                     fmt_ratio(w["podman_ready_restore_over_cold"]),
                     fmt_ratio(w["podman_checkpoint_over_libpod"]),
                     fmt_ratio(w["podman_restore_over_docker"]),
                     f"{w['podman_checkpoint_mib']['median']:.0f} / "
                     + ("-" if lib is None else f"{lib['median']:.0f}"),
                     fmt_ratio(w["podman_checkpoint_mib_per_heap_mib"]), per_mem))
    out += md_table(rows)
    out += ["", "Podman: where the time to ready goes (ms, the median run of each path; the "
            "parts add up to its total):", ""]
    rows = [("workload", "path", "total", "service: own", "libpod restore call",
             "... sending the archive", "... CRIU restore", "loopback up", "other",
             "after hooks", "probe until ready")]
    for k, w in ws.items():
        if "podman_breakdown_ms" not in w:
            continue
        for path, label in (("libpod_new_container", "by hand, new container"),
                            ("service_new_container", "checkpointd, new container")):
            b = w["podman_breakdown_ms"][path]
            if b is None:
                continue
            rows.append((k, label, f"{b['total']:.0f}", f"{b['service']:.0f}",
                         fmt_ms(b["restore_call"]), fmt_ms(b["upload"]), fmt_ms(b["criu"]),
                         fmt_ms(b["loopback"]), fmt_ms(b["other"]), fmt_ms(b.get("after")),
                         f"{b['ready']:.0f}"))
    return out + md_table(rows)


def profile_figures(results):
    """For each workload with a profile (tomcat10-jvm: jvm), its figures
    against its baseline workload (the same app without it, tomcat10) and
    its own restored-vs-cold, under <profile>_... in its entry, and the jvm
    workload's at the top level (None where a side is missing)."""
    ws = results["workloads"]
    for w in ws.values():
        p = w.get("profile")
        if not p:
            continue
        base = ws.get(w.get("baseline_workload"))
        w[f"{p}_size_over_default"] = ratio(w, "checkpoint_mib", "checkpoint_mib", base) \
            if base else None
        w[f"{p}_restore_over_default"] = ratio(w, "restore_service_ready_ms",
                                               "restore_service_ready_ms", base) if base else None
        w[f"{p}_ready_restore_over_cold"] = w["ready_restore_over_cold"]
        if "podman_checkpoint_mib" in w:
            pb = base if base and "podman_checkpoint_mib" in base else None
            w[f"podman_{p}_size_over_default"] = ratio(
                w, "podman_checkpoint_mib", "podman_checkpoint_mib", pb) if pb else None
            w[f"podman_{p}_restore_over_default"] = ratio(
                w, "podman_restore_service_ready_ms", "podman_restore_service_ready_ms",
                pb) if pb else None
            w[f"podman_{p}_ready_restore_over_cold"] = w["podman_ready_restore_over_cold"]
    jw = ws.get(JVM_KEY)
    results["jvm_workload"] = JVM_KEY if jw else None
    for k in ("jvm_size_over_default", "jvm_ready_restore_over_cold",
              "jvm_restore_over_default", "podman_jvm_size_over_default",
              "podman_jvm_ready_restore_over_cold", "podman_jvm_restore_over_default"):
        results[k] = jw.get(k) if jw else None


def profile_tables(results):
    """Each workload with a profile next to its baseline, Docker then
    Podman: sizes, the memory the hooks freed, the times, the ratios."""
    ws = results["workloads"]
    pairs = [(w["baseline_workload"], k) for k, w in ws.items()
             if w.get("profile") and w.get("baseline_workload") in ws]
    if not pairs:
        return []
    s = lambda st: "-" if st is None else f"{st['median'] / 1000:.2f}"  # noqa: E731
    mib = lambda st: "-" if st is None else f"{st['median']:.0f}"  # noqa: E731
    out = ["", "Checkpoints with a profile against the same app without (medians of "
           f"{next(iter(ws.values()))['runs']} runs; s = seconds; restored and cold: through "
           "checkpointd, new container, to ready):", ""]
    rows = [("engine", "workload", "profile", "checkpoint MiB",
             "memory MiB: before hooks -> at dump (record)", "anon MiB before (stats)",
             "checkpoint s (hooks + settle s)", "restored s", "cold boot s", "restored / cold",
             "size / default (jvm goal < 0.5)", "restored / default")]
    for base_key, key in pairs:
        for engine, pre in (("Docker", ""), ("Podman", "podman_")):
            for k in (base_key, key):
                w = ws[k]
                if pre + "checkpoint_mib" not in w:
                    continue
                p = w.get("profile")
                mem = [m for m in w[pre + "memory_kib"] if m]
                t = w[pre + "checkpoint_service_ms"]["timings_ms"]
                hooks = ("" if t.get("before") is None else
                         f" ({s(t['before'])} + {s(t.get('settle'))})")
                rows.append((
                    engine, k, p or "-", f"{w[pre + 'checkpoint_mib']['median']:.0f}",
                    "-" if w.get(pre + "memory_before_hooks_mib") is None else
                    f"{mib(w[pre + 'memory_before_hooks_mib'])} -> "
                    f"{mib(w[pre + 'memory_at_dump_mib'])}",
                    f"{statistics.median(mem) / 1024:.0f}" if mem else "-",
                    s(w[pre + "checkpoint_service_ms"]) + hooks,
                    s(w[pre + "restore_service_ready_ms"]), s(w[pre + "cold_ready_ms"]),
                    fmt_ratio(w[pre + "ready_restore_over_cold"]),
                    fmt_ratio(w.get(f"{pre}{p}_size_over_default")) if p else "-",
                    fmt_ratio(w.get(f"{pre}{p}_restore_over_default")) if p else "-"))
    return out + md_table(rows)


def summary(results, api_mod):
    """Everything bench.py prints at the end (also bench/results/latest.md)."""
    m = results["machine"]
    main_w = results["workloads"][results["main_workload"]]
    out = [f"checkpointd {m['checkpointd_version']} benchmark "
           f"({'QUICK' if results['quick'] else 'full'}"
           + (f", partial: {results['partial']}" if results.get("partial") else "")
           + f"), {results['generated_at']}: Docker {m['docker_version']}, Podman "
           f"{m.get('podman_version')}, CRIU {m['criu_version']}, kernel {m['kernel']}, "
           f"{m['cpus']} CPUs, {m['mem_gib']} GiB; {results['duration_s']:.0f} s; load "
           f"{results['loadavg_1m']['before']} -> {results['loadavg_1m']['after']}", ""]
    out.append(markdown(results))
    missed = missed_goals(results)
    if missed:
        out += ["", "Where restore_over_cli misses its goal:"] + missed
    if results.get("api"):
        out += ["", api_mod.table(results)]
    else:
        out += ["", f"API: no figures ({results.get('api_error')})"]
    out += ["", f"restore_over_cli {fmt_ratio(results['restore_over_cli'])} (goal <= 1.10), "
            f"ready_restore_over_cold {fmt_ratio(results['ready_restore_over_cold'])} "
            f"({results['main_workload']})"]
    if "podman_restore_over_libpod" in results:
        out.append(f"Podman: podman_restore_over_libpod "
                   f"{fmt_ratio(results['podman_restore_over_libpod'])}, "
                   f"podman_ready_restore_over_cold "
                   f"{fmt_ratio(results['podman_ready_restore_over_cold'])} "
                   f"({results['main_workload']})")
    if results.get("jvm_workload"):
        out.append(f"jvm profile ({results['jvm_workload']}): jvm_size_over_default "
                   f"{fmt_ratio(results['jvm_size_over_default'])} (goal < 0.5), "
                   f"jvm_ready_restore_over_cold "
                   f"{fmt_ratio(results['jvm_ready_restore_over_cold'])} (goal < 1); Podman: "
                   f"{fmt_ratio(results['podman_jvm_size_over_default'])}, "
                   f"{fmt_ratio(results['podman_jvm_ready_restore_over_cold'])}")
    if results.get("transfer_mb_s") is not None:
        out.append(f"transfer_mb_s {results['transfer_mb_s']:.1f} (median, image + files to "
                   f"engine {SVC_ENGINE_B}), peak_rss_kib {results['peak_rss_kib']} (max over "
                   f"the copies, checkpoint "
                   f"{max(main_w['transfer_checkpoint_bytes']) / 2**20:.0f} MiB)")
    if results.get("api_get_rps") is not None:
        out.append(f"api_get_rps {results['api_get_rps']:.0f}, api_over_bare_mhd "
                   f"{results['api_over_bare_mhd']:.2f} (goal >= 0.5)")
    return "\n".join(out)


def missed_goals(results):
    """A sentence per workload that misses restore_over_cli <= 1.10, from
    its median runs' breakdowns."""
    lines = []
    for k, w in results["workloads"].items():
        if w["restore_over_cli"] is None or w["restore_over_cli"] <= 1.10:
            continue
        c, s = w["breakdown_ms"]["cli_in_place"], w["breakdown_ms"]["service_new_container"]
        diff = s["total"] - c["total"]
        parts = [f"service's own {s['service']:.0f} ms (create {s['create']:.0f}, stage "
                 f"{s['stage']:.0f}, bookkeeping and HTTP "
                 f"{s['service'] - s['create'] - s['stage']:.0f})",
                 f"Docker's start {s['start'] - c['start']:+.0f} ms"]
        if s["engine_copy"] is not None and c["engine_copy"] is not None:
            parts.append(f"of which containerd's copy {s['engine_copy'] - c['engine_copy']:+.0f}")
        if s["criu"] is not None and c["criu"] is not None:
            parts.append(f"CRIU {s['criu'] - c['criu']:+.0f}")
        parts.append(f"probe {s['ready'] - c['ready']:+.0f} ms")
        lines.append(f"- {k}: restore_over_cli {w['restore_over_cli']:.2f} misses 1.10; the "
                     f"service path's median run took {diff:+.0f} ms more than the in-place "
                     f"one: " + ", ".join(parts) + ".")
    return lines


# --- the chart ---------------------------------------------------------------------

def ensure_gnuplot():
    if shutil.which("gnuplot"):
        return True
    if os.geteuid() != 0:
        log("bench: gnuplot missing and not root: no chart (apt-get install gnuplot-nox)")
        return False
    log("bench: installing gnuplot-nox (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=600",
           "--no-install-recommends", "gnuplot-nox"]
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-o", "DPkg::Lock::Timeout=600"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
    if r.returncode != 0 or not shutil.which("gnuplot"):
        log("bench: cannot install gnuplot-nox, no chart: " + r.stderr[-800:])
        return False
    return True


def chart(results):
    """bench/results/time-to-ready.dat from the JSON, then chart.gp makes
    time-to-ready.png.  Returns the PNG's path, or None."""
    dat = RESULTS / "time-to-ready.dat"
    png = RESULTS / "time-to-ready.png"
    lines = ["# time to ready per workload, seconds: median min max of each path",
             "# label  Docker: cold cold_min cold_max service service_min service_max "
             "cli cli_min cli_max  Podman: cold cold_min cold_max service service_min "
             "service_max libpod libpod_min libpod_max"]
    for w in results["workloads"].values():
        cells = []
        for key in ("cold_ready_ms", "restore_service_ready_ms", "restore_cli_ready_ms",
                    "podman_cold_ready_ms", "podman_restore_service_ready_ms",
                    "podman_restore_libpod_ready_ms"):
            s = w.get(key)
            cells += (["NaN"] * 3 if s is None else
                      [f"{s['median'] / 1000:.3f}", f"{s['min'] / 1000:.3f}",
                       f"{s['max'] / 1000:.3f}"])
        lines.append(f"\"{w['chart_label']}\" " + " ".join(cells))
    dat.write_text("\n".join(lines) + "\n")
    if not ensure_gnuplot():
        return None
    m = results["machine"]
    runs = next(iter(results["workloads"].values()))["runs"]
    title = (f"checkpointd {m['checkpointd_version']}: time to ready, medians of {runs} "
             f"(bars: min-max); Docker {m['docker_version'].split('+')[0]}, Podman "
             f"{m.get('podman_version')}, CRIU {m['criu_version']}, {m['cpus']} CPUs; "
             f"{results['generated_at'][:10]}")
    r = subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{png}'; "
                        f"charttitle='{title}'", str(ROOT / "bench" / "chart.gp")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log("bench: gnuplot failed, no chart: " + r.stdout[-1500:])
        return None
    return png


# --- the API (bench/api_bench.py) ----------------------------------------------

def api_figures(svc, engine, results):
    """api_bench.run(...) into results; on failure says why and leaves the
    API keys null."""
    results["api_get_rps"] = None
    results["api_over_bare_mhd"] = None
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import api_bench
    except ImportError as e:
        log(f"bench: no API figures: bench/api_bench.py cannot be imported ({e})")
        results["api_error"] = f"import: {e}"
        return None
    out = {}
    try:
        api_bench.run(svc.port, engine.port, QUICK, out)
    except Exception as e:  # the other figures stand; say why these are missing
        log(f"bench: no API figures: api_bench failed: {type(e).__name__}: {e}")
        results["api_error"] = f"{type(e).__name__}: {e}"
        return None
    results.update(out)
    return api_bench


def start_engine(started, script, name, port):
    """tests/bed/<script> start NAME PORT; records (script, name, PID) in
    started before the call, so that a failed start is stopped too."""
    entry = [script, name, None]
    started.append(entry)
    out = bed(script, "start", name, str(port), capture=True)
    pid = out.splitlines()[-1].strip() if out else ""
    entry[2] = int(pid) if pid.isdigit() else None
    return entry[2]


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def stop_engines(started):
    """Stops every engine we started, newest first, each by its script
    (which stops that engine's own processes), then checks its PID: still
    alive 30 s later, it is killed.  A failure stops none of the others."""
    for script, name, pid in reversed(started):
        try:
            bed(script, "stop", name)
        except Exception as e:  # the PID below still gets stopped
            log(f"bench: {script} stop {name}: {e}")
        if pid is None:
            continue
        deadline = time.time() + 30
        while pid_alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            log(f"bench: {name}'s PID {pid} still runs after stop: SIGKILL")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def main():
    if not os.access(BINARY, os.X_OK):
        raise SystemExit(f"bench: {BINARY} missing: run `make` (or `make bench`)")
    if RUNS < 1:
        raise SystemExit("bench: BENCH_RUNS must be 1 or more")
    wl = workloads()
    main_key = MAIN_KEY if any(w.key == MAIN_KEY for w in wl) else wl[0].key
    t_begin = time.time()
    load_before = os.getloadavg()[0]
    port = free_port()
    log(f"bench: {'QUICK' if QUICK else 'full'} run, engine '{ENGINE_NAME}' on 127.0.0.1:{port}"
        + (f", only {ONLY}" if ONLY else "") + f", {RUNS} runs")
    engine = engine_b = pe = svc = None
    started = []
    api_mod = None
    try:
        start_engine(started, "engine.sh", ENGINE_NAME, port)
        engine = Engine(port)
        engine.remove_ours()                     # leftovers of an interrupted run
        engine.drop_leaked_restore_copies()
        bed("images.sh", str(port))
        t = time.time()
        subprocess.run([str(ROOT / "bench" / "tomcat-image.sh"), str(port)], check=True,
                       stdout=subprocess.DEVNULL)
        log(f"bench: {TOMCAT_IMAGE} ready in {time.time() - t:.0f} s")
        port_b = free_port()
        log(f"bench: engine '{ENGINE_B_NAME}' on 127.0.0.1:{port_b} "
            f"(engine '{SVC_ENGINE_B}' in the service)")
        start_engine(started, "engine.sh", ENGINE_B_NAME, port_b)
        engine_b = Engine(port_b, ENGINE_B_NAME)
        engine_b.empty()                         # b holds only what the service moves
        port_p = free_port()
        ppid = start_engine(started, "podman.sh", PODMAN_NAME, port_p)
        log(f"bench: Podman engine '{PODMAN_NAME}' on 127.0.0.1:{port_p} (PID {ppid}; "
            f"engine '{SVC_PODMAN}' in the service)")
        pe = PodmanEngine(port_p, PODMAN_NAME)
        pe.remove_ours()
        for ref in (IMAGE, TOMCAT_IMAGE):
            t = time.time()
            iid, copied = pe.ensure_image(engine, ref)
            log(f"bench: {ref} on {PODMAN_NAME}: {iid[:19]}, "
                + (f"copied from {ENGINE_NAME} in {time.time() - t:.1f} s" if copied
                   else "already there"))
        svc = Service([(ENGINE_NAME, port, "docker"), (SVC_ENGINE_B, port_b, "docker"),
                       (SVC_PODMAN, port_p, "podman")])
        results = {
            "generated_at": datetime.datetime.now(datetime.timezone.utc)
                                    .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "quick": QUICK,
            "machine": machine(engine, pe),
            "main_workload": main_key,
            "workloads": {},
        }
        if ONLY or RUNS != (3 if QUICK else 5):
            results["partial"] = {"only": ONLY or None, "runs": RUNS}
        counter = [0]
        for w in wl:
            t = time.time()
            results["workloads"][w.key] = bench_workload(engine, engine_b, svc, w, counter, pe)
            results["workloads"][w.key]["chart_label"] = w.chart_label
            results["workloads"][w.key]["duration_s"] = round(time.time() - t, 1)
        profile_figures(results)
        main_w = results["workloads"][main_key]
        results["restore_over_cli"] = main_w["restore_over_cli"]
        results["ready_restore_over_cold"] = main_w["ready_restore_over_cold"]
        results["transfer_mb_s"] = (main_w["transfer_mb_s"]["median"]
                                    if "transfer_mb_s" in main_w else None)
        results["peak_rss_kib"] = (int(main_w["peak_rss_kib"]["max"])
                                   if "peak_rss_kib" in main_w else None)
        results["podman_ready_restore_over_cold"] = main_w["podman_ready_restore_over_cold"]
        results["podman_restore_over_libpod"] = main_w["podman_restore_over_libpod"]
        t = time.time()
        if NO_API:
            results["api_get_rps"] = results["api_over_bare_mhd"] = None
            results["api_error"] = "skipped (BENCH_NO_API=1)"
        else:
            log("== API: bench/api_bench.py")
            api_mod = api_figures(svc, engine, results)
        results["api_duration_s"] = round(time.time() - t, 1)
        results["duration_s"] = round(time.time() - t_begin, 1)
        results["loadavg_1m"] = {"before": round(load_before, 2),
                                 "after": round(os.getloadavg()[0], 2)}
    except BaseException:
        if svc is not None:
            log("bench: failed; checkpointd's log ends:\n" + svc.log_tail())
        raise
    finally:
        if svc is not None:
            try:
                svc.delete_all_checkpoints()
            except Exception as e:  # remove_ours below sweeps what is left
                log(f"bench: cleanup through the service: {e}")
            svc.stop()
        for e_, clean in ((engine, lambda: (engine.remove_ours(),
                                            engine.drop_leaked_restore_copies())),
                          (engine_b, lambda: engine_b.empty()),
                          (pe, lambda: pe.remove_ours())):
            if e_ is not None:
                try:
                    clean()
                except Exception as e:  # the engine stops anyway
                    log(f"bench: cleanup of {e_.name}: {e}")
        stop_engines(started)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "latest.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)
    png = chart(results)
    report = summary(results, api_mod)
    md = RESULTS / "latest.md"
    md.write_text(report + "\n")
    print("\n" + report)
    rel = lambda p: p.relative_to(ROOT) if p.is_relative_to(ROOT) else p  # noqa: E731
    print(f"written: {rel(out)}, {rel(md)}" + (f", {rel(png)}" if png else " (no chart)"))


if __name__ == "__main__":
    main()
