"""A fleet of engines: engines as a resource, a checkpoint restored on
another engine (a second real dockerd: another "host") with the bytes
streamed through the service, copies placed ahead of time, and a transfer
cut halfway that leaves nothing behind."""

import os
import re
import threading
import time

import pytest

from conftest import Engine, Service, bed, start_engine, ENGINE_NAME
from cut_proxy import CutProxy

COUNTER = ["/usr/local/bin/counter"]


@pytest.fixture(scope="module")
def engine_b(engine):
    """A second real engine, its own data root and port, without the test
    image: what a restore there needs must travel."""
    name = ENGINE_NAME + "-b"
    port = start_engine(name)
    try:
        b = Engine(name, port)
        _, leftovers = b.call("GET", "/containers/json?all=1")
        for c in leftovers:
            b.call("DELETE", f"/containers/{c['Id']}?force=1", ok=None)
        _, images = b.call("GET", "/images/json?all=1")
        for i in images:
            b.call("DELETE", f"/images/{i['Id']}?force=1", ok=None)
        yield b
        b.cleanup()
    finally:
        bed("engine.sh", "stop", name)


@pytest.fixture(scope="module")
def fleet(engine, engine_b):
    svc = Service([("default", engine.url), ("b", engine_b.url)])
    try:
        yield svc
    finally:
        svc.close()


def counts(raw):
    return [int(n) for n in re.findall(rb"count (\d+)", raw)]


def rss_peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_engines_resource(engine, engine_b, tmp_path):
    svc = Service([("default", engine.url)])
    try:
        api = svc.client
        r = api.post("/engines", {"name": "extra", "url": engine_b.url})
        assert r.status == 201, r
        assert r.headers["location"] == "/engines/extra"
        assert r.json["name"] == "extra" and r.json["reachable"] is True
        assert r.json["kind"] == "docker" and r.json["tls"] is False
        assert api.get("/engines/extra").json["root_dir"] == engine_b.root
        r = api.post("/engines", {"name": "extra", "url": engine_b.url})
        assert r.status == 409 and r.json["code"] == "name_conflict"
        for body, field in (({"name": "x", "url": "ftp://h:1"}, "url"),
                            ({"name": "x", "url": "tcp://127.0.0.1:1", "tls": "/nonexistent"},
                             "tls"),
                            ({"name": "bad name", "url": "tcp://127.0.0.1:1"}, "name")):
            r = api.post("/engines", body)
            assert r.status == 400 and r.json["field"] == field, (body, r)
        # kept across a restart; the flags' engines are seeded again
        assert svc.stop() == 0
        svc.start()
        api = svc.client
        names = [e["name"] for e in api.get("/engines").json["items"]]
        assert names == ["default", "extra"]
        r = api.delete("/engines/extra")
        assert r.status == 204
        assert api.get("/engines/extra").status == 404
        assert api.delete("/engines/extra").status == 404
        # an engine that holds a checkpoint cannot go
        engine.run(COUNTER, name="e2e-fleet-busy")
        r = api.post("/checkpoints?wait=true", {"container": "e2e-fleet-busy",
                                                "leave_running": True})
        assert r.status == 201
        r2 = api.delete("/engines/default")
        assert r2.status == 409 and r2.json["code"] == "engine_busy", r2
        assert api.delete(f"/checkpoints/{r.json['id']}").status == 204
    finally:
        engine.cleanup()
        svc.close()


def test_restore_on_another_engine_continues_the_count(fleet, engine, engine_b):
    api = fleet.client
    engine.run(COUNTER, name="e2e-fleet-count")
    time.sleep(1)
    r = api.post("/checkpoints?wait=true", {"container": "e2e-fleet-count"})
    assert r.status == 201, r
    ck = r.json
    last = counts(engine.logs("e2e-fleet-count"))[-1]
    assert engine_b.image(ck["image"]["id"]) is None
    try:
        r = api.post("/restores?wait=true", {"checkpoint": ck["id"], "engine": "b",
                                             "name": "e2e-fleet-moved",
                                             "ready": {"log": "count [0-9]+"}})
        assert r.status == 201, r
        rs = r.json
        assert rs["engine"] == "b" and rs["progress"] is None
        engine_b.created.append(rs["container"]["id"])
        # the image and the files travelled; the copy runs on b, counting on
        assert engine_b.image(ck["image"]["id"]) is not None
        assert engine_b.inspect(rs["container"]["id"])["State"]["Running"] is True
        time.sleep(0.5)
        after = counts(engine_b.logs(rs["container"]["id"]))
        assert after and after[0] >= last > 0, (last, after[:3])
        # the checkpoint now lists its copy on b, in b's own root
        rec = api.get(f"/checkpoints/{ck['id']}").json
        (copy,) = rec["copies"]
        assert copy["engine"] == "b" and copy["status"] == "ready"
        assert copy["directory"].startswith(engine_b.root + "/checkpointd/" + ck["id"])
        assert os.path.isdir(copy["directory"]) and copy["bytes"] > 0
        # a second restore there reuses the copy
        r = api.post("/restores?wait=true", {"checkpoint": ck["id"], "engine": "b"})
        assert r.status == 201, r
        engine_b.created.append(r.json["container"]["id"])
        assert api.delete(f"/restores/{r.json['id']}").status == 204
        assert api.delete(f"/restores/{rs['id']}").status == 204
    finally:
        engine.cleanup()
    # deleting the checkpoint removes every copy
    assert api.delete(f"/checkpoints/{ck['id']}").status == 204
    assert not os.path.exists(f"{engine_b.root}/checkpointd/{ck['id']}")
    assert not os.path.exists(f"{engine.root}/checkpointd/{ck['id']}")
    assert engine_b.image(ck["image"]["id"]) is None


