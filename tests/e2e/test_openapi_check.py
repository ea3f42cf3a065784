"""Self-tests of openapi_check and of openapi/openapi.json itself.

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_openapi_check.py
"""

import copy
import json
import pathlib
import re
import sys

import pytest
from jsonschema import Draft202012Validator

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import openapi_check as oc  # noqa: E402

DOC = oc.DOC
CK = "ck-3f2a9c4e1b7d6a05"
ETAG = {"ETag": '"8c1f0e9d2b7a6354"'}
JSON = {"Content-Type": "application/json"}
PROBLEM = {"Content-Type": "application/problem+json"}


@pytest.fixture(autouse=True)
def _own_exercised():
    """These fake answers must not count as coverage for the real e2e suite
    that may share this process: keep and restore what it recorded."""
    kept = oc.exercised()
    oc.reset_exercised()
    yield
    oc.reset_exercised()
    oc._exercised.update(kept)


def record(**changes):
    ck = {
        "id": CK,
        "name": "counter-before-upgrade",
        "container": {"id": "4b1d" + "0" * 60, "name": "counter"},
        "engine": "default",
        "status": "ready",
        "leave_running": False,
        "image": {"id": "sha256:" + "ab" * 32, "repository": "checkpointd/counter",
                  "tag": "counter-before-upgrade", "size_bytes": 7340032},
        "size_bytes": 2457600,
        "directory": "/var/lib/docker/containers/x/checkpoints/counter-before-upgrade",
        "timings_ms": {"commit": 412, "checkpoint": 1180, "measure": 9, "total": 1623},
        "created_at": "2025-06-01T12:00:00Z",
        "updated_at": "2025-06-01T12:00:01.623+00:00",
        "error": None,
    }
    ck.update(changes)
    return ck


def problem(status, code, **extra):
    p = {"type": "urn:checkpointd:problem:" + code, "title": "x", "status": status,
         "detail": "something", "code": code, "instance": "/x"}
    p.update(extra)
    return p


def b(obj):
    return json.dumps(obj).encode()


def fails(match, *args):
    with pytest.raises(AssertionError, match=match):
        oc.check(*args)


# ---------------------------------------------------------------- the document

