"""The same curl calls on a Docker engine and on a Podman engine: checkpoint,
restore into new containers (many times), in place, cold, CRIU failures
explained; and what only Podman needs: the exported archive kept by the
service (digest, size, CRIU's statistics), the loopback set up again after
a restore in network mode none, a restore on a second Podman engine."""

import hashlib
import os
import re
import time

import pytest

from conftest import Service, PodmanEngine, bed, free_port, ENGINE_NAME

COUNTER = ["/usr/local/bin/counter"]
HOLD = "/usr/local/bin/hold"
TCPSERVER = "/usr/local/bin/tcpserver"


def counts(raw):
    return [int(n) for n in re.findall(rb"count (\d+)", raw)]


@pytest.fixture(scope="module")
def both(engine, podman_engine):
    """checkpointd with a Docker engine 'docker' and a Podman engine 'podman'."""
    svc = Service([("docker", engine.url), ("podman", podman_engine.url)])
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture(params=["docker", "podman"])
def kind(request, both, engine, podman_engine):
    """(kind, client, the engine itself); the test's containers and records
    are removed after it."""
    eng = engine if request.param == "docker" else podman_engine
    made = {"checkpoints": [], "restores": []}
    yield request.param, both.client, eng, made, both.data_dir
    for rs in made["restores"]:
        for _ in range(300):
            if both.client.delete(f"/restores/{rs}").status != 409:
                break
            time.sleep(0.2)
    for ck in made["checkpoints"]:
        for _ in range(300):
            if both.client.delete(f"/checkpoints/{ck}").status != 409:
                break
            time.sleep(0.2)
    eng.cleanup()


def checkpoint(api, made, kind_name, container, **extra):
    body = {"container": container, "engine": kind_name}
    body.update(extra)
    r = api.post("/checkpoints?wait=true", body)
    if r.status == 201:
        made["checkpoints"].append(r.json["id"])
    return r


def restore(api, made, body):
    r = api.post("/restores?wait=true", body)
    if r.json and r.json.get("id", "").startswith("rs-"):
        made["restores"].append(r.json["id"])
    return r


def test_engines_show_their_kind(both):
    items = {e["name"]: e for e in both.client.get("/engines").json["items"]}
    assert items["docker"]["kind"] == "docker" and items["docker"]["reachable"] is True
    assert items["podman"]["kind"] == "podman" and items["podman"]["reachable"] is True
    assert items["podman"]["url"].startswith("podman+tcp://127.0.0.1:")
    assert items["podman"]["docker_version"].startswith(("4.", "5."))


def test_checkpoint_and_copies_continue_the_count(kind):
    kname, api, eng, made, _ = kind
    name = f"e2e-kind-{kname}"
    eng.run(COUNTER, name=name)
    time.sleep(1.0)
    r = checkpoint(api, made, kname, name, leave_running=True)
    assert r.status == 201, r
    ck = r.json
    assert ck["status"] == "ready" and ck["engine"] == kname and ck["engine_kind"] == kname
    assert ck["size_bytes"] > 0 and ck["directory"]
    assert ck["image"]["id"].startswith("sha256:") and ck["image"]["size_bytes"] > 0
    assert eng.image(ck["image"]["id"]) is not None
    assert eng.inspect(name)["State"]["Running"] is True  # leave_running
    if kname == "podman":
        # the archive the service keeps: its digest and size are the file's
        with open(ck["directory"], "rb") as f:
            data = f.read()
        assert len(data) == ck["size_bytes"]
        assert hashlib.sha256(data).hexdigest() == ck["archive_sha256"]
        assert ck["image"]["id"] == eng.inspect(name)["Image"]  # nothing committed
        assert ck["criu_stats"]["pages_written"] > 0
        assert ck["criu_stats"]["frozen_time_us"] > 0
        assert ck["timings_ms"]["measure"] is None
    else:
        assert ck["archive_sha256"] is None and ck["criu_stats"] is None
    last = counts(eng.logs(name))[-1]

    ids = []
    for i in (1, 2):
        r = restore(api, made, {"checkpoint": ck["id"], "name": f"{name}-copy{i}",
                                "ready": {"exec": ["sh", "-c", "test -s /tmp/count"],
                                          "timeout_s": 60}})
        assert r.status == 201, r
        rs = r.json
        assert rs["status"] == "ready" and rs["engine"] == kname, rs
        assert rs["container"]["name"] == f"{name}-copy{i}"
        assert rs["timings_ms"]["start"] >= 0 and rs["timings_ms"]["ready"] >= 0
        if kname == "podman":
            assert rs["criu_stats"]["pages_restored"] > 0
        ids.append(rs["container"]["id"])
    time.sleep(0.5)
    for cid in ids:
        state = eng.inspect(cid)
        assert state["State"]["Running"] is True
        # the copy goes on from where the checkpoint stopped, not from 0
        with_count = [c for c in counts(eng.logs(cid)) if c > 5]
        assert with_count and min(with_count) >= last - 20, (last, counts(eng.logs(cid))[:5])
    # deleting a restore removes its container from the engine
    rs_id = made["restores"].pop()
    assert api.delete(f"/restores/{rs_id}").status == 204
    assert eng.inspect(ids[-1]) is None
    # deleting the checkpoint removes what the service kept of it
    ck_id = made["checkpoints"].pop()
    made["restores"], rest = [], made["restores"]
    for rid in rest:
        assert api.delete(f"/restores/{rid}").status == 204
    assert api.delete(f"/checkpoints/{ck_id}").status == 204
    if kname == "podman":
        assert not os.path.exists(ck["directory"])
        assert eng.image(ck["image"]["id"]) is not None  # the container's own image stays


