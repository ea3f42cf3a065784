#!/usr/bin/env python3
"""checkpointd benchmark: restoring through checkpointd vs Docker's own
`docker start --checkpoint`, restored vs cold time to ready, and moving a
checkpoint to a second engine.

Method (see bench/README.md for the figures' definitions):

* One private engine (`tests/bed/engine.sh start bench <free port>`), the test
  image (`tests/bed/images.sh`), and the real build/checkpointd with a
  temporary data folder on a free loopback port.  Everything but the transfer
  is measured on that one engine, with the same workload, in the same run.
* A second private engine, `bench-b` (its own dockerd, containerd and data
  root: another "host", on the same machine and disk), known to the service
  as engine `b`.  It never gets the test image from the harness; all it
  holds is what the service moves there.  Its containers and images are
  removed when the run starts.
* Transfer: per run, a fresh container of the workload is booted and
  checkpointed through checkpointd (`POST /checkpoints?wait=true`, untimed),
  then `POST /checkpoints/{id}/copies?wait=true {"engine": "b"}` is timed on
  the client.  Each run moves image + files: the committed image (the whole
  `docker save` stream, base layers included) and then the checkpoint's
  files, both streamed through the service.  MB/s = the copy's `bytes` (from
  the record) / client seconds / 1e6.  After the run the checkpoint is
  deleted through the service (which removes its copy) and the image is
  force-removed from bench-b directly, so no run finds anything on b left
  over from an earlier one; before each timed copy the harness checks that
  bench-b holds no image at all.
* Service memory: the service's peak RSS (VmHWM of /proc/<pid>/status, KiB)
  is reset (`echo 5 > /proc/<pid>/clear_refs`) right before each timed copy
  and read right after it, so it is the peak during that copy alone; its
  VmRSS just before is kept as the baseline (rss_before_kib), and
  peak - baseline as over_before_kib.  Everything runs in one
  service process, so the checkpoint size is reported next to the peak.
* Workload: `slowboot --boot-seconds 2 --heap-mib M --port 8080` in network
  mode none.  "Booted" = /tmp/ready exists in the container (polled through
  the engine's archive API) before any checkpoint is taken.
* Times are wall-clock on the client's side (time.perf_counter around one
  HTTP request, connection set-up included, the same helper for engine and
  service), except where a figure says it is the service record's
  timings_ms.
* The figures' runs are interleaved (run 1 of every figure, then run 2, ...)
  so that a change of background load on this shared machine hits all
  figures alike rather than one of them.
* Before every timed call the host's dirty pages are written out (sync),
  so no call pays for the writeback of an earlier one (a checkpoint just
  written, a restore's copy) and all start from the same state.
* One warm-up round of every figure runs first and is not recorded (first
  use of the image, of containerd's content store, of CRIU).
* containerd leaves a copy of every restored checkpoint in the engine's tmp/
  folder (ENGINE-NOTES.md); it is removed between runs, outside any timed
  call, so the disk does not fill up.  Both paths leave it alike.

Environment: QUICK=1 for fewer runs and the 64 MiB workload only.
Output: a table on stdout, bench/results/latest.json.
"""

import datetime
import http.client
import json
import os
import pathlib
import platform
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
RESULTS = ROOT / "bench" / "results"
CRIU = "/opt/checkpointd-bed/bin/criu"
IMAGE = "checkpointd-test:latest"
ENGINE_NAME = "bench"          # our own engine; tests use e2e*, dev, a, b
ENGINE_B_NAME = "bench-b"      # our second engine, the copies' target
SVC_ENGINE_B = "b"             # bench-b's name inside the service
PREFIX = "bench-"              # every container we make is named bench-...

QUICK = os.environ.get("QUICK", "") == "1"
RUNS = 3 if QUICK else 5
HEAPS_MIB = (64,) if QUICK else (64, 256)
MAIN_HEAP_MIB = 64
BOOT_SECONDS = 2
APP_PORT = 8080                # inside the container's own network namespace
WARMUP_ROUNDS = 1
START_RETRIES = 3              # engine start?checkpoint= retries on 'already exists'
READY_PROBE = {"exec": ["sh", "-c", f"nc 127.0.0.1 {APP_PORT} </dev/null | grep -q ok"],
               "interval_ms": 20, "timeout_s": 120}


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


