"""Hooks around the dump and the restore, on real engines: a before hook
that makes the app free memory gives a smaller checkpoint (Docker and
Podman); a failing or hanging hook fails the checkpoint cleanly and leaves
the container running; after hooks run in every copy; profiles fill them
in; bad hooks are refused."""

import time

import pytest

from conftest import Service

SLOWBOOT = ["/usr/local/bin/slowboot", "--boot-seconds", "0", "--heap-mib", "64"]
COUNTER = ["/usr/local/bin/counter"]
MiB = 1 << 20


@pytest.fixture(scope="module")
def svc(engine, podman_engine):
    s = Service([("default", engine.url), ("podman", podman_engine.url)])
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def made(svc, engine, podman_engine):
    """Records a test makes (ids), deleted after it; containers too."""
    ids = []
    yield ids
    for rid in reversed(ids):
        for _ in range(300):
            if svc.client.delete(("/restores/" if rid.startswith("rs-") else "/checkpoints/")
                                 + rid).status != 409:
                break
            time.sleep(0.2)
    engine.cleanup()
    podman_engine.cleanup()


def wait_log(eng, cid, text, timeout=30):
    deadline = time.time() + timeout
    while text.encode() not in eng.logs(cid):
        assert time.time() < deadline, f"{cid[:12]} never printed {text!r}"
        time.sleep(0.1)


def checkpoint(api, made, body):
    r = api.post("/checkpoints?wait=true", body)
    if r.json and str(r.json.get("id", "")).startswith("ck-"):
        made.append(r.json["id"])
    return r


@pytest.mark.parametrize("kind", ["docker", "podman"])
def test_a_before_hook_that_frees_memory_gives_a_smaller_checkpoint(svc, made, engine,
                                                                     podman_engine, kind):
    api, eng = svc.client, (engine if kind == "docker" else podman_engine)
    kind = "default" if kind == "docker" else kind
    for name in (f"e2e-hook-plain-{kind}", f"e2e-hook-freed-{kind}"):
        eng.run(SLOWBOOT, name=name)
        wait_log(eng, name, "ready")
    r = checkpoint(api, made, {"container": f"e2e-hook-plain-{kind}", "engine": kind,
                               "leave_running": True})
    assert r.status == 201, r
    plain = r.json
    assert plain["hooks"] is None and plain["hook_results"] is None
    assert plain["memory_bytes"] == {"before_hooks": None, "at_dump": None}
    assert plain["timings_ms"]["before"] is None and plain["timings_ms"]["settle"] is None

    r = checkpoint(api, made, {"container": f"e2e-hook-freed-{kind}", "engine": kind,
                               "leave_running": True, "settle": True,
                               "before": [{"exec": ["kill", "-USR1", "1"], "timeout_s": 10}]})
    assert r.status == 201, r
    freed = r.json
    assert freed["hooks"] == {"profile": None, "settle": True, "after_restore": [],
                              "before": [{"exec": ["kill", "-USR1", "1"], "timeout_s": 10}]}
    [res] = freed["hook_results"]
    assert res["exec"] == ["kill", "-USR1", "1"] and res["exit_code"] == 0
    assert res["truncated"] is False and res["ms"] >= 0
    # the app really freed its heap, and the record shows what that saved
    wait_log(eng, f"e2e-hook-freed-{kind}", "freed 64 MiB")
    mem = freed["memory_bytes"]
    assert mem["before_hooks"] > 60 * MiB, mem
    assert mem["at_dump"] < 16 * MiB, mem
    assert freed["timings_ms"]["before"] >= 0 and freed["timings_ms"]["settle"] >= 0
    # ... and the checkpoint is smaller by about the heap
    assert plain["size_bytes"] > 60 * MiB, plain["size_bytes"]
    assert freed["size_bytes"] < plain["size_bytes"] / 2, (freed["size_bytes"],
                                                           plain["size_bytes"])
    assert eng.inspect(f"e2e-hook-freed-{kind}")["State"]["Running"] is True


