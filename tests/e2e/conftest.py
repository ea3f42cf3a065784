"""End-to-end fixtures: a real Docker Engine (tests/bed), the real
build/checkpointd, and an HTTP client that checks every answer against
openapi/openapi.json.

One engine serves the whole session (starting one takes seconds); every
test removes what it created.  Engines and services are stopped by their
PID at the end, also when tests fail.
"""

import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest

import openapi_check

ROOT = pathlib.Path(__file__).resolve().parents[2]
BED = ROOT / "tests" / "bed"
BINARY = ROOT / "build" / "checkpointd"
IMAGE = "checkpointd-test:latest"
# The session's engine.  One name, so a run cleans up what a killed earlier
# run left; set CHECKPOINTD_TEST_ENGINE to run two suites side by side.
ENGINE_NAME = os.environ.get("CHECKPOINTD_TEST_ENGINE", "e2e")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A port that refuses connections (bound, never listened, then freed)."""
    return free_port()


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = raw
        ctype = self.headers.get("content-type", "")
        self.json = json.loads(raw) if raw and "json" in ctype else None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Client:
    """Talks HTTP to one checkpointd; checks each answer against the contract."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, check=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            raw = r.read()
            resp = Response(r.status, r.getheaders(), raw)
        finally:
            conn.close()
        if check:
            openapi_check.check(method, path, resp.status, resp.headers, raw)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def post(self, path, obj=None, raw=None, ctype="application/json", **kw):
        body = raw if raw is not None else json.dumps(obj).encode()
        headers = {"Content-Type": ctype} if ctype else {}
        headers.update(kw.pop("headers", {}))
        return self.request("POST", path, body=body, headers=headers, **kw)

    def wait_status(self, ck_id, want=("ready", "failed"), timeout=240):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.get(f"/checkpoints/{ck_id}")
            assert r.status == 200, r
            if r.json["status"] in want:
                return r.json
            time.sleep(0.2)
        raise AssertionError(f"checkpoint {ck_id} not {want} after {timeout}s")


class Engine:
    """A minimal Docker Engine API client for what the tests check on the
    engine itself (not through checkpointd)."""

    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.url = f"tcp://127.0.0.1:{port}"
        self.root = subprocess.check_output(
            [str(BED / "engine.sh"), "root", name], text=True).strip()
        self.created = []

    def call(self, method, path, obj=None, ok=(200, 201, 204, 304)):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            body = json.dumps(obj).encode() if obj is not None else None
            hdrs = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        if ok and r.status not in ok:
            raise AssertionError(f"engine {method} {path}: {r.status} {raw[:500]!r}")
        return r.status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)

    def run(self, cmd, name=None, network="none", **extra):
        """Creates and starts a container from the test image; it is
        removed at the end of the test."""
        cfg = {"Image": IMAGE, "Cmd": cmd, "HostConfig": {"NetworkMode": network}}
        cfg.update(extra)
        q = "?name=" + urllib.parse.quote(name) if name else ""
        _, out = self.call("POST", "/containers/create" + q, cfg)
        cid = out["Id"]
        self.created.append(cid)
        self.call("POST", f"/containers/{cid}/start")
        return cid

    def inspect(self, ref):
        status, out = self.call("GET", f"/containers/{ref}/json", ok=None)
        return out if status == 200 else None

    def image(self, ref):
        status, out = self.call("GET", f"/images/{ref}/json", ok=None)
        return out if status == 200 else None

    def logs(self, ref):
        _, out = self.call("GET", f"/containers/{ref}/logs?stdout=1&stderr=1")
        return out if isinstance(out, bytes) else json.dumps(out).encode()

    def cleanup(self):
        for cid in self.created:
            self.call("DELETE", f"/containers/{cid}?force=1&v=1", ok=None)
        self.created = []


def bed(*args, **kw):
    return subprocess.run([str(BED / args[0]), *args[1:]], check=True, **kw)


def start_engine(name, experimental=True):
    port = free_port()
    cmd = ["start", name, str(port)] + ([] if experimental else ["--no-experimental"])
    bed("engine.sh", *cmd, stdout=subprocess.DEVNULL)
    return port