# --- the engine, called directly ------------------------------------------------

class Engine:
    def __init__(self, port, name=ENGINE_NAME):
        self.port = port
        self.name = name
        self.dir = pathlib.Path(bed("engine.sh", "dir", name, capture=True))

    def call(self, method, path, obj=None, ok=(200, 201, 204, 304)):
        status, data, ms = http_call(self.port, method, path, obj)
        if ok:
            expect(f"engine {self.name} {method} {path}", status, data, ok)
        return status, data, ms

    def create(self, name, heap_mib):
        cfg = {"Image": IMAGE,
               "Cmd": ["/usr/local/bin/slowboot", "--boot-seconds", str(BOOT_SECONDS),
                       "--heap-mib", str(heap_mib), "--port", str(APP_PORT)],
               "HostConfig": {"NetworkMode": "none"}}
        _, out, _ = self.call("POST", "/containers/create?name=" + urllib.parse.quote(name), cfg)
        return out["Id"]

    def running(self, cid):
        _, out, _ = self.call("GET", f"/containers/{cid}/json")
        return out["State"]["Running"]

    def wait_booted(self, cid, timeout=180):
        """Until slowboot has written /tmp/ready (boot over, heap touched)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, _, _ = self.call("GET", f"/containers/{cid}/archive?path=/tmp/ready", ok=None)
            if status == 200:
                return
            time.sleep(0.1)
        raise BenchError(f"container {cid[:12]} did not boot within {timeout}s")

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
        service's copies of ours)."""
        flt = urllib.parse.quote(json.dumps({"name": [PREFIX]}))
        _, out, _ = self.call("GET", f"/containers/json?all=1&filters={flt}")
        for c in out:
            if any(n.lstrip("/").startswith(PREFIX) for n in c.get("Names", [])):
                self.remove(c["Id"])

    def drop_leaked_restore_copies(self):
        """containerd's ctrd-checkpoint* leftovers (one per restore)."""
        for p in (self.dir / "tmp").glob("ctrd-checkpoint*"):
            shutil.rmtree(p, ignore_errors=True)

    def remove_image(self, ref):
        self.call("DELETE", f"/images/{ref}?force=1", ok=(200, 404))

    def empty(self):
        """Every container and image: only for bench-b, which holds nothing
        but what the service moved there."""
        _, out, _ = self.call("GET", "/containers/json?all=1")
        for c in out:
            self.remove(c["Id"])
        _, out, _ = self.call("GET", "/images/json?all=1")
        for i in out:
            self.remove_image(i["Id"])


# --- the service ------------------------------------------------------------------

