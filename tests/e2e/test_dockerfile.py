"""The Dockerfile, for real: the service's image is built on the session's
engine through the Engine API (no registry, no docker CLI), run against that
engine over TCP, and takes a checkpoint.

No registry is reachable, so tests/bed/base-image.sh first gives the engine a
local `debian:12` (debootstrap from Debian's mirror; the root filesystem is
cached in /var/cache/checkpointd-bed). The build needs Debian's mirror for
apt-get, through the host's network (the bed's engines have no bridge).

Cold (first run on a machine): debootstrap and both stages' apt-get, a few
minutes. Warm: the engine keeps its images between runs of the same engine
name, so only what changed is rebuilt (a source change: the compile).
CHECKPOINTD_SKIP_DOCKERFILE=1 skips this file.
"""

import http.client
import io
import json
import os
import pathlib
import struct
import subprocess
import sys
import tarfile
import time
import urllib.parse

import pytest

from conftest import BED, ROOT, Client, free_port

pytestmark = pytest.mark.skipif(os.environ.get("CHECKPOINTD_SKIP_DOCKERFILE") == "1",
                                reason="CHECKPOINTD_SKIP_DOCKERFILE=1")

TAG = "checkpointd:e2e"
# What the Dockerfile COPYs (the rest is left out, as .dockerignore does).
CONTEXT = ["Dockerfile", "Makefile", "tools", "src", "sql", "openapi"]
BUILD_STAGE_LABEL = "org.checkpointd.stage"
COUNTER = ["/usr/local/bin/counter"]
NAME = "e2e-dockerfile-service"


def context_tar():
    """The build context as an uncompressed tar, in memory (a few hundred KiB)."""
    buf = io.BytesIO()

    def clean(ti):
        if "__pycache__" in ti.name or ti.name.endswith(".pyc"):
            return None
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in CONTEXT:
            tar.add(str(ROOT / item), arcname=item, filter=clean)
    return buf.getvalue()


def build(engine, tag, timeout=1800):
    """POST /build, reading the streamed JSON progress. Returns the build's
    text output; fails with the build's own error text."""
    q = urllib.parse.urlencode({"t": tag, "networkmode": "host", "rm": "1", "forcerm": "1"})
    body = context_tar()
    conn = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=timeout)
    out = []
    try:
        conn.request("POST", "/build?" + q, body=body,
                     headers={"Content-Type": "application/x-tar"})
        r = conn.getresponse()
        if r.status != 200:
            raise AssertionError(f"POST /build: {r.status} {r.read()[:2000]!r}")
        for line in r:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line)
            if "error" in msg or "errorDetail" in msg:
                err = msg.get("error") or msg["errorDetail"].get("message")
                tail = "".join(out)[-3000:]
                raise AssertionError(f"docker build failed: {err}\n--- output tail ---\n{tail}")
            if "stream" in msg:
                out.append(msg["stream"])
    finally:
        conn.close()
    return "".join(out)


def exec_in(engine, cid, cmd):
    """Runs cmd in the container; returns (exit code, stdout+stderr)."""
    _, ex = engine.call("POST", f"/containers/{cid}/exec",
                        {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True})
    _, raw = engine.call("POST", f"/exec/{ex['Id']}/start", {"Detach": False, "Tty": False})
    out = b""
    raw = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    while len(raw) >= 8:  # the multiplexed stream: 8-byte header, then payload
        size = struct.unpack(">I", raw[4:8])[0]
        out += raw[8:8 + size]
        raw = raw[8 + size:]
    _, info = engine.call("GET", f"/exec/{ex['Id']}/json")
    return info["ExitCode"], out.decode(errors="replace")


def prune_earlier_builds(engine, old_id):
    """Removes what earlier builds left: the image `old_id` that TAG named
    before (when it changed) and every untagged build stage but the newest.
    Shared layers (the apt-get ones) stay: they are the next run's cache."""
    new = engine.image(TAG)
    if old_id and new and old_id != new["Id"]:
        engine.call("DELETE", f"/images/{old_id}", ok=None)
    f = urllib.parse.quote(json.dumps({"dangling": ["true"], "label": [BUILD_STAGE_LABEL]}))
    _, stages = engine.call("GET", f"/images/json?filters={f}")
    for img in sorted(stages, key=lambda i: i["Created"])[:-1]:
        engine.call("DELETE", f"/images/{img['Id']}", ok=None)


def wait_for(what, pred, timeout, every=0.25):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def image(engine):
    """The service's image, built from the Dockerfile on the session's engine."""
    t0 = time.time()
    subprocess.run([str(BED / "base-image.sh"), str(engine.port)], check=True,
                   stdout=subprocess.DEVNULL)
    t1 = time.time()
    old = engine.image(TAG)
    build(engine, TAG)
    prune_earlier_builds(engine, old and old["Id"])
    img = engine.image(TAG)
    assert img is not None
    print(f"\ntest_dockerfile: base image {t1 - t0:.1f}s, build {time.time() - t1:.1f}s, "
          f"{TAG} {img['Size'] / 1e6:.1f} MB", file=sys.stderr)
    return img