def test_a_failing_hook_fails_the_checkpoint_and_leaves_the_container_running(svc, made,
                                                                               engine):
    api = svc.client
    cid = engine.run(COUNTER, name="e2e-hook-fail")
    r = api.post("/checkpoints?wait=true", {
        "container": "e2e-hook-fail",
        "before": [{"exec": ["true"]},
                   {"exec": ["sh", "-c", "echo cannot shrink; exit 3"]},
                   {"exec": ["touch", "/tmp/never"]}]})
    assert r.status == 502, r
    p = r.json
    made.append(p["id"])
    assert p["code"] == "hook_failed"
    assert "before hook 2" in p["detail"] and "exited 3" in p["detail"]
    assert "cannot shrink" in p["detail"] and p["hint"]
    rec = api.get(f"/checkpoints/{p['id']}").json
    assert rec["status"] == "failed" and rec["error"]["code"] == "hook_failed"
    # what ran is kept, up to the one that failed
    assert [h["exit_code"] for h in rec["hook_results"]] == [0, 3]
    assert rec["hook_results"][1]["output"] == "cannot shrink\n"
    # nothing was committed or dumped; the container runs on as it was
    assert rec["image"]["id"] is None and rec["directory"] is None
    state = engine.inspect(cid)["State"]
    assert state["Running"] is True and state["Paused"] is False
    _, out = engine.call("POST", f"/containers/{cid}/exec",
                         {"Cmd": ["test", "!", "-e", "/tmp/never"]})
    # a hook that never ends is cut at its timeout
    t0 = time.time()
    r = api.post("/checkpoints?wait=true", {"container": "e2e-hook-fail",
                                            "before": [{"exec": ["sleep", "30"],
                                                        "timeout_s": 1}]})
    assert r.status == 502 and r.json["code"] == "hook_failed", r
    made.append(r.json["id"])
    assert "did not end within 1s" in r.json["detail"]
    assert time.time() - t0 < 20
    assert engine.inspect(cid)["State"]["Running"] is True
    rec = api.get(f"/checkpoints/{r.json['id']}").json
    assert rec["hook_results"][0]["exit_code"] is None


