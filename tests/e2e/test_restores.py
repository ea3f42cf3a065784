"""Restores end to end against a real engine: copies that continue where the
checkpoint stopped, in place, concurrently, with ready probes and the cold
baseline; and the container's real state on the engine."""

import re
import socket
import threading
import time

from conftest import Service, free_port
from fault_proxy import FaultProxy

COUNTER = ["/usr/local/bin/counter"]


def counts(raw):
    return [int(n) for n in re.findall(rb"count (\d+)", raw)]


def take(api, docker, name, cmd=COUNTER, checkpoints=None, settle=1.0, **extra):
    docker.run(cmd, name=name, **extra)
    time.sleep(settle)
    r = api.post("/checkpoints?wait=true", {"container": name})
    assert r.status == 201, r
    if checkpoints is not None:
        checkpoints.append(r.json["id"])
    return r.json


def restore(api, body, wait=True):
    r = api.post("/restores" + ("?wait=true" if wait else ""), body)
    return r


def test_two_copies_continue_the_count(api, docker, checkpoints, restores):
    ck = take(api, docker, "e2e-rs-count", checkpoints=checkpoints)
    before = counts(docker.logs("e2e-rs-count"))
    assert before, "the original counted"
    last = before[-1]
    ids = []
    for name in ("e2e-rs-copy1", "e2e-rs-copy2"):
        r = restore(api, {"checkpoint": ck["id"], "name": name,
                          "ready": {"log": "count [0-9]+", "timeout_s": 60}})
        assert r.status == 201, r
        rs = r.json
        restores.append(rs["id"])
        ids.append(rs["container"]["id"])
        assert r.headers["location"] == f"/restores/{rs['id']}"
        assert rs["status"] == "ready" and rs["error"] is None
        assert rs["checkpoint"] == ck["id"] and rs["in_place"] is False and rs["cold"] is False
        assert rs["container"]["name"] == name
        t = rs["timings_ms"]
        assert all(isinstance(t[k], int) for k in ("create", "stage", "start", "ready", "total")), t
        assert rs["retries"] == 0
    time.sleep(0.5)
    for cid in ids:
        state = docker.inspect(cid)
        assert state["State"]["Running"] is True
        assert state["Config"]["Labels"]["io.checkpointd.checkpoint"] == ck["id"]
        after = counts(docker.logs(cid))
        # restored, not restarted: the count goes on from where it stopped
        assert after and after[0] >= last and after[0] > 0, (last, after[:5])
    # the staged links are gone again, the checkpoint's files are intact
    import os
    assert os.path.isdir(ck["directory"])
    for cid in ids:
        assert os.listdir(f"{docker.root}/containers/{cid}/checkpoints") == []
    rec = api.get(f"/checkpoints/{ck['id']}").json
    assert isinstance(rec["ready_ms"]["restore"], int)


def test_in_place(api, docker, checkpoints, restores):
    ck = take(api, docker, "e2e-rs-inplace", checkpoints=checkpoints)
    last = counts(docker.logs("e2e-rs-inplace"))[-1]
    r = restore(api, {"checkpoint": ck["id"], "in_place": True})
    assert r.status == 201, r
    restores.append(r.json["id"])
    assert r.json["container"]["id"] == ck["container"]["id"]
    assert r.json["timings_ms"]["create"] is None
    assert docker.inspect("e2e-rs-inplace")["State"]["Running"] is True
    time.sleep(0.5)
    assert max(counts(docker.logs("e2e-rs-inplace"))) > last
    # running now: a second in-place restore is refused
    r = restore(api, {"checkpoint": ck["id"], "in_place": True})
    assert r.status == 409 and r.json["code"] == "container_running", r


def test_in_place_when_original_is_gone(api, docker, checkpoints):
    ck = take(api, docker, "e2e-rs-gone", checkpoints=checkpoints)
    docker.call("DELETE", f"/containers/{ck['container']['id']}?force=1")
    r = restore(api, {"checkpoint": ck["id"], "in_place": True})
    assert r.status == 404 and r.json["code"] == "container_not_found", r
    # a copy still works: the checkpoint outlives its container
    r = restore(api, {"checkpoint": ck["id"], "name": "e2e-rs-gone-copy"})
    assert r.status == 201, r
    docker.created.append(r.json["container"]["id"])
    api.delete(f"/restores/{r.json['id']}")