def walk(node, pointer="#"):
    """Yields (pointer, node) for every dict in the document."""
    if isinstance(node, dict):
        yield pointer, node
        for k, v in node.items():
            yield from walk(v, pointer + "/" + oc._escape(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{pointer}/{i}")


def operations():
    for template, item in DOC["paths"].items():
        for m in oc._METHODS:
            if m in item:
                yield template, m, item, item[m]


def test_document_basics():
    assert DOC["openapi"] == "3.1.0"
    assert DOC["info"]["version"] == "0.1.0"
    assert DOC["servers"] == [{"url": "http://127.0.0.1:8780"}]
    assert oc.DOC_BYTES.decode("ascii").endswith("}\n")
    assert sorted(oc.paths()) == sorted([
        ("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/engines"),
        ("POST", "/checkpoints"), ("GET", "/checkpoints"),
        ("GET", "/checkpoints/{id}"), ("DELETE", "/checkpoints/{id}"),
    ])


def test_every_ref_resolves():
    refs = [(p, n["$ref"]) for p, n in walk(DOC) if isinstance(n.get("$ref"), str)]
    assert refs
    for where, ref in refs:
        assert ref.startswith("#/"), f"{where}: non-local $ref {ref}"
        oc.resolve_pointer(ref)  # raises AssertionError naming the ref


def test_every_operation_is_described():
    ids = set()
    for template, m, item, op in operations():
        where = f"{m.upper()} {template}"
        assert op.get("responses"), f"{where} has no responses"
        assert op.get("operationId") and op["operationId"] not in ids, where
        ids.add(op["operationId"])
        assert op.get("summary") and op.get("description"), where
        for code, resp in op["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d|[1-5]XX|default", code), f"{where}: {code}"
            resp, _ = oc._deref(resp, "")
            assert resp.get("description"), f"{where} {code} has no description"
        # every {param} of the template is a declared, required path parameter
        params = [oc._deref(p, "")[0] for p in item.get("parameters", []) + op.get("parameters", [])]
        declared = {p["name"] for p in params if p["in"] == "path" and p.get("required")}
        assert declared == set(re.findall(r"\{([^}]+)\}", template)), where
        names = [(p["in"], p["name"]) for p in params]
        assert len(names) == len(set(names)), f"{where}: duplicate parameters"


def test_every_get_has_etag_304_and_if_none_match():
    for template, m, item, op in operations():
        if m != "get":
            continue
        ok, _ = oc._deref(op["responses"]["200"], "")
        etag, _ = oc._deref(ok["headers"]["ETag"], "")
        assert etag["required"] is True, template
        nm, _ = oc._deref(op["responses"]["304"], "")
        assert "content" not in nm and oc._deref(nm["headers"]["ETag"], "")[0]["required"]
        params = [oc._deref(p, "")[0] for p in op.get("parameters", [])]
        assert ("header", "If-None-Match") in [(p["in"], p["name"]) for p in params], template


def test_errors_are_problems_and_codes_are_all_used():
    used = set()
    responses = [(f"{m} {t} {c}", r) for t, m, _, op in operations()
                 for c, r in op["responses"].items()]
    for part in ("unknown_path", "unknown_method"):
        responses += [(part, r) for c, r in DOC["x-checkpointd-unrouted"][part].items()]
    for where, resp in responses:
        resp, pointer = oc._deref(resp, "")
        code = where.split()[-1]
        if code[0] in "45" or where.startswith("unknown"):
            assert list(resp["content"]) == ["application/problem+json"], where
            schema = resp["content"]["application/problem+json"]["schema"]
            codes = schema["properties"]["code"]
            used.update(codes.get("enum", [codes.get("const")]))
    assert used == set(DOC["components"]["schemas"]["ProblemCode"]["enum"])


def test_create_answers_have_location():
    post = DOC["paths"]["/checkpoints"]["post"]
    for code in ("201", "202"):
        loc, _ = oc._deref(post["responses"][code]["headers"]["Location"], "")
        assert loc["required"] is True


def schemas_in_document():
    """Every schema object: components/schemas, and the `schema` of media
    types, parameters and headers."""
    for name in DOC["components"]["schemas"]:
        yield f"#/components/schemas/{name}"
    for pointer, node in walk(DOC):
        if isinstance(node.get("schema"), dict):
            yield pointer + "/schema"


def test_every_schema_compiles():
    pointers = list(schemas_in_document())
    assert len(pointers) > 20
    for pointer in pointers:
        Draft202012Validator.check_schema(oc.resolve_pointer(pointer))
        oc.validator(pointer)  # builds with the document as the $ref root


def test_request_bodies_are_closed():
    """Each object schema a request body uses says additionalProperties: false."""
    def closed(schema):
        schema, _ = oc._deref(schema, "")
        if schema.get("type") == "object" or "properties" in schema:
            assert schema.get("additionalProperties") is False, schema
            for sub in schema.get("properties", {}).values():
                closed(sub)
    for _, _, _, op in operations():
        for media in op.get("requestBody", {}).get("content", {}).values():
            closed(media["schema"])


def test_response_objects_list_required_fields():
    for name, schema in DOC["components"]["schemas"].items():
        if schema.get("type") == "object" and "properties" in schema:
            assert schema.get("required"), f"{name} lists no required fields"
            assert set(schema["required"]) <= set(schema["properties"]), name


def examples_in_document():
    """(pointer of the schema, example value, where) for every example."""
    for pointer, node in walk(DOC):
        if "schema" not in node:
            continue
        if "example" in node:
            yield pointer + "/schema", node["example"], pointer + "/example"
        for name, ex in (node.get("examples") or {}).items():
            ex, _ = oc._deref(ex, "")
            yield pointer + "/schema", ex["value"], f"{pointer}/examples/{name}"


def test_every_example_matches_its_schema():
    seen = 0
    for schema_pointer, value, where in examples_in_document():
        errs = oc.schema_errors(schema_pointer, value)
        assert not errs, f"{where}: {errs}"
        seen += 1
    assert seen > 25


def test_every_operation_has_an_example():
    for template, m, _, op in operations():
        examples = 0
        for resp in op["responses"].values():
            resp, _ = oc._deref(resp, "")
            for media in (resp.get("content") or {}).values():
                examples += ("example" in media) + len(media.get("examples") or {})
        assert examples, f"{m.upper()} {template} has no example"


def test_documented_answers_pass_the_checker():
    """The examples, sent as answers, pass check(): checker and document agree."""
    concrete = {"/checkpoints/{id}": "/checkpoints/" + CK}
    n = 0
    for template, m, _, op in operations():
        path = concrete.get(template, template)
        for code, resp in op["responses"].items():
            resp, _ = oc._deref(resp, "")
            headers = {}
            for name, h in (resp.get("headers") or {}).items():
                headers[name] = oc._deref(h, "")[0]["example"]
            for mt, media in (resp.get("content") or {}).items():
                values = [media["example"]] if "example" in media else []
                values += [oc._deref(e, "")[0]["value"] for e in (media.get("examples") or {}).values()]
                for value in values:
                    if isinstance(value, dict) and "id" in value and "Location" in headers:
                        headers["Location"] = "/checkpoints/" + value["id"]
                    body = oc.DOC_BYTES if template == "/openapi.json" and code == "200" else b(value)
                    oc.check(m.upper(), path, int(code), dict(headers, **{"Content-Type": mt}), body)
                    n += 1
            if not resp.get("content"):
                oc.check(m.upper(), path, int(code), headers, b"")
                n += 1
    assert n > 30


# ---------------------------------------------------------------- the checker

def test_good_record_passes_and_is_returned():
    body = oc.check("GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record()))
    assert body["id"] == CK
    assert ("GET", "/checkpoints/{id}", 200) in oc.exercised()


def test_path_matching():
    assert oc.match_path("/checkpoints/ck-0123456789abcdef") == "/checkpoints/{id}"
    assert oc.match_path("/checkpoints?limit=5") == "/checkpoints"
    assert oc.match_path("/checkpoints/") is None
    assert oc.match_path("/checkpoints/a/b") is None
    assert oc.match_path("/openapi.json") == "/openapi.json"


def test_record_missing_timings_fails():
    ck = record()
    del ck["timings_ms"]
    fails("'timings_ms' is a required property", "GET", "/checkpoints/" + CK, 200,
          {**ETAG, **JSON}, b(ck))


def test_unknown_status_value_fails():
    fails("frozen", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(status="frozen")))


def test_extra_field_and_bad_values_fail():
    fails("Additional properties", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON},
          b(record(colour="red")))
    fails("does not match", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(id="ck-1")))
    fails("date-time", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON},
          b(record(created_at="2025-06-01 12:00:00")))
    fails("is not of type", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON},
          b(record(size_bytes="12")))
    img = record()["image"] | {"id": "abc"}
    fails("does not match", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(image=img)))