def test_copy_ahead_with_progress_and_flat_memory(fleet, engine, engine_b):
    """A 256 MiB checkpoint moves with progress showing and the service's
    peak memory far below the checkpoint's size."""
    api = fleet.client
    engine.run(["/usr/local/bin/slowboot", "--boot-seconds", "0", "--heap-mib", "256"],
               name="e2e-fleet-big")
    for _ in range(300):
        status, _ = engine.call("GET", "/containers/e2e-fleet-big/archive?path=/tmp/ready",
                                ok=None)
        if status == 200:
            break
        time.sleep(0.1)
    r = api.post("/checkpoints?wait=true", {"container": "e2e-fleet-big"})
    assert r.status == 201, r
    ck = r.json
    assert ck["size_bytes"] > 250 * 1024 * 1024
    try:
        before = rss_peak_kib(fleet.proc.pid)
        r = api.post(f"/checkpoints/{ck['id']}/copies", {"engine": "b"})
        assert r.status == 202, r
        assert r.headers["location"] == f"/checkpoints/{ck['id']}"
        seen = []
        for _ in range(1200):
            rec = api.get(f"/checkpoints/{ck['id']}").json
            (copy,) = rec["copies"]
            if copy["progress"]:
                seen.append(copy["progress"])
            if copy["status"] in ("ready", "failed"):
                break
            time.sleep(0.05)
        assert copy["status"] == "ready", copy
        assert seen, "progress never showed while the copy ran"
        assert all(p["bytes_done"] <= p["bytes_total"] for p in seen)
        assert {p["phase"] for p in seen} <= {"image", "files", "done"}
        peak = rss_peak_kib(fleet.proc.pid)
        if not os.environ.get("CHECKPOINTD_SANITIZED"):
            assert peak < 64 * 1024, f"peak RSS {peak} KiB while moving {ck['size_bytes']} bytes"
        assert peak - before < 48 * 1024, (before, peak)
        assert copy["bytes"] >= ck["size_bytes"]
        r = api.post(f"/checkpoints/{ck['id']}/copies", {"engine": "b"})
        assert r.status == 409 and r.json["code"] == "copy_exists"
        r = api.post(f"/checkpoints/{ck['id']}/copies", {"engine": "default"})
        assert r.status == 409 and r.json["code"] == "copy_exists"
        r = api.post(f"/checkpoints/{ck['id']}/copies", {"engine": "nope"})
        assert r.status == 404 and r.json["code"] == "engine_not_found"
    finally:
        engine.cleanup()
        assert api.delete(f"/checkpoints/{ck['id']}").status == 204
    assert not os.path.exists(f"{engine_b.root}/checkpointd/{ck['id']}")


def test_transfer_cut_halfway_leaves_nothing(engine, engine_b):
    proxy = CutProxy(engine_b.port, limit=512 * 1024)
    svc = Service([("default", engine.url), ("cut", proxy.url)])
    try:
        api = svc.client
        engine.run(COUNTER, name="e2e-fleet-cut")
        time.sleep(0.5)
        r = api.post("/checkpoints?wait=true", {"container": "e2e-fleet-cut"})
        assert r.status == 201, r
        ck = r.json
        _, before = engine_b.call("GET", "/containers/json?all=1")
        r = api.post("/restores?wait=true", {"checkpoint": ck["id"], "engine": "cut"})
        assert r.status == 502, r
        assert r.json["code"] == "transfer_failed" and r.json["id"].startswith("rs-")
        assert proxy.cuts >= 1
        rec = api.get(f"/restores/{r.json['id']}").json
        assert rec["status"] == "failed" and rec["container"]["id"] is None
        # nothing on the target: no helper, no container, no files, no image
        _, after = engine_b.call("GET", "/containers/json?all=1")
        assert after == before
        assert not os.path.exists(f"{engine_b.root}/checkpointd/{ck['id']}")
        assert engine_b.image(ck["image"]["id"]) is None
        copies = api.get(f"/checkpoints/{ck['id']}").json["copies"]
        assert [c["status"] for c in copies] == ["failed"] and copies[0]["error"]
        assert api.delete(f"/restores/{r.json['id']}").status == 204
        assert api.delete(f"/checkpoints/{ck['id']}").status == 204
    finally:
        engine.cleanup()
        svc.close()
        proxy.close()
