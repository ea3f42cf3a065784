"""Bad input of every kind gets a clear 4xx problem+json, never a crash."""

import http.client
import json


def problem(r, status, code, field=None):
    assert r.status == status, r
    assert r.headers["content-type"] == "application/problem+json", r.headers
    assert r.json["code"] == code, r.json
    assert r.json["status"] == status
    assert r.json["detail"]
    if field:
        assert r.json["field"] == field, r.json


def test_routing(api):
    problem(api.get("/nope"), 404, "not_found")
    problem(api.get("/checkpoints/"), 404, "not_found")
    r = api.request("PUT", "/checkpoints")
    problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD, POST"
    r = api.request("POST", "/health", body=b"")
    problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD"
    problem(api.get("/checkpoints/ck-0123456789abcdef"), 404, "checkpoint_not_found")
    problem(api.get("/checkpoints/%2e%2e"), 404, "checkpoint_not_found")
    problem(api.get("/checkpoints/ck-XYZ"), 404, "checkpoint_not_found")
    problem(api.get("/health?x=1"), 400, "invalid_parameter")


def test_media_type_and_size(api):
    problem(api.post("/checkpoints", {"container": "x"}, ctype="text/plain"), 415,
            "unsupported_media_type")
    problem(api.post("/checkpoints", {"container": "x"}, ctype=None), 415,
            "unsupported_media_type")
    ok = api.post("/checkpoints", {"container": "no-such-ctr"},
                  ctype="application/json; charset=utf-8")
    assert ok.status == 404


def test_declared_length_over_1mib_is_refused_before_the_body(service):
    """A Content-Length over 1 MiB is answered 413 at once: the body is
    never read (curl, with its Expect: 100-continue, never even sends it)."""
    import socket
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as s:
        s.sendall(b"POST /checkpoints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413"), data[:200]


def test_body_over_1mib_chunked_is_cut_off(service):
    """A chunked body has no length up front: it is refused as soon as it
    passes 1 MiB, not buffered whole."""
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
    conn.putrequest("POST", "/checkpoints")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"a" * 65536
    sent = 0
    try:
        for _ in range(64):  # up to 4 MiB
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = conn.getresponse()
    body = json.loads(r.read())
    conn.close()
    assert r.status == 413 and body["code"] == "payload_too_large"
    assert service.proc.poll() is None


def test_invalid_json_and_fields(api):
    cases = [
        (b"", "invalid_json", None),
        (b"{", "invalid_json", None),
        (b"[1]", "invalid_json", None),
        (b'"x"', "invalid_json", None),
        (b'{"container": "x"} trailing', "invalid_json", None),
        (b'{"container": "x\x00"}', "invalid_json", None),
        (b'{"container": "\xff\xfe"}', "invalid_json", None),
        (b'{"container": "x\\u0000y"}', "invalid_field", "container"),
        (b'{}', "missing_field", "container"),
        (b'{"name": "ok-name"}', "missing_field", "container"),
        (b'{"container": 5}', "invalid_field", "container"),
        (b'{"container": null}', "invalid_field", "container"),
        (b'{"container": ""}', "invalid_field", "container"),
        (b'{"container": "' + b"a" * 256 + b'"}', "invalid_field", "container"),
        (b'{"container": "a b"}', "invalid_field", "container"),
        (b'{"container": "x", "name": "a"}', "invalid_field", "name"),
        (b'{"container": "x", "name": "-bad"}', "invalid_field", "name"),
        (b'{"container": "x", "name": "has/slash"}', "invalid_field", "name"),
        (b'{"container": "x", "name": "' + b"n" * 129 + b'"}', "invalid_field", "name"),
        (b'{"container": "x", "leave_running": "yes"}', "invalid_field", "leave_running"),
        (b'{"container": "x", "engine": 1}', "invalid_field", "engine"),
        (b'{"container": "x", "colour": "red"}', "unknown_field", "colour"),
    ]
    for body, code, field in cases:
        r = api.post("/checkpoints", raw=body)
        problem(r, 400, code, field)
    problem(api.post("/checkpoints?wait=maybe", {"container": "x"}), 400, "invalid_parameter")
    problem(api.post("/checkpoints?force=1", {"container": "x"}), 400, "invalid_parameter")
    # the service is still fine
    assert api.get("/health").status == 200
