"""Engines behind TLS, as the docker CLI reaches them: a real
`dockerd --tlsverify` with certificates made by tests/bed/certs.sh.

What a user must see: a TLS engine works like a plain one (probe,
checkpoint, delete); a wrong CA, a refused client certificate or a plain URL
on the TLS port is a clear "TLS: " error and a 502, never a success and
never a quiet fall back to plain HTTP.
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import time

import pytest

from conftest import BINARY, ENGINE_NAME, IMAGE, Engine, Service, bed, free_port

COUNTER = ["/usr/local/bin/counter"]
TLS_ENGINE = ENGINE_NAME + "-tls"


class TlsEngine(Engine):
    """The Engine helper of conftest, over TLS with the client certificate
    of certs (a certs.sh folder)."""

    def __init__(self, name, port, certs):
        super().__init__(name, port)
        self.certs = str(certs)
        self.url = f"https://127.0.0.1:{port}"
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.pem"))
        self.ctx.load_cert_chain(os.path.join(self.certs, "cert.pem"),
                                 os.path.join(self.certs, "key.pem"))

    def connect(self, timeout=300):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout)

    def call(self, method, path, obj=None, ok=(200, 201, 204, 304)):
        conn = self.connect()
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


def copy_image(plain, tls):
    """The test image from the plain engine onto the TLS one, streamed
    (images/get -> images/load): images.sh speaks plain HTTP only."""
    want = plain.image(IMAGE)["Id"]
    have = tls.image(IMAGE)
    if have and have["Id"] == want:
        return
    src = http.client.HTTPConnection("127.0.0.1", plain.port, timeout=300)
    dst = tls.connect()
    try:
        src.request("GET", f"/images/{IMAGE}/get")
        tar = src.getresponse()
        assert tar.status == 200, tar.read()[:500]
        # a file-like body without a length goes out chunked
        dst.request("POST", "/images/load?quiet=1", body=tar,
                    headers={"Content-Type": "application/x-tar"})
        r = dst.getresponse()
        out = r.read()
        assert r.status == 200 and b'"error' not in out, out[:500]
    finally:
        src.close()
        dst.close()
    assert tls.image(IMAGE)["Id"] == want


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Three certs.sh folders: the TLS engine's ("good"), another CA's
    ("wrong"), and good's CA with wrong's client certificate ("badclient")."""
    top = tmp_path_factory.mktemp("tls")
    good, wrong, badclient = top / "good", top / "wrong", top / "badclient"
    bed("certs.sh", str(good), "good", stdout=subprocess.DEVNULL)
    bed("certs.sh", str(wrong), "wrong", stdout=subprocess.DEVNULL)
    badclient.mkdir()
    shutil.copy(good / "ca.pem", badclient / "ca.pem")
    for f in ("cert.pem", "key.pem"):
        shutil.copy(wrong / f, badclient / f)
    return {"good": good, "wrong": wrong, "badclient": badclient}


@pytest.fixture(scope="module")
def tls_engine(engine, certs):
    """A real engine that speaks TLS only and wants our client certificate,
    with the test image; stopped at the end, also when tests fail."""
    port = free_port()
    try:
        bed("engine.sh", "start", TLS_ENGINE, str(port), "--tls", str(certs["good"]),
            stdout=subprocess.DEVNULL)
        eng = TlsEngine(TLS_ENGINE, port, certs["good"])
        _, leftovers = eng.call("GET", "/containers/json?all=1")
        for c in leftovers:
            eng.call("DELETE", f"/containers/{c['Id']}?force=1", ok=None)
        copy_image(engine, eng)
        yield eng
        eng.cleanup()
    finally:
        bed("engine.sh", "stop", TLS_ENGINE)


def engines_by_name(svc):
    r = svc.client.get("/engines")
    assert r.status == 200, r
    return {e["name"]: e for e in r.json["items"]}