def test_tcp_server_copy_answers_on_its_port(api, docker, checkpoints, restores):
    port = free_port()

    def ask():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            return s.recv(100).decode()

    docker.run(["/usr/local/bin/tcpserver", "--port", str(port)], name="e2e-rs-tcp",
               network="host")
    for _ in range(100):
        try:
            first = ask()
            break
        except OSError:
            time.sleep(0.1)
    assert first == "hello 1\n"
    assert ask() == "hello 2\n"
    r = api.post("/checkpoints?wait=true", {"container": "e2e-rs-tcp"})
    assert r.status == 201, r
    checkpoints.append(r.json["id"])
    r = restore(api, {"checkpoint": r.json["id"], "name": "e2e-rs-tcp-copy",
                      "ready": {"tcp": f"127.0.0.1:{port}"}})
    assert r.status == 201, r
    restores.append(r.json["id"])
    # the probe's own connection was number 3: state came back with the copy
    assert ask() == "hello 4\n"


def test_ready_probe_and_cold_baseline(api, docker, checkpoints, restores):
    # the probe asks the app itself (a file written at boot would be in the
    # committed image, so a cold start would look ready at once)
    cmd = ["/usr/local/bin/slowboot", "--boot-seconds", "2", "--heap-mib", "16",
           "--port", "8080"]
    docker.run(cmd, name="e2e-rs-slow")
    for _ in range(100):
        status, _ = docker.call("GET", "/containers/e2e-rs-slow/archive?path=/tmp/ready", ok=None)
        if status == 200:
            break
        time.sleep(0.1)
    r = api.post("/checkpoints?wait=true", {"container": "e2e-rs-slow"})
    assert r.status == 201, r
    ck = r.json
    checkpoints.append(ck["id"])
    probe = {"exec": ["sh", "-c", "nc 127.0.0.1 8080 </dev/null | grep -q ok"],
             "timeout_s": 60, "interval_ms": 50}
    r = restore(api, {"checkpoint": ck["id"], "ready": probe})
    assert r.status == 201, r
    restores.append(r.json["id"])
    warm = r.json["timings_ms"]
    r = restore(api, {"checkpoint": ck["id"], "cold": True, "ready": probe})
    assert r.status == 201, r
    restores.append(r.json["id"])
    cold = r.json
    assert cold["cold"] is True and cold["timings_ms"]["stage"] is None
    # a cold start really boots: the workload sleeps 2 s before it is ready
    assert cold["timings_ms"]["start"] + cold["timings_ms"]["ready"] >= 2000, cold
    rec = api.get(f"/checkpoints/{ck['id']}").json
    assert rec["ready_ms"]["restore"] == warm["start"] + warm["ready"]
    assert rec["ready_ms"]["cold"] == cold["timings_ms"]["start"] + cold["timings_ms"]["ready"]
    # a probe that never succeeds gives up with not_ready and the record's id
    r = restore(api, {"checkpoint": ck["id"], "ready": {"exec": ["false"], "timeout_s": 2}})
    assert r.status == 502 and r.json["code"] == "not_ready", r
    restores.append(r.json["id"])
    rec = api.get(f"/restores/{r.json['id']}").json
    assert rec["status"] == "failed" and rec["error"]["code"] == "not_ready"


def test_three_concurrent_restores(api, docker, checkpoints, restores):
    ck = take(api, docker, "e2e-rs-conc", checkpoints=checkpoints)
    out = [None] * 3

    def one(i):
        out[i] = restore(api, {"checkpoint": ck["id"], "ready": {"log": "count"}})
    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for r in out:
        assert r is not None and r.status == 201, r
        restores.append(r.json["id"])
        assert docker.inspect(r.json["container"]["id"])["State"]["Running"] is True
    assert len({r.json["container"]["id"] for r in out}) == 3