def test_in_place_twice_and_cold(kind):
    kname, api, eng, made, _ = kind
    name = f"e2e-kind-inplace-{kname}"
    cid = eng.run(COUNTER, name=name)
    time.sleep(1.0)
    r = checkpoint(api, made, kname, name)
    assert r.status == 201, r
    ck = r.json
    assert eng.inspect(cid)["State"]["Running"] is False  # the dump stopped it
    last = counts(eng.logs(cid))[-1]
    for _ in range(2):
        r = restore(api, made, {"checkpoint": ck["id"], "in_place": True,
                                "ready": {"exec": ["cat", "/tmp/count"], "timeout_s": 60}})
        assert r.status == 201, r
        assert r.json["status"] == "ready" and r.json["container"]["id"] == cid
        state = eng.inspect(cid)
        assert state["State"]["Running"] is True
        _, out = eng.call("GET", f"/containers/{cid}/logs?stdout=1&tail=1")
        assert counts(out) and counts(out)[-1] >= last - 20
        # a running original refuses an in-place restore
        r2 = api.post("/restores", {"checkpoint": ck["id"], "in_place": True})
        assert r2.status == 409 and r2.json["code"] == "container_running"
        eng.call("POST", f"/containers/{cid}/stop?t=1")
    # the cold baseline: a new container booted from the image
    r = restore(api, made, {"checkpoint": ck["id"], "cold": True,
                            "ready": {"log": "count 3", "timeout_s": 60}})
    assert r.status == 201, r
    assert r.json["cold"] is True and r.json["status"] == "ready"
    assert counts(eng.logs(r.json["container"]["id"]))[0] <= 3  # it counted from the start
    rec = api.get(f"/checkpoints/{ck['id']}").json
    assert rec["ready_ms"]["restore"] is not None and rec["ready_ms"]["cold"] is not None


def test_failure_explained_and_container_runs_on(kind):
    kname, api, eng, made, data_dir = kind
    name = f"e2e-kind-tcp-{kname}"
    cid = eng.run([HOLD, "tcp", "5000"], name=name)
    deadline = time.time() + 30
    while b"tcp connection" not in eng.logs(cid) and time.time() < deadline:
        time.sleep(0.1)
    r = api.post("/checkpoints?wait=true", {"container": name, "engine": kname})
    assert r.status == 502, r
    p = r.json
    assert p["code"] == "criu_tcp_established", p
    assert "Connected TCP socket" in p["criu_line"] and p["log_tail"] and p["hint"]
    assert eng.inspect(cid)["State"]["Running"] is True
    log = api.get(f"/checkpoints/{p['id']}/log")
    assert log.status == 200 and p["criu_line"].encode() in log.raw
    rec = api.get(f"/checkpoints/{p['id']}").json
    assert rec["status"] == "failed" and rec["directory"] is None
    # nothing of the failed export is kept
    assert not [f for f in os.listdir(os.path.join(data_dir, "archives"))
                if f.startswith(p["id"])]
    assert api.delete(f"/checkpoints/{p['id']}").status == 204