def test_checkpoint_on_a_tls_engine(tls_engine):
    svc = Service([("secure", f"{tls_engine.url},tls={tls_engine.certs}")])
    try:
        e = engines_by_name(svc)["secure"]
        assert e["reachable"] is True and e["error"] is None, e
        assert e["url"] == tls_engine.url
        assert e["root_dir"] == tls_engine.root and e["experimental"] is True
        _, ver = tls_engine.call("GET", "/version")
        assert e["docker_version"] == ver["Version"]

        cid = tls_engine.run(COUNTER, name="e2e-tls-counter")
        time.sleep(0.5)
        r = svc.client.post("/checkpoints?wait=true",
                            {"container": "e2e-tls-counter", "engine": "secure"})
        assert r.status == 201, r
        ck = r.json
        assert ck["status"] == "ready" and ck["error"] is None, ck
        assert ck["engine"] == "secure" and ck["container"]["id"] == cid
        # what the record says is on the TLS engine really is there
        assert tls_engine.image(ck["image"]["id"]) is not None
        assert ck["directory"].startswith(tls_engine.root + "/checkpointd/")
        assert any(n.endswith(".img") for n in os.listdir(ck["directory"]))
        assert tls_engine.inspect(cid)["State"]["Running"] is False

        r = svc.client.delete(f"/checkpoints/{ck['id']}")
        assert r.status == 204, r
        assert not os.path.exists(os.path.dirname(ck["directory"]))
        assert tls_engine.image(ck["image"]["id"]) is None
    finally:
        svc.close()
        tls_engine.cleanup()


def test_wrong_certificates_and_plain_urls_fail_loudly(engine, tls_engine, certs):
    """Each way of getting TLS wrong: the engine is unreachable with an
    error that says what is wrong, and a checkpoint there is a 502."""
    tls_engine.run(COUNTER, name="e2e-tls-wrong")
    port = tls_engine.port
    cases = {
        # (engine URL, what the error must say)
        "wrongca": (f"https://127.0.0.1:{port},tls={certs['wrong']}",
                    f"not signed by {certs['wrong']}/ca.pem"),
        "badclient": (f"https://127.0.0.1:{port},tls={certs['badclient']}",
                      f"refused the client certificate {certs['badclient']}/cert.pem"),
        "plain": (f"tcp://127.0.0.1:{port}", "speaks TLS on this port"),
        "systemca": (f"https://127.0.0.1:{port}", "not signed by a CA this system trusts"),
        "notls": (f"https://127.0.0.1:{engine.port},tls={certs['good']}",
                  "does not speak TLS on this port"),
    }
    svc = Service([(name, url) for name, (url, _) in cases.items()])
    try:
        found = engines_by_name(svc)
        for name, (url, says) in cases.items():
            e = found[name]
            assert e["reachable"] is False, e
            assert e["error"].startswith("TLS: "), e
            assert says in e["error"], e
            assert e["url"] == url.split(",")[0]
        for name, (url, says) in cases.items():
            r = svc.client.post("/checkpoints", {"container": "e2e-tls-wrong", "engine": name})
            assert r.status == 502, (name, r)
            assert r.json["code"] == "engine_unreachable", r
            assert "TLS: " in r.json["detail"] and says in r.json["detail"], r
        assert svc.client.get("/checkpoints").json["items"] == []
        # the container was never touched
        assert tls_engine.inspect("e2e-tls-wrong")["State"]["Running"] is True
    finally:
        svc.close()
        tls_engine.cleanup()


def test_default_engine_from_docker_tls_verify(tls_engine, monkeypatch):
    """No --engine: the docker CLI's variables choose the engine and TLS."""
    monkeypatch.delenv("CHECKPOINTD_ENGINE", raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{tls_engine.port}")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", tls_engine.certs)
    svc = Service([])
    try:
        (e,) = engines_by_name(svc).values()
        assert e["name"] == "default" and e["url"] == f"tcp://127.0.0.1:{tls_engine.port}"
        assert e["reachable"] is True and e["error"] is None, e
        assert e["root_dir"] == tls_engine.root
    finally:
        svc.close()


def test_env_list_keeps_commas_and_takes_tls(engine, tls_engine, monkeypatch):
    """CHECKPOINTD_ENGINE: "a=URL,b=URL" still means two engines, and
    ",tls=DIR" belongs to the engine before it."""
    monkeypatch.setenv("CHECKPOINTD_ENGINE",
                       f"plain={engine.url},secure={tls_engine.url},tls={tls_engine.certs}")
    svc = Service([])
    try:
        found = engines_by_name(svc)
        assert sorted(found) == ["plain", "secure"]
        assert found["plain"]["reachable"] is True, found
        assert found["secure"]["reachable"] is True, found
    finally:
        svc.close()


def test_a_missing_certificate_file_stops_the_start(certs, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in ("ca.pem", "cert.pem"):
        shutil.copy(certs["good"] / f, partial / f)
    out = subprocess.run([str(BINARY), "--data-dir", str(tmp_path / "data"),
                          "--listen", f"127.0.0.1:{free_port()}",
                          "--engine", f"x=tcp://127.0.0.1:{free_port()},tls={partial}"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert f"{partial}/key.pem" in out.stderr, out.stderr
    out = subprocess.run([str(BINARY), "--help"], capture_output=True, text=True)
    assert "NAME=URL[,tls=DIR]" in out.stdout