def test_overrides_and_labels(api, docker, checkpoints, restores):
    ck = take(api, docker, "e2e-rs-over", checkpoints=checkpoints)
    r = restore(api, {"checkpoint": ck["id"], "name": "e2e-rs-over-copy",
                      "overrides": {"Labels": {"team": "ci"}, "Env": ["EXTRA=1"],
                                    "HostConfig": {"Memory": 268435456}}})
    assert r.status == 201, r
    restores.append(r.json["id"])
    c = docker.inspect("e2e-rs-over-copy")
    assert c["Config"]["Labels"]["team"] == "ci"
    assert c["Config"]["Labels"]["io.checkpointd.restore"] == r.json["id"]
    assert "EXTRA=1" in c["Config"]["Env"]
    assert c["HostConfig"]["Memory"] == 268435456
    assert c["HostConfig"]["NetworkMode"] == "none"  # recorded, not overridden
    assert c["Image"] == ck["image"]["id"]


def test_errors(api, docker, checkpoints):
    ck = take(api, docker, "e2e-rs-err", checkpoints=checkpoints)
    r = restore(api, {"checkpoint": "ck-0000000000000000"})
    assert r.status == 404 and r.json["code"] == "checkpoint_not_found"
    docker.run(COUNTER, name="e2e-rs-taken")
    r = restore(api, {"checkpoint": ck["id"], "name": "e2e-rs-taken"})
    assert r.status == 409 and r.json["code"] == "name_conflict", r
    r = restore(api, {"checkpoint": ck["id"], "engine": "elsewhere"})
    assert r.status == 404 and r.json["code"] == "engine_not_found", r
    bad = [
        ({}, "missing_field", "checkpoint"),
        ({"checkpoint": "nope"}, "invalid_field", "checkpoint"),
        ({"checkpoint": ck["id"], "overrides": []}, "invalid_field", "overrides"),
        ({"checkpoint": ck["id"], "ready": {"exec": ["a"], "log": "b"}}, "invalid_field", "ready"),
        ({"checkpoint": ck["id"], "ready": {}}, "invalid_field", "ready"),
        ({"checkpoint": ck["id"], "ready": {"exec": []}}, "invalid_field", "ready.exec"),
        ({"checkpoint": ck["id"], "ready": {"exec": [1]}}, "invalid_field", "ready.exec"),
        ({"checkpoint": ck["id"], "ready": {"http": "ftp://x"}}, "invalid_field", "ready.http"),
        ({"checkpoint": ck["id"], "ready": {"tcp": "nohost"}}, "invalid_field", "ready.tcp"),
        ({"checkpoint": ck["id"], "ready": {"log": "("}}, "invalid_field", "ready.log"),
        ({"checkpoint": ck["id"], "ready": {"log": "x", "timeout_s": 0}}, "invalid_field",
         "ready.timeout_s"),
        ({"checkpoint": ck["id"], "ready": {"log": "x", "colour": 1}}, "unknown_field",
         "ready.colour"),
        ({"checkpoint": ck["id"], "in_place": True, "overrides": {"Env": []}}, "invalid_field",
         "overrides"),
        ({"checkpoint": ck["id"], "in_place": True, "cold": True}, "invalid_field", "cold"),
        ({"checkpoint": ck["id"], "name": "x"}, "invalid_field", "name"),
        ({"checkpoint": ck["id"], "shiny": True}, "unknown_field", "shiny"),
    ]
    for body, code, field in bad:
        r = api.post("/restores", body)
        assert r.status == 400 and r.json["code"] == code and r.json["field"] == field, (body, r)
    for q in ("checkpoint=nope", "limit=0", "status=x"):
        r = api.get("/restores?" + q)
        assert r.status == 400 and r.json["code"] == "invalid_parameter", (q, r)
    assert api.get("/restores/rs-0000000000000000").status == 404
    assert api.delete("/restores/rs-0000000000000000").status == 404


def test_checkpoint_not_ready_and_busy(api, docker, checkpoints, restores):
    docker.run(COUNTER, name="e2e-rs-notready")
    r = api.post("/checkpoints", {"container": "e2e-rs-notready", "leave_running": True})
    assert r.status == 202
    checkpoints.append(r.json["id"])
    r2 = restore(api, {"checkpoint": r.json["id"]})
    assert r2.status == 409 and r2.json["code"] == "checkpoint_not_ready", r2
    ck = api.wait_status(r.json["id"])
    # a restore whose probe waits keeps the checkpoint busy
    r = restore(api, {"checkpoint": ck["id"], "ready": {"log": "never-printed", "timeout_s": 4}},
                wait=False)
    assert r.status == 202, r
    restores.append(r.json["id"])
    d = api.delete(f"/checkpoints/{ck['id']}")
    assert d.status == 409 and d.json["code"] == "checkpoint_busy", d
    d = api.delete(f"/restores/{r.json['id']}")
    assert d.status == 409 and d.json["code"] == "restore_busy", d
    for _ in range(200):
        rec = api.get(f"/restores/{r.json['id']}").json
        if rec["status"] in ("ready", "failed"):
            break
        time.sleep(0.1)
    assert rec["status"] == "failed" and rec["error"]["code"] == "not_ready"