def test_podman_loopback_works_after_restore(both, podman_engine):
    """A server on 127.0.0.1 inside a restored copy answers a client inside
    it: Podman leaves the loopback down after a restore in network mode
    none, and the service sets it up again."""
    api, eng = both.client, podman_engine
    made = {"checkpoints": [], "restores": []}
    try:
        eng.run([TCPSERVER, "--port", "7070"], name="e2e-podman-lo")
        time.sleep(1.0)
        r = checkpoint(api, made, "podman", "e2e-podman-lo", leave_running=True)
        assert r.status == 201, r
        probe = ["sh", "-c", "echo | nc 127.0.0.1 7070 | grep -q hello"]
        r = restore(api, made, {"checkpoint": r.json["id"], "name": "e2e-podman-lo-copy",
                                "ready": {"exec": probe, "timeout_s": 20}})
        assert r.status == 201 and r.json["status"] == "ready", r
        # no helper is left behind
        _, helpers = eng.call(
            "GET", '/containers/json?all=1&filters={"label":["io.checkpointd.role"]}')
        assert helpers == []
    finally:
        for rs in made["restores"]:
            api.delete(f"/restores/{rs}")
        for ck in made["checkpoints"]:
            api.delete(f"/checkpoints/{ck}")
        eng.cleanup()


def test_kinds_do_not_mix(both, engine, podman_engine):
    api = both.client
    made = {"checkpoints": [], "restores": []}
    try:
        podman_engine.run(COUNTER, name="e2e-podman-mix")
        time.sleep(0.5)
        r = checkpoint(api, made, "podman", "e2e-podman-mix", leave_running=True)
        assert r.status == 201, r
        ck = r.json["id"]
        r = api.post("/restores", {"checkpoint": ck, "engine": "docker"})
        assert r.status == 409 and r.json["code"] == "engine_kind_mismatch", r
        assert "podman" in r.json["detail"] and "docker" in r.json["detail"]
        # a Podman restore takes its configuration from the archive
        r = api.post("/restores", {"checkpoint": ck, "overrides": {"Env": ["A=1"]}})
        assert r.status == 400 and r.json["code"] == "invalid_field", r
        assert r.json["field"] == "overrides"
        r = api.post("/checkpoints/%s/copies" % ck, {"engine": "docker"})
        assert r.status in (202, 409), r
        if r.status == 202:
            # refused by the job: the copy ends failed with the kind named
            for _ in range(100):
                copies = api.get(f"/checkpoints/{ck}").json["copies"]
                if copies and copies[0]["status"] == "failed":
                    break
                time.sleep(0.1)
            assert copies[0]["status"] == "failed" and "podman" in copies[0]["error"]
    finally:
        for ck_id in made["checkpoints"]:
            api.delete(f"/checkpoints/{ck_id}")
        podman_engine.cleanup()


def test_restore_on_a_second_podman_engine(both, podman_engine):
    """The archive stays with the service: a restore on another Podman
    engine streams it there; the base image goes first when missing."""
    name = ENGINE_NAME + "-podman-b"
    port = free_port()
    bed("podman.sh", "start", name, str(port), stdout=open(os.devnull, "w"))
    other = PodmanEngine(name, port)
    svc = Service([("p1", podman_engine.url), ("p2", other.url)])
    api = svc.client
    try:
        podman_engine.run(COUNTER, name="e2e-podman-move")
        time.sleep(1.0)
        r = api.post("/checkpoints?wait=true", {"container": "e2e-podman-move",
                                                "engine": "p1", "leave_running": True})
        assert r.status == 201, r
        ck = r.json
        last = counts(podman_engine.logs("e2e-podman-move"))[-1]
        r = api.post("/restores?wait=true", {"checkpoint": ck["id"], "engine": "p2",
                                             "name": "e2e-podman-moved",
                                             "ready": {"exec": ["cat", "/tmp/count"]}})
        assert r.status == 201 and r.json["status"] == "ready", r
        cid = r.json["container"]["id"]
        time.sleep(0.3)
        assert other.inspect(cid)["State"]["Running"] is True
        assert min(c for c in counts(other.logs(cid)) if c > 5) >= last - 20
        assert other.image(ck["image"]["id"]) is not None
        assert api.delete(f"/restores/{r.json['id']}").status == 204
        assert other.inspect(cid) is None
        assert api.delete(f"/checkpoints/{ck['id']}").status == 204
    finally:
        svc.close()
        podman_engine.cleanup()
        bed("podman.sh", "stop", name)