@pytest.fixture
def container(engine, image):
    """The service's container, on the host's network (the bed's engines have
    no bridge), listening on a free loopback port, with engine 'default' =
    the session's engine over TCP."""
    engine.call("DELETE", f"/containers/{NAME}?force=1&v=1", ok=None)  # an interrupted run's
    port = free_port()
    cfg = {
        "Image": TAG,
        "Cmd": ["--workers", "2"],  # arguments are checkpointd's flags
        "Env": [f"CHECKPOINTD_LISTEN=127.0.0.1:{port}",
                f"CHECKPOINTD_ENGINE=default={engine.url}"],
        # the image's own check, probed every half second instead of 30 s
        "Healthcheck": {"Interval": 500_000_000, "Timeout": 5_000_000_000, "Retries": 3},
        # as deploy/compose.yaml runs it: no privilege, read-only root
        "HostConfig": {"NetworkMode": "host", "ReadonlyRootfs": True, "CapDrop": ["ALL"],
                       "SecurityOpt": ["no-new-privileges:true"], "Tmpfs": {"/tmp": ""}},
    }
    _, out = engine.call("POST", f"/containers/create?name={NAME}", cfg)
    cid = out["Id"]
    try:
        engine.call("POST", f"/containers/{cid}/start")
        yield cid, Client(port)
    finally:
        engine.call("DELETE", f"/containers/{cid}?force=1&v=1", ok=None)


def test_image_is_small_non_root_with_volume_and_healthcheck(image):
    cfg = image["Config"]
    user = cfg["User"].split(":")[0]
    assert user and user not in ("0", "root"), cfg["User"]
    assert "/var/lib/checkpointd" in (cfg.get("Volumes") or {}), cfg.get("Volumes")
    assert "8780/tcp" in (cfg.get("ExposedPorts") or {}), cfg.get("ExposedPorts")
    assert cfg["Entrypoint"] == ["/usr/local/bin/checkpointd"], cfg["Entrypoint"]
    assert "/health" in " ".join(cfg["Healthcheck"]["Test"]), cfg["Healthcheck"]
    assert "CHECKPOINTD_LISTEN=0.0.0.0:8780" in cfg["Env"], cfg["Env"]
    # no compiler: debian:12 itself is ~130 MB
    assert image["Size"] < 200 * 1024 * 1024, image["Size"]


def test_service_image_takes_a_checkpoint(engine, docker, container):
    cid, api = container

    def health():
        info = engine.inspect(cid)
        assert info["State"]["Running"], engine.logs(cid)[-3000:]
        try:
            r = api.get("/health")
        except OSError:
            return None
        return r

    r = wait_for("the service's /health", health, 60)
    assert r.status == 200 and r.json["status"] == "ok", r
    assert r.json["engines"] == [{"name": "default", "reachable": True}]

    # non-root, its database on the volume
    rc, uid = exec_in(engine, cid, ["id", "-u"])
    assert rc == 0 and uid.strip() not in ("", "0"), uid
    info = engine.inspect(cid)
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/var/lib/checkpointd"]["Type"] == "volume", info["Mounts"]
    rc, ls = exec_in(engine, cid, ["ls", "/var/lib/checkpointd"])
    assert rc == 0 and "checkpointd.db" in ls, ls

    # Docker runs the image's HEALTHCHECK and finds it healthy
    def healthy():
        h = engine.inspect(cid)["State"].get("Health") or {}
        if h.get("Status") == "unhealthy":
            raise AssertionError(f"unhealthy: {h.get('Log')}")
        return h.get("Status") == "healthy"

    wait_for("Docker's health status 'healthy'", healthy, 60)

    # a checkpoint through the containerized service
    counter = docker.run(COUNTER, name="e2e-dockerfile-counter")
    time.sleep(0.5)
    r = api.post("/checkpoints?wait=true",
                 {"container": "e2e-dockerfile-counter", "name": "from-image"})
    assert r.status == 201, (r, engine.logs(cid)[-3000:])
    ck = r.json
    try:
        assert ck["status"] == "ready" and ck["error"] is None, ck
        assert ck["container"]["id"] == counter
        assert ck["directory"].startswith(engine.root + "/checkpointd/"), ck["directory"]
        assert os.path.isdir(ck["directory"])
        assert engine.image(ck["image"]["id"]) is not None
    finally:
        r = api.delete(f"/checkpoints/{ck['id']}")
    assert r.status == 204, r
    assert not pathlib.Path(ck["directory"]).exists()
    assert engine.image(ck["image"]["id"]) is None

    # docker stop: SIGTERM to PID 1, which stops cleanly
    t0 = time.time()
    engine.call("POST", f"/containers/{cid}/stop?t=30")
    state = engine.inspect(cid)["State"]
    assert state["ExitCode"] == 0, (state, engine.logs(cid)[-3000:])
    assert time.time() - t0 < 20