@pytest.mark.parametrize("kind", ["docker", "podman"])
def test_after_hooks_run_in_every_copy(svc, made, engine, podman_engine, kind):
    api, eng = svc.client, (engine if kind == "docker" else podman_engine)
    kind = "default" if kind == "docker" else kind
    eng.run(COUNTER, name=f"e2e-hook-after-{kind}")
    r = checkpoint(api, made, {
        "container": f"e2e-hook-after-{kind}", "engine": kind, "leave_running": True,
        "after_restore": [{"exec": ["sh", "-c", "echo refreshed > /tmp/after"]}]})
    assert r.status == 201, r
    ck = r.json
    assert ck["hooks"]["after_restore"][0]["exec"][0] == "sh"
    for i in (1, 2):
        # the probe sees the file: the hook ran before the copy was called ready
        r = api.post("/restores?wait=true", {
            "checkpoint": ck["id"], "name": f"e2e-hook-after-{kind}-{i}",
            "ready": {"exec": ["grep", "-q", "refreshed", "/tmp/after"], "timeout_s": 5}})
        assert r.status == 201, r
        made.append(r.json["id"])
        rs = r.json
        assert rs["status"] == "ready"
        [res] = rs["hook_results"]
        assert res["exit_code"] == 0 and rs["timings_ms"]["after"] >= 0
    # the original never ran it
    status, _ = eng.call("POST", f"/containers/e2e-hook-after-{kind}/exec",
                         {"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True})
    assert status == 201
    # a restore's own "after" replaces the checkpoint's; [] runs none
    r = api.post("/restores?wait=true", {
        "checkpoint": ck["id"], "name": f"e2e-hook-after-{kind}-none", "after": [],
        "ready": {"exec": ["sh", "-c", "test ! -e /tmp/after"], "timeout_s": 5}})
    assert r.status == 201 and r.json["hook_results"] is None, r
    made.append(r.json["id"])
    # a failing after hook fails the restore; the copy is kept to look at
    r = api.post("/restores?wait=true", {
        "checkpoint": ck["id"], "name": f"e2e-hook-after-{kind}-bad",
        "after": [{"exec": ["sh", "-c", "echo no; exit 7"]}]})
    assert r.status == 502 and r.json["code"] == "hook_failed", r
    made.append(r.json["id"])
    assert "after hook 1" in r.json["detail"] and "exited 7" in r.json["detail"]
    rs = api.get(f"/restores/{r.json['id']}").json
    assert rs["status"] == "failed" and rs["hook_results"][0]["exit_code"] == 7
    assert eng.inspect(f"e2e-hook-after-{kind}-bad") is not None


def test_profiles_fill_in_hooks(svc, made, engine):
    api = svc.client
    r = api.get("/profiles")
    assert r.status == 200
    jvm = {p["name"]: p for p in r.json["items"]}["jvm"]
    assert jvm["before"][0]["exec"] == ["jcmd", "1", "GC.run"] and jvm["settle"] is True
    assert jvm["after_restore"][0]["exec"] == ["rm", "-f", "/tmp/.java_pid1"]
    assert "jcmd" in jvm["description"]
    engine.run(COUNTER, name="e2e-hook-profile")
    # no JVM here: the profile's jcmd is not found, and the checkpoint says so
    r = api.post("/checkpoints?wait=true", {"container": "e2e-hook-profile", "profile": "jvm"})
    assert r.status == 502 and r.json["code"] == "hook_failed", r
    made.append(r.json["id"])
    assert "jcmd" in r.json["detail"]
    assert engine.inspect("e2e-hook-profile")["State"]["Running"] is True
    # given fields win over the profile's: no GC, the rest of jvm kept
    r = checkpoint(api, made, {"container": "e2e-hook-profile", "profile": "jvm",
                               "before": [], "leave_running": True})
    assert r.status == 201, r
    assert r.json["hooks"] == {"profile": "jvm", "before": [], "settle": True,
                               "after_restore": jvm["after_restore"]}
    r = api.post("/restores?wait=true", {"checkpoint": r.json["id"], "name": "e2e-hook-jvm-copy"})
    assert r.status == 201, r
    made.append(r.json["id"])
    assert r.json["hook_results"][0]["exec"] == ["rm", "-f", "/tmp/.java_pid1"]
    assert r.json["hook_results"][0]["exit_code"] == 0


@pytest.mark.parametrize("path, body, field", [
    ("/checkpoints", {"container": "x", "before": {}}, "before"),
    ("/checkpoints", {"container": "x", "before": [{"exec": []}]}, "before[0].exec"),
    ("/checkpoints", {"container": "x", "before": [{"exec": ["a"], "timeout_s": 0}]},
     "before[0].timeout_s"),
    ("/checkpoints", {"container": "x", "before": [{"exec": ["a"], "shell": True}]},
     "before[0].shell"),
    ("/checkpoints", {"container": "x", "before": [{"timeout_s": 3}]}, "before[0].exec"),
    ("/checkpoints", {"container": "x", "before": [{"exec": ["a"]}] * 17}, "before"),
    ("/checkpoints", {"container": "x", "after_restore": ["rm"]}, "after_restore[0]"),
    ("/checkpoints", {"container": "x", "settle": "yes"}, "settle"),
    ("/checkpoints", {"container": "x", "profile": ""}, "profile"),
    ("/restores", {"checkpoint": "ck-0000000000000000", "after": [{"exec": [1]}]},
     "after[0].exec"),
    ("/restores", {"checkpoint": "ck-0000000000000000", "cold": True,
                   "after": [{"exec": ["a"]}]}, "after"),
])
def test_bad_hooks_are_refused(svc, path, body, field):
    r = svc.client.post(path, body)
    assert r.status == 400, r
    assert r.json["field"] == field, r.json
    assert r.json["code"] in ("invalid_field", "unknown_field", "missing_field")


def test_unknown_profile(svc, engine):
    engine.run(COUNTER, name="e2e-hook-noprofile")
    try:
        r = svc.client.post("/checkpoints", {"container": "e2e-hook-noprofile",
                                             "profile": "cobol"})
        assert r.status == 400 and r.json["field"] == "profile", r
        assert "GET /profiles" in r.json["hint"]
    finally:
        engine.cleanup()