def test_failed_record_needs_its_error_and_others_must_not_have_one():
    fails("error", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(status="failed")))
    err = {"code": "checkpoint_failed", "message": "criu failed"}
    oc.check("GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(status="failed", error=err)))
    fails("error", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(error=err)))


def test_undocumented_status_fails():
    fails("status 418 is not documented", "GET", "/checkpoints/" + CK, 418, JSON, b({}))
    fails("status 502 is not documented", "GET", "/checkpoints/" + CK, 502, PROBLEM,
          b(problem(502, "engine_error")))


def test_missing_etag_fails_and_head_is_get_without_body():
    fails("ETag is missing", "GET", "/engines", 200, JSON, b({"items": []}))
    fails("ETag.*malformed", "GET", "/engines", 200, {"ETag": "abc", **JSON}, b({"items": []}))
    assert oc.check("HEAD", "/engines", 200, {**ETAG, **JSON}, b"") is None
    fails("HEAD answer must have no body", "HEAD", "/engines", 200, {**ETAG, **JSON}, b({"items": []}))
    fails("ETag is missing", "HEAD", "/engines", 200, JSON, b"")
    assert ("HEAD", "/engines", 200) in oc.exercised()


def test_not_modified():
    oc.check("GET", "/health", 304, ETAG, b"")
    oc.check("HEAD", "/checkpoints/" + CK, 304, ETAG, None)
    fails("must have no body", "GET", "/health", 304, ETAG, b"{}")
    fails("ETag is missing", "GET", "/health", 304, {}, b"")
    fails("not documented", "DELETE", "/checkpoints/" + CK, 304, ETAG, b"")


