"""Checkpoints end to end against a real engine: what a user sees over HTTP
and what the engine really holds afterwards."""

import os
import time

COUNTER = ["/usr/local/bin/counter"]


def files_size(path):
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def test_checkpoint_wait_records_what_the_engine_holds(api, docker, checkpoints):
    cid = docker.run(COUNTER, name="e2e-counter-wait")
    time.sleep(0.5)
    r = api.post("/checkpoints?wait=true", {"container": "e2e-counter-wait", "name": "warm-1"})
    assert r.status == 201, r
    ck = r.json
    checkpoints.append(ck["id"])
    assert r.headers["location"] == f"/checkpoints/{ck['id']}"
    assert ck["status"] == "ready" and ck["error"] is None
    assert ck["name"] == "warm-1"
    assert ck["container"] == {"id": cid, "name": "e2e-counter-wait"}
    assert ck["engine"] == "default"
    assert ck["leave_running"] is False

    # the image hash is a real image on the engine, with the recorded size
    img = docker.image(ck["image"]["id"])
    assert img is not None, ck["image"]
    assert img["Id"] == ck["image"]["id"]
    assert ck["image"]["id"].startswith("sha256:")
    assert img["Size"] == ck["image"]["size_bytes"]
    assert f"{ck['image']['repository']}:{ck['image']['tag']}" in img["RepoTags"]

    # the folder is on the engine host, under the engine's root, with files
    # adding up to the recorded size
    d = ck["directory"]
    assert d.startswith(docker.root + "/checkpointd/"), d
    assert os.path.isdir(d)
    assert any(n.endswith(".img") for n in os.listdir(d)), os.listdir(d)
    assert ck["size_bytes"] == files_size(d)
    assert ck["size_bytes"] > 10 * 1024

    t = ck["timings_ms"]
    for k in ("commit", "checkpoint", "measure", "total"):
        assert isinstance(t[k], int) and t[k] >= 0, t
    assert t["total"] >= t["commit"] + t["checkpoint"]

    # leave_running false stops the container, as docker checkpoint create does
    assert docker.inspect(cid)["State"]["Running"] is False

    # the same record comes back by id and in the list
    r = api.get(f"/checkpoints/{ck['id']}")
    assert r.status == 200 and r.json == ck


def test_checkpoint_async_and_leave_running(api, docker, checkpoints):
    cid = docker.run(COUNTER, name="e2e-counter-async")
    r = api.post("/checkpoints", {"container": cid[:12], "leave_running": True})
    assert r.status == 202, r
    ck = r.json
    checkpoints.append(ck["id"])
    assert ck["status"] in ("pending", "running")
    assert r.headers["location"] == f"/checkpoints/{ck['id']}"
    # a generated name follows Docker's rule
    assert ck["name"] == ck["id"]
    done = api.wait_status(ck["id"])
    assert done["status"] == "ready", done
    assert done["leave_running"] is True
    assert docker.inspect(cid)["State"]["Running"] is True
    assert os.path.isdir(done["directory"])


def test_name_taken_by_live_checkpoint_is_409(api, docker, checkpoints):
    docker.run(COUNTER, name="e2e-counter-twice")
    body = {"container": "e2e-counter-twice", "name": "same", "leave_running": True}
    r = api.post("/checkpoints?wait=true", body)
    assert r.status == 201, r
    checkpoints.append(r.json["id"])
    r = api.post("/checkpoints?wait=true", body)
    assert r.status == 409 and r.json["code"] == "name_conflict", r


def test_unknown_container_engine_and_stopped_container(api, docker):
    r = api.post("/checkpoints", {"container": "no-such-container-e2e"})
    assert r.status == 404 and r.json["code"] == "container_not_found", r
    r = api.post("/checkpoints", {"container": "x1", "engine": "nope"})
    assert r.status == 404 and r.json["code"] == "engine_not_found", r

    cid = docker.run(["/bin/true"], name="e2e-exited")
    for _ in range(100):
        if not docker.inspect(cid)["State"]["Running"]:
            break
        time.sleep(0.1)
    r = api.post("/checkpoints", {"container": "e2e-exited"})
    assert r.status == 409 and r.json["code"] == "container_not_running", r
    assert "exited" in r.json["detail"]


def test_engine_without_experimental_is_503_with_hint(engine, noexp_engine):
    from conftest import Service
    svc = Service([("default", engine.url), ("plain", noexp_engine.url)])
    try:
        r = svc.client.post("/checkpoints", {"container": "anything", "engine": "plain"})
        assert r.status == 503 and r.json["code"] == "experimental_disabled", r
        assert "--experimental" in r.json["hint"]
        r = svc.client.get("/engines")
        plain = [e for e in r.json["items"] if e["name"] == "plain"][0]
        assert plain["experimental"] is False and plain["reachable"] is True
    finally:
        svc.close()