class Service:
    """build/checkpointd on a free port with a temporary data folder;
    stopped by its PID."""

    def __init__(self, engines):
        """engines: [(name, port)], the first the default."""
        self.data_dir = tempfile.mkdtemp(prefix="checkpointd-bench-")
        self.port = free_port()
        self.log_path = os.path.join(self.data_dir, "service.log")
        self.log = open(self.log_path, "ab")
        flags = []
        for name, port in engines:
            flags += ["--engine", f"{name}=tcp://127.0.0.1:{port}"]
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
    rounded to 0.1)."""
    runs = [round(float(x), 1) for x in runs]
    return {"runs": runs, "median": round(statistics.median(runs), 1),
            "min": min(runs), "max": max(runs)}


def settle():
    """Writes out dirty pages before a timed call (see the header)."""
    os.sync()


def cli_run(engine, n, heap_mib):
    """Figure 1: `docker checkpoint create` + `docker start --checkpoint` in
    place on a fresh container.  Returns (checkpoint ms, start ms, retries);
    the start time spans all attempts, from the first call to the 204."""
    name = f"{PREFIX}cli-{n}"
    cid = engine.create(name, heap_mib)
    try:
        engine.call("POST", f"/containers/{cid}/start")
        engine.wait_booted(cid)
        settle()
        _, _, ck_ms = engine.call("POST", f"/containers/{cid}/checkpoints",
                                  {"CheckpointID": "cp", "Exit": True}, ok=(201,))
        engine.wait_stopped(cid)
        settle()
        retries = 0
        t0 = time.perf_counter()
        while True:
            status, data, _ = engine.call("POST", f"/containers/{cid}/start?checkpoint=cp", ok=None)
            if status == 204:
                break
            msg = json.dumps(data) if isinstance(data, dict) else repr(data)
            if "already exists" not in msg or retries >= START_RETRIES:
                raise BenchError(f"engine start?checkpoint=cp of {name}: HTTP {status}: {msg}")
            retries += 1
        start_ms = (time.perf_counter() - t0) * 1000.0
        if not engine.running(cid):
            raise BenchError(f"{name} is not running after its restore")
        return ck_ms, start_ms, retries
    finally:
        engine.remove(cid)


def service_restore(svc, body):
    """POST /restores?wait=true; returns (client ms, record).  The restore
    is deleted again (its container with it)."""
    settle()
    status, rec, ms = svc.call("POST", "/restores?wait=true", body, ok=None)
    if isinstance(rec, dict) and rec.get("id"):
        try:
            expect("checkpointd POST /restores", status, rec, (201,))
            if rec["status"] != "ready":
                raise BenchError(f"restore {rec['id']} is {rec['status']}: {rec}")
        finally:
            svc.delete("restores", rec["id"])
    else:
        expect("checkpointd POST /restores", status, rec, (201,))
    return ms, rec


def transfer_run(engine, engine_b, svc, n, heap_mib):
    """Figure 4: a fresh checkpoint of the workload, taken through
    checkpointd (untimed), copied to engine b with ?wait=true (timed).
    Returns the run's figures; the checkpoint (with its copy), the container
    and the image on b are gone again afterwards."""
    name = f"{PREFIX}tx-{n}"
    cid = engine.create(name, heap_mib)
    ck = None
    try:
        engine.call("POST", f"/containers/{cid}/start")
        engine.wait_booted(cid)
        settle()
        _, ck, _ = svc.call("POST", "/checkpoints?wait=true",
                            {"container": name, "engine": ENGINE_NAME}, ok=(201,))
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
    finally:
        if ck is not None:
            svc.delete("checkpoints", ck["id"])          # and its copy on b
            engine_b.remove_image(ck["image"]["id"])
        engine.remove(cid)


def one_round(engine, engine_b, svc, ck_id, heap_mib, n):
    """One run of every figure, in a fixed order; returns {name: value}."""
    r = {}
    # 1. Docker's own in-place restore, on a fresh container
    r["checkpoint_engine_ms"], r["restore_engine_ms"], r["restore_engine_retries"] = \
        cli_run(engine, n, heap_mib)
    engine.drop_leaked_restore_copies()

    # 2. checkpointd into a new container, ready = started
    r["restore_service_ms"], rec = service_restore(svc, {"checkpoint": ck_id})
    r["restore_service_retries"] = rec["retries"]
    for k in ("create", "stage", "start", "total"):
        r["rec_" + k] = rec["timings_ms"][k]
    engine.drop_leaked_restore_copies()

    # 3. time to ready through checkpointd, same probe: restored, then cold
    for kind, body in (("restore", {"checkpoint": ck_id, "ready": READY_PROBE}),
                       ("cold", {"checkpoint": ck_id, "cold": True, "ready": READY_PROBE})):
        _, rec = service_restore(svc, body)
        t = rec["timings_ms"]
        r[f"ready_{kind}_ms"] = t["start"] + t["ready"]
        r[f"ready_{kind}_start"] = t["start"]
        r[f"ready_{kind}_ready"] = t["ready"]
        engine.drop_leaked_restore_copies()

    # 4. a fresh checkpoint of the workload moved to engine b: image + files
    r.update(transfer_run(engine, engine_b, svc, n, heap_mib))
    return r


def bench_workload(engine, engine_b, svc, heap_mib, counter):
    """All figures for one heap size, runs interleaved."""
    key = f"heap{heap_mib}"
    log(f"== {key}: slowboot --boot-seconds {BOOT_SECONDS} --heap-mib {heap_mib}, "
        f"{WARMUP_ROUNDS} warm-up + {RUNS} runs")

    # the one checkpoint that figures 2 and 3 restore from, taken through checkpointd
    ck_name = f"{PREFIX}ck-h{heap_mib}"
    cid = engine.create(ck_name, heap_mib)
    engine.call("POST", f"/containers/{cid}/start")
    engine.wait_booted(cid)
    settle()
    _, ck, ck_ms = svc.call("POST", "/checkpoints?wait=true",
                             {"container": ck_name, "engine": ENGINE_NAME}, ok=(201,))
    log(f"   checkpoint through checkpointd: {ck_ms:.0f} ms, {ck['size_bytes']} bytes, "
        f"timings_ms {ck['timings_ms']}")

    f = {}
    try:
        for i in range(WARMUP_ROUNDS + RUNS):
            counter[0] += 1
            r = one_round(engine, engine_b, svc, ck["id"], heap_mib, counter[0])
            label = f"warm-up {i + 1}" if i < WARMUP_ROUNDS else f"run {i - WARMUP_ROUNDS + 1}/{RUNS}"
            log(f"   {label}: engine checkpoint {r['checkpoint_engine_ms']:.0f} ms, engine start"
                f" {r['restore_engine_ms']:.0f} ms ({r['restore_engine_retries']} retries) |"
                f" service restore {r['restore_service_ms']:.0f} ms (create {r['rec_create']},"
                f" stage {r['rec_stage']}, start {r['rec_start']}) | ready restored"
                f" {r['ready_restore_ms']} ms, cold {r['ready_cold_ms']} ms |"
                f" copy to b {r['transfer_bytes']} bytes in {r['transfer_ms']:.0f} ms"
                f" = {r['transfer_mb_s']:.1f} MB/s, service peak RSS {r['peak_rss_kib']} KiB"
                f" (from {r['rss_before_kib']})")
            if i >= WARMUP_ROUNDS:
                for k, v in r.items():
                    f.setdefault(k, []).append(v)
    finally:
        svc.delete("checkpoints", ck["id"])
        engine.remove(cid)

    size = ck["size_bytes"]
    w = {
        "heap_mib": heap_mib,
        "boot_seconds": BOOT_SECONDS,
        "runs": RUNS,
        "warmup_rounds": WARMUP_ROUNDS,
        "checkpoint_engine_ms": stats(f["checkpoint_engine_ms"]),
        "restore_engine_ms": dict(stats(f["restore_engine_ms"]),
                                  retries=f["restore_engine_retries"]),
        "checkpoint_service_ms": dict(stats([ck_ms]), timings_ms=ck["timings_ms"]),
        "checkpoint_size_bytes": size,
        "checkpoint_mib_per_heap_mib": round(size / 2**20 / heap_mib, 3),
        "restore_service_ms": dict(stats(f["restore_service_ms"]),
                                   retries=f["restore_service_retries"]),
        "restore_service_timings_ms": {k: stats(f["rec_" + k])
                                       for k in ("create", "stage", "start", "total")},
        "ready_restore_ms": dict(stats(f["ready_restore_ms"]),
                                 start=stats(f["ready_restore_start"]),
                                 ready=stats(f["ready_restore_ready"])),
        "ready_cold_ms": dict(stats(f["ready_cold_ms"]),
                              start=stats(f["ready_cold_start"]),
                              ready=stats(f["ready_cold_ready"])),
        "transfer_ms": stats(f["transfer_ms"]),
        "transfer_bytes": f["transfer_bytes"],
        "transfer_checkpoint_bytes": f["transfer_checkpoint_bytes"],
        "transfer_mb_s": stats(f["transfer_mb_s"]),
        "peak_rss_kib": dict(stats(f["peak_rss_kib"]),
                             rss_before_kib=f["rss_before_kib"],
                             over_before_kib=[p - b for p, b in zip(f["peak_rss_kib"],
                                                                    f["rss_before_kib"])]),
    }
    med = lambda k: w[k]["median"]  # noqa: E731
    w["restore_over_cli"] = round(med("restore_service_ms") / med("restore_engine_ms"), 3)
    w["ready_restore_over_cold"] = round(med("ready_restore_ms") / med("ready_cold_ms"), 3)
    w["service_overhead_ms"] = round(
        med("restore_service_ms") - w["restore_service_timings_ms"]["start"]["median"], 1)
    return key, w


# --- machine, output ---------------------------------------------------------------

def machine(engine):
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    _, ver, _ = engine.call("GET", "/version")
    criu = subprocess.run([CRIU, "--version"], text=True, capture_output=True).stdout
    criu = criu.splitlines()[0].replace("Version:", "").strip() if criu else None
    cpd = subprocess.run([str(BINARY), "--version"], text=True, capture_output=True).stdout
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty=+dirty"],
                         text=True, capture_output=True).stdout.strip()
    return {"cpus": os.cpu_count(), "mem_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "docker_version": ver.get("Version"),
            "criu_version": criu, "checkpointd_version": cpd.strip().split()[-1] if cpd else None,
            "checkpointd_commit": git or None}


FIGURES = [  # (key, label, unit, format) in table order; nested keys with a dot
    ("checkpoint_engine_ms", "checkpoint, engine (`POST /containers/{id}/checkpoints`)",
     "ms", ".0f"),
    ("checkpoint_service_ms", "checkpoint, checkpointd (`POST /checkpoints?wait=true`)",
     "ms", ".0f"),
    ("restore_engine_ms", "restore in place, engine (`docker start --checkpoint`)", "ms", ".0f"),
    ("restore_service_ms", "restore to new container, checkpointd (`POST /restores?wait=true`)",
     "ms", ".0f"),
    ("restore_service_timings_ms.create", "... record: create", "ms", ".0f"),
    ("restore_service_timings_ms.stage", "... record: stage", "ms", ".0f"),
    ("restore_service_timings_ms.start", "... record: start", "ms", ".0f"),
    ("ready_restore_ms", "time to ready, restored (record start+ready)", "ms", ".0f"),
    ("ready_cold_ms", "time to ready, cold (record start+ready)", "ms", ".0f"),
    ("transfer_ms", "copy to engine b, image + files (`POST /checkpoints/{id}/copies?wait=true`)",
     "ms", ".0f"),
    ("transfer_mb_s", "... transfer rate (copy `bytes` / client time)", "MB/s", ".1f"),
    ("peak_rss_kib", "... service peak RSS during the copy (VmHWM)", "KiB", ".0f"),
]


def markdown(results):
    rows = [("workload", "figure", "median", "min", "max", "unit", "runs")]
    for key, w in results["workloads"].items():
        for fig, label, unit, fmt in FIGURES:
            s = w
            for part in fig.split("."):
                s = s[part]
            rows.append((key, label, format(s["median"], fmt), format(s["min"], fmt),
                         format(s["max"], fmt), unit, str(len(s["runs"]))))
    table = [rows[0], tuple("-" * len(c) for c in rows[0])] + rows[1:]
    widths = [max(len(r[i]) for r in table) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |" for r in table]

    out.append("")
    drows = [("workload", "restore_over_cli (goal <= 1.10)", "ready_restore_over_cold",
              "service_overhead_ms", "checkpoint MiB per heap MiB", "retries engine / service",
              "transfer_mb_s", "peak_rss_kib (max)", "peak over before KiB (max)",
              "checkpoint MiB", "copy MiB")]
    for key, w in results["workloads"].items():
        drows.append((key, f"{w['restore_over_cli']:.2f}", f"{w['ready_restore_over_cold']:.2f}",
                       f"{w['service_overhead_ms']:.0f}", f"{w['checkpoint_mib_per_heap_mib']:.2f}",
                       f"{sum(w['restore_engine_ms']['retries'])} / "
                       f"{sum(w['restore_service_ms']['retries'])}",
                       f"{w['transfer_mb_s']['median']:.1f}", f"{w['peak_rss_kib']['max']:.0f}",
                       f"{max(w['peak_rss_kib']['over_before_kib'])}",
                       f"{max(w['transfer_checkpoint_bytes']) / 2**20:.0f}",
                       f"{max(w['transfer_bytes']) / 2**20:.0f}"))
    table = [drows[0], tuple("-" * len(c) for c in drows[0])] + drows[1:]
    widths = [max(len(r[i]) for r in table) for i in range(len(drows[0]))]
    out += ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |" for r in table]
    return "\n".join(out)


def main():
    if not os.access(BINARY, os.X_OK):
        raise SystemExit(f"bench: {BINARY} missing: run `make` (or `make bench`)")
    t_begin = time.time()
    load_before = os.getloadavg()[0]
    port = free_port()
    log(f"bench: {'QUICK' if QUICK else 'full'} run, engine '{ENGINE_NAME}' on 127.0.0.1:{port}")
    engine = engine_b = svc = None
    b_started = False
    try:
        bed("engine.sh", "start", ENGINE_NAME, str(port))
        engine = Engine(port)
        engine.remove_ours()                     # leftovers of an interrupted run
        engine.drop_leaked_restore_copies()
        bed("images.sh", str(port))
        port_b = free_port()
        log(f"bench: engine '{ENGINE_B_NAME}' on 127.0.0.1:{port_b} "
            f"(engine '{SVC_ENGINE_B}' in the service)")
        b_started = True
        bed("engine.sh", "start", ENGINE_B_NAME, str(port_b))
        engine_b = Engine(port_b, ENGINE_B_NAME)
        engine_b.empty()                         # b holds only what the service moves
        svc = Service([(ENGINE_NAME, port), (SVC_ENGINE_B, port_b)])
        results = {
            "generated_at": datetime.datetime.now(datetime.timezone.utc)
                                    .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "quick": QUICK,
            "machine": machine(engine),
            "workloads": {},
        }
        counter = [0]
        for heap in HEAPS_MIB:
            key, w = bench_workload(engine, engine_b, svc, heap, counter)
            results["workloads"][key] = w
        main_w = results["workloads"][f"heap{MAIN_HEAP_MIB}"]
        results["restore_over_cli"] = main_w["restore_over_cli"]
        results["ready_restore_over_cold"] = main_w["ready_restore_over_cold"]
        results["transfer_mb_s"] = main_w["transfer_mb_s"]["median"]
        results["peak_rss_kib"] = int(main_w["peak_rss_kib"]["max"])
        results["duration_s"] = round(time.time() - t_begin, 1)
        results["loadavg_1m"] = {"before": round(load_before, 2),
                                 "after": round(os.getloadavg()[0], 2)}
    except BaseException:
        if svc is not None:
            log("bench: failed; checkpointd's log ends:\n" + svc.log_tail())
        raise
    finally:
        if svc is not None:
            svc.stop()
        if engine is not None:
            try:
                engine.remove_ours()
                engine.drop_leaked_restore_copies()
            except Exception as e:  # the engine stops anyway
                log(f"bench: cleanup: {e}")
        if engine_b is not None:
            try:
                engine_b.empty()
            except Exception as e:  # the engine stops anyway
                log(f"bench: cleanup of {ENGINE_B_NAME}: {e}")
        try:
            if b_started:
                bed("engine.sh", "stop", ENGINE_B_NAME)
        finally:
            bed("engine.sh", "stop", ENGINE_NAME)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "latest.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)
    m = results["machine"]
    print(f"\ncheckpointd {m['checkpointd_version']} benchmark ({'QUICK' if QUICK else 'full'}), "
          f"{results['generated_at']}: Docker {m['docker_version']}, CRIU {m['criu_version']}, "
          f"kernel {m['kernel']}, {m['cpus']} CPUs, {m['mem_gib']} GiB; "
          f"{results['duration_s']:.0f} s; load {results['loadavg_1m']['before']} -> "
          f"{results['loadavg_1m']['after']}\n")
    print(markdown(results))
    print(f"\nrestore_over_cli {results['restore_over_cli']:.2f} (goal <= 1.10), "
          f"ready_restore_over_cold {results['ready_restore_over_cold']:.2f} "
          f"(heap {MAIN_HEAP_MIB} MiB)")
    print(f"transfer_mb_s {results['transfer_mb_s']:.1f} (median, image + files to engine "
          f"{SVC_ENGINE_B}), peak_rss_kib {results['peak_rss_kib']} (max over the copies, "
          f"checkpoint {max(main_w['transfer_checkpoint_bytes']) / 2**20:.0f} MiB)")
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