def test_list_and_delete(api, docker, checkpoints):
    ck = take(api, docker, "e2e-rs-list", checkpoints=checkpoints)
    made = []
    for _ in range(2):
        r = restore(api, {"checkpoint": ck["id"]})
        assert r.status == 201
        made.append(r.json)
    r = api.get(f"/restores?checkpoint={ck['id']}&limit=1")
    assert [x["id"] for x in r.json["items"]] == [made[1]["id"]]
    r2 = api.get(f"/restores?checkpoint={ck['id']}&limit=1&cursor={r.json['next_cursor']}")
    assert [x["id"] for x in r2.json["items"]] == [made[0]["id"]]
    assert r2.json["next_cursor"] is None
    r = api.get(f"/restores?container={made[0]['container']['name']}&status=ready&engine=default")
    assert [x["id"] for x in r.json["items"]] == [made[0]["id"]]
    for rs in made:
        assert api.get(f"/restores/{rs['id']}").json["status"] == "ready"
        assert api.delete(f"/restores/{rs['id']}").status == 204
        assert docker.inspect(rs["container"]["id"]) is None
        assert api.get(f"/restores/{rs['id']}").status == 404


def test_leaked_bytes_are_reported(api, docker, checkpoints, restores):
    ck = take(api, docker, "e2e-rs-leak", checkpoints=checkpoints)
    before = api.get("/engines").json["items"][0]
    r = restore(api, {"checkpoint": ck["id"]})
    assert r.status == 201
    restores.append(r.json["id"])
    after = api.get("/engines").json["items"][0]
    assert after["leaked_restores"] == before["leaked_restores"] + 1
    assert after["leaked_bytes"] == before["leaked_bytes"] + ck["size_bytes"]


def test_transient_start_error_is_retried(engine, docker):
    """A fault a real engine shows only by chance (moby#42900): a proxy
    answers the first start?checkpoint= with Docker's 'already exists'."""
    proxy = FaultProxy(engine.port, fail_starts=1)
    svc = Service([("default", proxy.url)])
    try:
        docker.run(COUNTER, name="e2e-rs-flaky")
        time.sleep(0.5)
        r = svc.client.post("/checkpoints?wait=true", {"container": "e2e-rs-flaky"})
        assert r.status == 201, r
        ck = r.json
        r = svc.client.post("/restores?wait=true", {"checkpoint": ck["id"]})
        assert r.status == 201, r
        assert proxy.failed == 1
        assert r.json["retries"] == 1
        assert docker.inspect(r.json["container"]["id"])["State"]["Running"] is True
        assert svc.client.delete(f"/restores/{r.json['id']}").status == 204

        # an error that is not one of the four transient ones fails at once
        FaultProxy.MESSAGE, saved = b'{"message":"criu failed: type NOTIFY errno 0"}', FaultProxy.MESSAGE
        proxy.fail_starts, proxy.failed = 1, 0
        try:
            r = svc.client.post("/restores?wait=true", {"checkpoint": ck["id"]})
        finally:
            FaultProxy.MESSAGE = saved
        assert r.status == 502 and r.json["code"] == "restore_failed", r
        assert "criu failed" in r.json["detail"]
        rec = svc.client.get(f"/restores/{r.json['id']}").json
        assert rec["retries"] == 0 and proxy.failed == 1
        # nothing half-made is left: the container that never started is gone
        assert rec["container"]["id"] is None
        assert svc.client.delete(f"/restores/{r.json['id']}").status == 204
        assert svc.client.delete(f"/checkpoints/{ck['id']}").status == 204
    finally:
        svc.close()
        proxy.close()