def test_no_content_on_delete():
    oc.check("DELETE", "/checkpoints/" + CK, 204, {}, b"")
    fails("204 answer must have no body", "DELETE", "/checkpoints/" + CK, 204, {}, b"{}")


def test_content_type():
    fails("Content-Type is 'text/plain'", "GET", "/engines", 200,
          {**ETAG, "Content-Type": "text/plain"}, b({"items": []}))
    fails("Content-Type is None", "GET", "/engines", 200, ETAG, b({"items": []}))
    fails("Content-Type is 'application/json'", "GET", "/checkpoints/" + CK, 404, JSON,
          b(problem(404, "checkpoint_not_found")))
    oc.check("GET", "/engines", 200, {**ETAG, "content-type": "Application/JSON; charset=utf-8"},
             b({"items": []}))
    fails("not JSON", "GET", "/engines", 200, {**ETAG, **JSON}, b"{items")


def test_headers_case_insensitive_and_as_pairs():
    oc.check("GET", "/engines", 200, [("etag", '"1"'), ("CONTENT-TYPE", "application/json")],
             b({"items": []}))


def test_method_not_allowed():
    p = b(problem(405, "method_not_allowed"))
    oc.check("PUT", "/health", 405, {"Allow": "GET, HEAD", **PROBLEM}, p)
    oc.check("PATCH", "/checkpoints", 405, {"allow": "POST, GET, HEAD", **PROBLEM}, p)
    fails("Allow is missing", "PUT", "/health", 405, PROBLEM, p)
    fails("Allow says", "PUT", "/checkpoints/" + CK, 405, {"Allow": "GET, HEAD", **PROBLEM}, p)
    fails("documents no PUT", "PUT", "/health", 200, JSON, b"{}")
    fails("does not match the schema", "PUT", "/health", 405, {"Allow": "GET, HEAD", **PROBLEM},
          b(problem(405, "not_found")))


def test_unknown_path():
    oc.check("GET", "/nope", 404, PROBLEM, b(problem(404, "not_found")))
    oc.check("HEAD", "/checkpoints/ck-1/x", 404, PROBLEM, b"")
    fails("matches no path", "GET", "/nope", 200, JSON, b"{}")
    fails("does not match the schema", "GET", "/nope", 404, PROBLEM,
          b(problem(404, "checkpoint_not_found")))


def test_problems():
    url = "/checkpoints/" + CK
    oc.check("GET", url, 404, PROBLEM, b(problem(404, "checkpoint_not_found", id=CK)))
    fails("does not match the schema", "GET", url, 404, PROBLEM, b(problem(404, "container_not_found")))
    fails("does not match the schema", "GET", url, 404, PROBLEM, b(problem(404, "nonsense")))
    bad = problem(404, "checkpoint_not_found")
    bad["type"] = "urn:checkpointd:problem:not_found"
    fails("does not match its code", "GET", url, 404, PROBLEM, b(bad))
    bad = problem(404, "checkpoint_not_found")
    del bad["detail"]
    fails("'detail' is a required property", "GET", url, 404, PROBLEM, b(bad))
    fails("does not match the schema", "GET", url, 404, PROBLEM,
          b(problem(404, "checkpoint_not_found", extra="x")))
    # a problem whose status differs from the answer's
    fails("does not match the schema", "GET", url, 404, PROBLEM, b(problem(409, "checkpoint_not_found")))
    # conditional members
    fails("'id' is a required property", "POST", "/checkpoints", 502, PROBLEM,
          b(problem(502, "checkpoint_failed")))
    oc.check("POST", "/checkpoints", 502, PROBLEM, b(problem(502, "checkpoint_failed", id=CK)))
    fails("'hint' is a required property", "POST", "/checkpoints", 503, PROBLEM,
          b(problem(503, "experimental_disabled")))
    fails("'field' is a required property", "POST", "/checkpoints", 400, PROBLEM,
          b(problem(400, "missing_field")))
    fails("'parameter' is a required property", "GET", "/checkpoints", 400, PROBLEM,
          b(problem(400, "invalid_parameter")))
    oc.check("GET", "/checkpoints?limit=0", 400, PROBLEM,
             b(problem(400, "invalid_parameter", parameter="limit")))
    fails("does not match the schema", "GET", "/checkpoints", 400, PROBLEM,
          b(problem(400, "invalid_field", field="limit")))