def test_delete_removes_files_and_image(api, docker):
    docker.run(COUNTER, name="e2e-counter-del")
    r = api.post("/checkpoints?wait=true", {"container": "e2e-counter-del"})
    assert r.status == 201, r
    ck = r.json
    folder = os.path.dirname(ck["directory"])
    assert os.path.isdir(ck["directory"])
    r = api.delete(f"/checkpoints/{ck['id']}")
    assert r.status == 204, r
    assert r.raw == b""
    assert not os.path.exists(folder), os.listdir(folder)
    assert docker.image(ck["image"]["id"]) is None
    assert api.get(f"/checkpoints/{ck['id']}").status == 404
    assert api.delete(f"/checkpoints/{ck['id']}").status == 404
    # no helper container is left behind
    _, cs = docker.call("GET", '/containers/json?all=1&filters={"label":["io.checkpointd.role"]}')
    assert cs == [], cs


def test_delete_while_running_is_409(api, docker, checkpoints):
    docker.run(COUNTER, name="e2e-counter-busy")
    r = api.post("/checkpoints", {"container": "e2e-counter-busy"})
    assert r.status == 202
    checkpoints.append(r.json["id"])
    r2 = api.delete(f"/checkpoints/{r.json['id']}")
    assert r2.status == 409 and r2.json["code"] == "checkpoint_busy", r2
    assert api.wait_status(r.json["id"])["status"] == "ready"


def test_list_paging_and_filters(api, docker, checkpoints):
    docker.run(COUNTER, name="e2e-list-a")
    docker.run(COUNTER, name="e2e-list-b")
    ids = []
    for c in ("e2e-list-a", "e2e-list-b", "e2e-list-a"):
        r = api.post("/checkpoints?wait=true", {"container": c, "leave_running": True})
        assert r.status == 201, r
        ids.append(r.json["id"])
        checkpoints.append(r.json["id"])

    # newest first, one page at a time, no gaps or repeats
    seen, cursor = [], None
    while True:
        q = "/checkpoints?limit=1&container=e2e-list-a" + (f"&cursor={cursor}" if cursor else "")
        r = api.get(q)
        assert r.status == 200
        assert len(r.json["items"]) <= 1
        seen += [c["id"] for c in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[2], ids[0]]

    r = api.get("/checkpoints?container=e2e-list-b&status=ready&engine=default")
    assert [c["id"] for c in r.json["items"]] == [ids[1]]
    r = api.get("/checkpoints?status=failed&container=e2e-list-b")
    assert r.json["items"] == []
    r = api.get("/checkpoints?engine=other")
    assert r.json["items"] == []
    r = api.get("/checkpoints?updated_since=2999-01-01T00:00:00Z")
    assert r.json["items"] == []
    r = api.get("/checkpoints?updated_since=2000-01-01T00:00:00%2B02:00&limit=1000")
    assert {ids[0], ids[1], ids[2]} <= {c["id"] for c in r.json["items"]}

    for bad in ("limit=0", "limit=1001", "limit=x", "cursor=abc", "status=done",
                "updated_since=yesterday", "colour=red", "container="):
        r = api.get("/checkpoints?" + bad)
        assert r.status == 400 and r.json["code"] == "invalid_parameter", (bad, r)
        assert r.json["parameter"] == bad.split("=")[0]


def test_etag_and_304(api, docker, checkpoints):
    r = api.get("/checkpoints")
    etag = r.headers["etag"]
    r2 = api.get("/checkpoints", headers={"If-None-Match": etag})
    assert r2.status == 304 and r2.raw == b""
    r3 = api.get("/checkpoints", headers={"If-None-Match": '"other"'})
    assert r3.status == 200
    for path in ("/health", "/engines", "/openapi.json"):
        r = api.get(path)
        assert api.get(path, headers={"If-None-Match": r.headers["etag"]}).status == 304
    r = api.request("HEAD", "/health")
    assert r.status == 200 and r.raw == b""
    # a change of the record changes its ETag
    docker.run(COUNTER, name="e2e-etag")
    r = api.post("/checkpoints", {"container": "e2e-etag", "leave_running": True})
    checkpoints.append(r.json["id"])
    first = api.get(f"/checkpoints/{r.json['id']}")
    api.wait_status(r.json["id"])
    after = api.get(f"/checkpoints/{r.json['id']}", headers={"If-None-Match": first.headers["etag"]})
    assert after.status == 200 and after.json["status"] == "ready"