@pytest.fixture(scope="session")
def engine():
    """The session's real engine, with the test image loaded."""
    bed("install.sh")
    port = start_engine(ENGINE_NAME)
    try:
        bed("images.sh", str(port), stdout=subprocess.DEVNULL)
        eng = Engine(ENGINE_NAME, port)
        # the engine is the suite's own: containers an interrupted earlier
        # run left behind would only collide with this run's names
        _, leftovers = eng.call("GET", "/containers/json?all=1")
        for c in leftovers:
            eng.call("DELETE", f"/containers/{c['Id']}?force=1", ok=None)
        yield eng
        eng.cleanup()
    finally:
        bed("engine.sh", "stop", ENGINE_NAME)


@pytest.fixture(scope="session")
def noexp_engine(engine):
    """A second real engine started without --experimental."""
    name = ENGINE_NAME + "-noexp"
    port = start_engine(name, experimental=False)
    try:
        yield Engine(name, port)
    finally:
        bed("engine.sh", "stop", name)


class Service:
    """One running build/checkpointd."""

    def __init__(self, engines, data_dir=None):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="checkpointd-e2e-")
        self.engines = engines
        self.log_path = os.path.join(self.data_dir, "service.log")
        self.proc = None
        self.start()

    def start(self):
        self.port = free_port()
        args = [str(BINARY), "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir]
        for name, url in self.engines:
            args += ["--engine", f"{name}={url}"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        self.client = Client(self.port)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"checkpointd exited {self.proc.returncode}: {self.logtext()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("checkpointd did not listen: " + self.logtext())

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stops the process by its PID; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        rc, self.proc = self.proc.returncode, None
        return rc

    def logtext(self):
        try:
            return pathlib.Path(self.log_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def close(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def service(engine):
    """checkpointd against the session's engine, as engine 'default'."""
    svc = Service([("default", engine.url)])
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def api(service):
    return service.client


@pytest.fixture
def docker(engine):
    """The engine, with whatever a test creates removed after it."""
    yield engine
    engine.cleanup()


@pytest.fixture
def checkpoints(api):
    """Deletes the checkpoints a test records here (id list) after it."""
    made = []
    yield made
    for ck in made:
        for _ in range(600):
            r = api.delete(f"/checkpoints/{ck}")
            if r.status != 409:
                break
            time.sleep(0.2)


@pytest.fixture
def restores(api):
    """Deletes the restores a test records here (id list) after it."""
    made = []
    yield made
    for rs in made:
        for _ in range(600):
            r = api.delete(f"/restores/{rs}")
            if r.status != 409:
                break
            time.sleep(0.2)


class PodmanEngine(Engine):
    """A Podman service (tests/bed/podman.sh) seen through the same
    Docker-compatible calls; its URL for checkpointd is podman+tcp://."""

    def __init__(self, name, port):  # pylint: disable=super-init-not-called
        self.name = name
        self.port = port
        self.url = f"podman+tcp://127.0.0.1:{port}"
        self.root = subprocess.check_output(
            [str(BED / "podman.sh"), "root", name], text=True).strip()
        self.created = []

    def run(self, cmd, name=None, network="none", **extra):
        # Podman asks for more open files than this host allows unless told
        hc = dict(extra.pop("HostConfig", {"NetworkMode": network}))
        hc.setdefault("Ulimits", [{"Name": "nofile", "Soft": 1024, "Hard": 1024},
                                  {"Name": "nproc", "Soft": 1024, "Hard": 1024}])
        return super().run(cmd, name=name, network=network, HostConfig=hc, **extra)


@pytest.fixture(scope="session")
def podman_engine(engine):
    """A real Podman service next to the Docker engine, with the test image."""
    name = ENGINE_NAME + "-podman"
    port = free_port()
    bed("podman.sh", "start", name, str(port), stdout=subprocess.DEVNULL)
    try:
        bed("images.sh", str(port), stdout=subprocess.DEVNULL)
        eng = PodmanEngine(name, port)
        _, leftovers = eng.call("GET", "/containers/json?all=1")
        for c in leftovers:
            eng.call("DELETE", f"/containers/{c['Id']}?force=1", ok=None)
        yield eng
        eng.cleanup()
    finally:
        bed("podman.sh", "stop", name)