def test_create_answers():
    pending = record(status="pending")
    loc = {"Location": "/checkpoints/" + CK, **JSON}
    oc.check("POST", "/checkpoints", 202, loc, b(pending))
    oc.check("POST", "/checkpoints?wait=true", 201, loc, b(record()))
    fails("Location is missing", "POST", "/checkpoints", 202, JSON, b(pending))
    fails("Location is missing", "POST", "/checkpoints", 201, JSON, b(record()))
    fails("does not name the record", "POST", "/checkpoints", 202,
          {**loc, "Location": "/checkpoints/ck-0000000000000000"}, b(pending))
    fails("Location.*malformed", "POST", "/checkpoints", 202,
          {**loc, "Location": "http://127.0.0.1:8780/checkpoints/" + CK}, b(pending))
    fails("does not match the schema", "POST", "/checkpoints", 202, loc, b(record()))
    fails("does not match the schema", "POST", "/checkpoints", 201, loc, b(record(status="running")))


def test_list_answers():
    page = {"items": [record(), record(id="ck-0000000000000001")], "next_cursor": None}
    oc.check("GET", "/checkpoints?limit=2", 200, {**ETAG, **JSON}, b(page))
    fails("'next_cursor' is a required property", "GET", "/checkpoints", 200, {**ETAG, **JSON},
          b({"items": []}))
    broken = copy.deepcopy(page)
    del broken["items"][1]["timings_ms"]["total"]
    fails("at /items/1/timings_ms", "GET", "/checkpoints", 200, {**ETAG, **JSON}, b(broken))


def test_health_and_engines():
    h = {"status": "ok", "version": "0.1.0", "engines": [{"name": "default", "reachable": True}],
         "unreachable": []}
    oc.check("GET", "/health", 200, {**ETAG, **JSON}, b(h))
    fails("'sick' is not one of", "GET", "/health", 200, {**ETAG, **JSON}, b(h | {"status": "sick"}))
    engine = {"name": "default", "url": "unix:///var/run/docker.sock", "reachable": False,
              "docker_version": None, "api_version": None, "experimental": None,
              "root_dir": None, "warning": None, "error": "connection refused",
              "checked_at": "2025-06-01T12:00:00Z"}
    oc.check("GET", "/engines", 200, {**ETAG, **JSON}, b({"items": [engine]}))
    no_warning = dict(engine)
    del no_warning["warning"]
    fails("'warning' is a required property", "GET", "/engines", 200, {**ETAG, **JSON},
          b({"items": [no_warning]}))


def test_openapi_document_is_served_byte_for_byte():
    oc.check("GET", "/openapi.json", 200, {**ETAG, **JSON}, oc.DOC_BYTES)
    fails("differs from", "GET", "/openapi.json", 200, {**ETAG, **JSON},
          json.dumps(DOC).encode())


def test_exercised_and_reset():
    oc.reset_exercised()
    assert oc.exercised() == set()
    oc.check("GET", "/nope", 404, PROBLEM, b(problem(404, "not_found")))
    assert oc.exercised() == set()  # unknown paths are no documented route
    oc.check("DELETE", "/checkpoints/" + CK, 204, {}, b"")
    assert oc.exercised() == {("DELETE", "/checkpoints/{id}", 204)}
