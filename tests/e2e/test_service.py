"""The service as a process: health, engines, the contract, restarts."""

import json
import os
import signal
import time

import openapi_check
from conftest import Service, closed_port

COUNTER = ["/usr/local/bin/counter"]


def test_health_ok(api):
    r = api.get("/health")
    assert r.status == 200
    assert r.json["status"] == "ok" and r.json["unreachable"] == []
    assert r.json["engines"] == [{"name": "default", "reachable": True}]


def test_health_degraded_names_the_engine(engine):
    svc = Service([("default", engine.url), ("gone", f"tcp://127.0.0.1:{closed_port()}")])
    try:
        r = svc.client.get("/health")
        assert r.status == 200
        assert r.json["status"] == "degraded" and r.json["unreachable"] == ["gone"]
        r = svc.client.get("/engines")
        gone = [e for e in r.json["items"] if e["name"] == "gone"][0]
        assert gone["reachable"] is False and gone["error"]
        r = svc.client.post("/checkpoints", {"container": "x", "engine": "gone"})
        assert r.status == 502 and r.json["code"] == "engine_unreachable"
    finally:
        svc.close()


def test_engines_describe_the_real_engine(api, engine):
    r = api.get("/engines")
    assert r.status == 200
    (e,) = r.json["items"]
    assert e["name"] == "default" and e["url"] == engine.url
    assert e["reachable"] is True and e["experimental"] is True
    assert e["root_dir"] == engine.root
    _, ver = engine.call("GET", "/version")
    assert e["docker_version"] == ver["Version"] and e["api_version"] == ver["ApiVersion"]
    assert e["warning"] is None


def test_openapi_is_served_byte_for_byte(api):
    r = api.get("/openapi.json")
    assert r.status == 200 and r.raw == openapi_check.DOC_BYTES
    assert json.loads(r.raw)["openapi"].startswith("3.1")


def test_flags(tmp_path):
    import subprocess
    from conftest import BINARY
    out = subprocess.run([str(BINARY), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("checkpointd ")
    out = subprocess.run([str(BINARY), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--engine NAME=URL" in out.stdout
    out = subprocess.run([str(BINARY), "--bogus"], capture_output=True, text=True)
    assert out.returncode == 2
    out = subprocess.run([str(BINARY), "--engine", "x=ftp://h", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "ftp://h" in out.stderr
    out = subprocess.run([str(BINARY), "--listen", "nonsense", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "nonsense" in out.stderr


def test_env_configuration(engine, tmp_path):
    import subprocess
    from conftest import BINARY, Client, free_port
    port = free_port()
    env = dict(os.environ, CHECKPOINTD_LISTEN=f"127.0.0.1:{port}",
               CHECKPOINTD_DATA_DIR=str(tmp_path), CHECKPOINTD_ENGINE=f"envengine={engine.url}")
    proc = subprocess.Popen([str(BINARY)], env=env, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                r = Client(port).get("/health")
                break
            except OSError:
                time.sleep(0.05)
        assert r.json["engines"] == [{"name": "envengine", "reachable": True}]
        assert os.path.exists(tmp_path / "checkpointd.db")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


def test_restart_keeps_records_and_marks_interrupted(engine, docker):
    svc = Service([("default", engine.url)])
    try:
        docker.run(COUNTER, name="e2e-restart")
        r = svc.client.post("/checkpoints?wait=true",
                            {"container": "e2e-restart", "leave_running": True})
        assert r.status == 201, r
        kept = r.json
        # a clean stop: SIGTERM, exit 0, one log line per request
        assert svc.stop(signal.SIGTERM) == 0
        assert "POST /checkpoints 201" in svc.logtext()
        svc.start()
        assert svc.client.get(f"/checkpoints/{kept['id']}").json == kept

        # a job cut short by a crash is failed/interrupted at the next start
        r = svc.client.post("/checkpoints", {"container": "e2e-restart", "leave_running": True})
        assert r.status == 202
        cut = r.json["id"]
        svc.stop(signal.SIGKILL)
        svc.start()
        rec = svc.client.get(f"/checkpoints/{cut}").json
        if rec["status"] == "failed":
            assert rec["error"]["code"] == "interrupted", rec
        else:  # the job had finished before the kill: nothing was lost either
            assert rec["status"] == "ready", rec
        for ck in (kept["id"], cut):
            assert svc.client.delete(f"/checkpoints/{ck}").status == 204
    finally:
        svc.close()


def test_sigterm_lets_a_waiting_request_finish(engine, docker):
    svc = Service([("default", engine.url)])
    try:
        docker.run(COUNTER, name="e2e-sigterm")
        import threading
        out = {}

        def call():
            out["r"] = svc.client.post("/checkpoints?wait=true",
                                       {"container": "e2e-sigterm", "leave_running": True})
        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.3)
        svc.proc.send_signal(signal.SIGTERM)
        t.join(120)
        assert svc.stop() == 0
        r = out["r"]
        assert r.status == 201, r
        svc.start()
        assert svc.client.delete(f"/checkpoints/{r.json['id']}").status == 204
    finally:
        svc.close()
