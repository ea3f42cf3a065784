"""CRIU failures explained, reproduced on the real engine: the seed's case
(a connection to a bind-mounted host unix socket), an established TCP
connection, file locks, a big deleted file, a TTY; and the pre-flight
predicting each before any dump.  A failed dump leaves the container
running and nothing of the checkpoint behind."""

import os
import socket
import tempfile
import threading
import time

import pytest

HOLD = "/usr/local/bin/hold"


def wait_log(docker, cid, text, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text.encode() in docker.logs(cid):
            return
        time.sleep(0.1)
    raise AssertionError(f"{cid[:12]} never printed {text!r}: {docker.logs(cid)[-500:]!r}")


def failed_dump(api, docker, name, expect_code):
    """Checkpoints name, expecting a CRIU failure; checks what a user sees
    and that the container runs on.  Returns the problem body."""
    r = api.post("/checkpoints?wait=true", {"container": name})
    assert r.status == 502, r
    p = r.json
    assert p["code"] == expect_code, p
    assert p["id"].startswith("ck-")
    assert p["hint"] and p["criu_line"] and p["log_tail"]
    assert "Error (" in p["criu_line"]
    # the dump failed: the container is as it was, still running
    assert docker.inspect(name)["State"]["Running"] is True
    rec = api.get(f"/checkpoints/{p['id']}").json
    assert rec["status"] == "failed"
    assert rec["error"]["code"] == expect_code
    assert rec["error"]["criu_line"] == p["criu_line"]
    assert rec["error"]["hint"] == p["hint"]
    # nothing of the failed checkpoint stays on the engine
    assert rec["directory"] is None
    assert not os.path.exists(f"{docker.root}/checkpointd/{p['id']}")
    assert docker.image(f"{rec['image']['repository']}:{rec['image']['tag']}") is None
    # the whole log is one GET away
    log = api.get(f"/checkpoints/{p['id']}/log")
    assert log.status == 200 and log.headers["content-type"].startswith("text/plain")
    assert p["criu_line"].encode() in log.raw
    assert api.delete(f"/checkpoints/{p['id']}").status == 204
    return p


def preflight(api, name):
    r = api.post("/checkpoints?dry_run=true", {"container": name})
    assert r.status == 200, r
    return r.json


class UnixListener:
    """A unix socket on the host that accepts and keeps connections, as
    dockerd's socket would."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-sock-")
        self.path = os.path.join(self.dir, "docker.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.conns = []
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def test_seed_case_external_unix_socket(api, docker):
    listener = UnixListener()
    try:
        cid = docker.run([HOLD, "unix", "/var/run/docker.sock"], name="e2e-fail-sock",
                         HostConfig={"NetworkMode": "none",
                                     "Binds": [f"{listener.path}:/var/run/docker.sock"]})
        wait_log(docker, cid, "connected to")
        pf = preflight(api, "e2e-fail-sock")
        assert pf["ok"] is False
        codes = [b["code"] for b in pf["blockers"]]
        assert "criu_external_unix_socket" in codes, pf
        b = pf["blockers"][codes.index("criu_external_unix_socket")]
        assert "/var/run/docker.sock" in b["message"] or listener.path in b["message"], b
        assert "DOCKER_HOST=tcp://" in b["hint"]
        assert any(w["code"] == "bind_mount_socket" for w in pf["warnings"]), pf
        # the pre-flight dumped nothing and left no helper behind
        assert docker.inspect(cid)["State"]["Running"] is True
        _, helpers = docker.call(
            "GET", '/containers/json?all=1&filters={"label":["io.checkpointd.role"]}')
        assert helpers == []

        p = failed_dump(api, docker, "e2e-fail-sock", "criu_external_unix_socket")
        # the message names the socket, the hint says what the seed's author did
        assert "/var/run/docker.sock" in p["detail"] or listener.path in p["detail"], p
        assert "DOCKER_HOST=tcp://" in p["hint"]
        assert "External socket" in p["criu_line"]
    finally:
        listener.close()


def test_established_tcp(api, docker):
    cid = docker.run([HOLD, "tcp", "5000"], name="e2e-fail-tcp")
    wait_log(docker, cid, "tcp connection")
    pf = preflight(api, "e2e-fail-tcp")
    assert pf["ok"] is False
    b = [b for b in pf["blockers"] if b["code"] == "criu_tcp_established"]
    assert b and "5000" in b[0]["message"], pf
    p = failed_dump(api, docker, "e2e-fail-tcp", "criu_tcp_established")
    assert "5000" in p["detail"]
    assert "tcp-established" in p["hint"]


@pytest.mark.parametrize("case", ["flock", "ghost"])
def test_locks_and_ghost_files(api, docker, case):
    if case == "flock":
        cmd, ready, code, obj = [HOLD, "flock", "/tmp/app.lock"], "flock on", "criu_file_locks", None
    else:
        cmd = ["sh", "-c", "dd if=/dev/zero of=/tmp/scratch.bin bs=1048576 count=2 2>/dev/null; "
               f"{HOLD} open /tmp/scratch.bin & sleep 1; rm /tmp/scratch.bin; echo deleted; wait"]
        ready, code, obj = "deleted", "criu_ghost_file", "/tmp/scratch.bin"
    name = f"e2e-fail-{case}"
    cid = docker.run(cmd, name=name)
    wait_log(docker, cid, ready)
    pf = preflight(api, name)
    assert code in [b["code"] for b in pf["blockers"]], pf
    p = failed_dump(api, docker, name, code)
    if obj:
        assert obj in p["detail"]


def test_tty_warned_and_a_copy_without_one_explained(api, docker, checkpoints, restores):
    cid = docker.run(["sh"], name="e2e-fail-tty", Tty=True, OpenStdin=True)
    time.sleep(0.5)
    pf = preflight(api, "e2e-fail-tty")
    assert pf["ok"] is True, pf  # a TTY dumps fine here ...
    w = [w for w in pf["warnings"] if w["code"] == "criu_tty"]
    assert w and "TTY" in w[0]["message"], pf  # ... but is flagged before any dump
    r = api.post("/checkpoints?wait=true", {"container": "e2e-fail-tty"})
    assert r.status == 201, r
    ck = r.json
    checkpoints.append(ck["id"])
    # ... because a copy without a TTY cannot get its terminal back
    r = api.post("/restores?wait=true", {"checkpoint": ck["id"], "overrides": {"Tty": False}})
    assert r.status == 502, r
    restores.append(r.json["id"])
    assert r.json["code"] == "criu_tty" and r.json["id"].startswith("rs-")
    assert "Tty" in r.json["hint"]
    rec = api.get(f"/restores/{r.json['id']}").json
    assert rec["error"]["code"] == "criu_tty" and rec["error"]["hint"] == r.json["hint"]
    assert rec["container"]["id"] is None  # the copy that never started is gone
    # containerd deletes a failed restore's log: none is kept, and that is said
    r = api.get(f"/restores/{r.json['id']}/log")
    assert r.status == 404 and r.json["code"] == "log_not_found"
    # a copy that keeps the TTY works
    r = api.post("/restores?wait=true", {"checkpoint": ck["id"]})
    assert r.status == 201, r
    restores.append(r.json["id"])


def test_preflight_of_a_healthy_and_a_stopped_container(api, docker):
    cid = docker.run(["/usr/local/bin/counter"], name="e2e-pf-ok")
    pf = preflight(api, "e2e-pf-ok")
    assert pf == {"ok": True, "container": {"id": cid, "name": "e2e-pf-ok"}, "engine": "default",
                  "blockers": [], "warnings": []}
    docker.call("POST", f"/containers/{cid}/stop?t=1")
    pf = preflight(api, "e2e-pf-ok")
    assert pf["ok"] is False and [b["code"] for b in pf["blockers"]] == ["container_not_running"]
    r = api.post("/checkpoints?dry_run=true", {"container": "e2e-no-such"})
    assert r.status == 404 and r.json["code"] == "container_not_found"
    r = api.post("/checkpoints?dry_run=maybe", {"container": "e2e-pf-ok"})
    assert r.status == 400 and r.json["parameter"] == "dry_run"


def test_logs_of_records_without_one(api, docker, checkpoints):
    docker.run(["/usr/local/bin/counter"], name="e2e-nolog")
    r = api.post("/checkpoints?wait=true", {"container": "e2e-nolog"})
    assert r.status == 201
    checkpoints.append(r.json["id"])
    r = api.get(f"/checkpoints/{r.json['id']}/log")
    assert r.status == 404 and r.json["code"] == "log_not_found"
    r = api.get("/checkpoints/ck-0000000000000000/log")
    assert r.status == 404 and r.json["code"] == "checkpoint_not_found"
    r = api.get("/restores/rs-0000000000000000/log")
    assert r.status == 404 and r.json["code"] == "restore_not_found"
