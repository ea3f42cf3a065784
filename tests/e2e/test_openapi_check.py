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
RS = "rs-8d4e2a1c9b3f7e60"
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
        "timings_ms": {"commit": 412, "checkpoint": 1180, "measure": 9, "before": None,
                       "settle": None, "total": 1623},
        "ready_ms": {"restore": 1003, "cold": None},
        "created_at": "2025-06-01T12:00:00Z",
        "updated_at": "2025-06-01T12:00:01.623+00:00",
        "error": None,
        "copies": [],
        "engine_kind": "docker",
        "archive_sha256": None,
        "criu_stats": None,
        "hooks": None,
        "hook_results": None,
        "memory_bytes": {"before_hooks": None, "at_dump": None},
    }
    ck.update(changes)
    return ck


def restore(**changes):
    rs = {
        "id": RS,
        "checkpoint": CK,
        "engine": "default",
        "container": {"id": "a9e1" + "0" * 60, "name": "counter-restored"},
        "in_place": False,
        "cold": False,
        "status": "ready",
        "timings_ms": {"create": 85, "stage": 240, "start": 610, "ready": 45, "after": None,
                       "total": 1003},
        "retries": 1,
        "created_at": "2025-06-01T12:05:00Z",
        "updated_at": "2025-06-01T12:05:01.003+00:00",
        "error": None,
        "progress": None,
        "criu_stats": None,
        "hook_results": None,
    }
    rs.update(changes)
    return rs


def engine(**changes):
    e = {"name": "default", "kind": "docker", "url": "unix:///var/run/docker.sock", "tls": False,
         "reachable": False,
         "docker_version": None, "api_version": None, "experimental": None,
         "root_dir": None, "warning": None, "error": "connection refused",
         "checked_at": "2025-06-01T12:00:00Z", "leaked_bytes": 0, "leaked_restores": 0}
    e.update(changes)
    return e


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
        ("GET", "/health"), ("GET", "/openapi.json"),
        ("GET", "/engines"), ("POST", "/engines"),
        ("GET", "/engines/{name}"), ("DELETE", "/engines/{name}"),
        ("GET", "/profiles"),
        ("POST", "/checkpoints"), ("GET", "/checkpoints"),
        ("GET", "/checkpoints/{id}"), ("DELETE", "/checkpoints/{id}"),
        ("POST", "/checkpoints/{id}/copies"),
        ("GET", "/checkpoints/{id}/log"),
        ("POST", "/restores"), ("GET", "/restores"),
        ("GET", "/restores/{id}"), ("DELETE", "/restores/{id}"),
        ("GET", "/restores/{id}/log"),
    ])
    tags = {t["name"] for t in DOC["tags"]}
    for template, m, _, op in operations():
        assert set(op["tags"]) <= tags, f"{m.upper()} {template}"


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
    responses += [(f"{m} {t} dry-run {c}", r) for t, m, _, op in operations()
                  for c, r in op.get("x-checkpointd-dry-run", {}).get("responses", {}).items()]
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
    creates = [(t, m) for t, m, _, op in operations() if m == "post"]
    assert sorted(creates) == [("/checkpoints", "post"), ("/checkpoints/{id}/copies", "post"),
                               ("/engines", "post"), ("/restores", "post")]
    for collection, item, codes in (("/checkpoints", "/checkpoints/{id}", ("201", "202")),
                                    ("/restores", "/restores/{id}", ("201", "202")),
                                    ("/engines", "/engines/{name}", ("201",)),
                                    # a copy answers with its checkpoint
                                    ("/checkpoints/{id}/copies", "/checkpoints/{id}",
                                     ("201", "202"))):
        post = DOC["paths"][collection]["post"]
        dry = post.get("x-checkpointd-dry-run", {}).get("only", [])
        assert sorted(c for c in post["responses"] if c[0] == "2" and c not in dry) == list(codes)
        for code in codes:
            loc, _ = oc._deref(post["responses"][code]["headers"]["Location"], "")
            assert loc["required"] is True
            # the header names a record one can GET
            assert oc.match_path(loc["example"]) == item, collection
            assert "get" in DOC["paths"][item]
            assert oc.schema_errors(
                oc._deref(post["responses"][code]["headers"]["Location"], "")[1] + "/schema",
                loc["example"]) == []


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
    """Each object schema a request body uses says additionalProperties: false,
    but for an object handed to the engine as it is, which must say so with
    x-checkpointd-passthrough (whom to) and additionalProperties: true."""
    passthrough = 0

    def closed(schema):
        nonlocal passthrough
        schema, _ = oc._deref(schema, "")
        if "x-checkpointd-passthrough" in schema:
            assert schema["x-checkpointd-passthrough"], schema
            assert schema.get("type") == "object" and schema.get("additionalProperties") is True
            assert "properties" not in schema, schema
            passthrough += 1
            return
        if schema.get("type") == "object" or "properties" in schema:
            assert schema.get("additionalProperties") is False, schema
            for sub in schema.get("properties", {}).values():
                closed(sub)
    for _, _, _, op in operations():
        for media in op.get("requestBody", {}).get("content", {}).values():
            closed(media["schema"])
    assert passthrough == 1  # RestoreCreate.overrides


def test_response_objects_list_required_fields():
    """Each object schema says what it requires: `required`, or (like ReadyProbe,
    exactly one of several) a oneOf whose every branch requires something."""
    for name, schema in DOC["components"]["schemas"].items():
        if schema.get("type") == "object" and "properties" in schema:
            alternatives = schema.get("oneOf", [])
            assert schema.get("required") or (
                alternatives and all(a.get("required") for a in alternatives)), \
                f"{name} lists no required fields"
            for req in [schema.get("required", [])] + [a["required"] for a in alternatives]:
                assert set(req) <= set(schema["properties"]), name


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
    """The examples, sent as answers, pass check(): checker and document agree.
    An operation's dry-run answers (x-checkpointd-dry-run) are sent to a dry run."""
    concrete = {"/checkpoints/{id}": "/checkpoints/" + CK, "/restores/{id}": "/restores/" + RS,
                "/checkpoints/{id}/log": f"/checkpoints/{CK}/log",
                "/checkpoints/{id}/copies": f"/checkpoints/{CK}/copies",
                "/restores/{id}/log": f"/restores/{RS}/log", "/engines/{name}": "/engines/lab"}
    assert set(concrete) == {t for t in DOC["paths"] if "{" in t}
    n = 0
    for template, m, _, op in operations():
        path = concrete.get(template, template)
        ext = op.get("x-checkpointd-dry-run")
        sets = [(path, {c: r for c, r in op["responses"].items()
                        if not ext or c not in ext["only"]})]
        if ext:
            sets.append((f"{path}?{ext['parameter']}={ext['values'][0]}", ext["responses"]))
        for url, responses in sets:
            for code, resp in responses.items():
                resp, _ = oc._deref(resp, "")
                headers = {}
                for name, h in (resp.get("headers") or {}).items():
                    headers[name] = oc._deref(h, "")[0]["example"]
                for mt, media in (resp.get("content") or {}).items():
                    values = [media["example"]] if "example" in media else []
                    values += [oc._deref(e, "")[0]["value"]
                               for e in (media.get("examples") or {}).values()]
                    for value in values:
                        if isinstance(value, dict) and "Location" in headers:
                            headers["Location"] = location_of(template, url, value)
                        if template == "/openapi.json" and code == "200":
                            body = oc.DOC_BYTES
                        elif oc._is_json(mt):
                            body = b(value)
                        else:
                            body = value.encode()
                        got = oc.check(m.upper(), url, int(code),
                                       dict(headers, **{"Content-Type": mt}), body)
                        assert got == (DOC if body is oc.DOC_BYTES else value)
                        n += 1
                if not resp.get("content"):
                    oc.check(m.upper(), url, int(code), headers, b"")
                    n += 1
    assert n > 100


def location_of(template, url, record):
    """The Location that names record in an answer to a POST to url: its place in
    the collection (/checkpoints/{id}, /engines/{name}), or for a POST under a
    record (/checkpoints/{id}/copies) that record's own path."""
    if "{" not in template:
        return f"{template}/{record[oc._item_param(template)]}"
    return url.rsplit("/", 1)[0]


def problem_responses():
    """(where, response) for every response of the document that answers problems:
    the operations', their dry runs' and x-checkpointd-unrouted's."""
    out = []
    for t, m, _, op in operations():
        out += [(f"{m.upper()} {t} {c}", r) for c, r in op["responses"].items()]
        out += [(f"{m.upper()} {t} dry-run {c}", r)
                for c, r in op.get("x-checkpointd-dry-run", {}).get("responses", {}).items()]
    for part in ("unknown_path", "unknown_method"):
        out += [(part, r) for r in DOC["x-checkpointd-unrouted"][part].values()]
    for where, resp in out:
        resp, _ = oc._deref(resp, "")
        if "application/problem+json" in (resp.get("content") or {}):
            yield where, resp["content"]["application/problem+json"]


def test_every_error_code_has_an_example():
    """Each code a problem response allows is shown by one of its examples."""
    seen = 0
    for where, media in problem_responses():
        code = media["schema"]["properties"]["code"]
        codes = set(code.get("enum", [code.get("const")]))
        values = [media["example"]] if "example" in media else []
        values += [oc._deref(e, "")[0]["value"] for e in (media.get("examples") or {}).values()]
        assert codes <= {v["code"] for v in values}, \
            f"{where}: no example of {sorted(codes - {v['code'] for v in values})}"
        seen += len(codes)
    assert seen > 100


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
    oc.check("GET", "/engines", 200, {**ETAG, **JSON}, b({"items": [engine()]}))
    no_warning = engine()
    del no_warning["warning"]
    fails("'warning' is a required property", "GET", "/engines", 200, {**ETAG, **JSON},
          b({"items": [no_warning]}))


def test_engine_leaks():
    ok = engine(reachable=True, docker_version="27.5.1", api_version="1.47", experimental=True,
                root_dir="/var/lib/docker", error=None, leaked_bytes=4915200, leaked_restores=2)
    oc.check("GET", "/engines", 200, {**ETAG, **JSON}, b({"items": [ok, engine()]}))
    for key in ("leaked_bytes", "leaked_restores"):
        gone = engine()
        del gone[key]
        fails(f"'{key}' is a required property", "GET", "/engines", 200, {**ETAG, **JSON},
              b({"items": [gone]}))
        fails("less than the minimum", "GET", "/engines", 200, {**ETAG, **JSON},
              b({"items": [engine(**{key: -1})]}))
        fails("is not of type 'integer'", "GET", "/engines", 200, {**ETAG, **JSON},
              b({"items": [engine(**{key: None})]}))
        fails("is not of type 'integer'", "GET", "/engines", 200, {**ETAG, **JSON},
              b({"items": [engine(**{key: 1.5})]}))
    # the description tells how to clean up on the engine host
    desc = DOC["components"]["schemas"]["Engine"]["properties"]["leaked_bytes"]["description"]
    assert "find \"${TMPDIR:-/tmp}\" -maxdepth 1 -name 'ctrd-checkpoint*' -mmin +10 " \
           "-exec rm -rf {} +" in desc


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


# ---------------------------------------------------------------- restores

def test_checkpoint_ready_ms():
    url = "/checkpoints/" + CK
    for ready_ms in ({"restore": None, "cold": None}, {"restore": 0, "cold": 3391}):
        oc.check("GET", url, 200, {**ETAG, **JSON}, b(record(ready_ms=ready_ms)))
    ck = record()
    del ck["ready_ms"]
    fails("'ready_ms' is a required property", "GET", url, 200, {**ETAG, **JSON}, b(ck))
    fails("'cold' is a required property", "GET", url, 200, {**ETAG, **JSON},
          b(record(ready_ms={"restore": 12})))
    fails("is not of type 'object'", "GET", url, 200, {**ETAG, **JSON}, b(record(ready_ms=None)))
    fails("is not of type 'integer', 'null'", "GET", url, 200, {**ETAG, **JSON},
          b(record(ready_ms={"restore": "12", "cold": None})))
    fails("less than the minimum", "GET", url, 200, {**ETAG, **JSON},
          b(record(ready_ms={"restore": None, "cold": -1})))
    fails("Additional properties", "GET", url, 200, {**ETAG, **JSON},
          b(record(ready_ms={"restore": None, "cold": None, "in_place": None})))


def test_good_restore_records_pass():
    url = "/restores/" + RS
    body = oc.check("GET", url, 200, {**ETAG, **JSON}, b(restore()))
    assert body["id"] == RS
    assert ("GET", "/restores/{id}", 200) in oc.exercised()
    # pending: nothing known yet
    nothing = {"create": None, "stage": None, "start": None, "ready": None, "after": None,
               "total": None}
    oc.check("GET", url, 200, {**ETAG, **JSON},
             b(restore(status="pending", container={"id": None, "name": None},
                       timings_ms=nothing, retries=0)))
    # a cold start stages nothing
    oc.check("GET", url, 200, {**ETAG, **JSON},
             b(restore(cold=True, timings_ms={"create": 80, "stage": None, "start": 350,
                                              "ready": 2950, "after": None, "total": 3391})))
    # failed in place, with its error
    err = {"code": "not_ready", "message": "the probe gave up", "hint": "docker logs counter"}
    oc.check("GET", url, 200, {**ETAG, **JSON},
             b(restore(in_place=True, status="failed", error=err,
                       timings_ms=dict(nothing, start=702, total=60740))))


@pytest.mark.parametrize("change, message", [
    ({"id": CK}, "does not match"),
    ({"id": "rs-0123"}, "does not match"),
    ({"checkpoint": RS}, "does not match"),
    ({"checkpoint": None}, "is not of type 'string'"),
    ({"status": "restoring"}, "'restoring' is not one of"),
    ({"status": "failed"}, "error"),
    ({"error": {"code": "restore_failed", "message": "x"}}, "error"),
    ({"status": "failed", "error": {"code": "restore_failed"}}, "is not valid under any"),
    ({"status": "failed", "error": {"code": "Bad Code", "message": "x"}}, "is not valid under any"),
    ({"in_place": "false"}, "is not of type 'boolean'"),
    ({"cold": None}, "is not of type 'boolean'"),
    ({"retries": -1}, "less than the minimum"),
    ({"retries": None}, "is not of type 'integer'"),
    ({"container": {"id": None}}, "'name' is a required property"),
    ({"container": {"id": "", "name": None}}, "should be non-empty|is too short"),
    ({"container": None}, "is not of type 'object'"),
    ({"timings_ms": {"create": 1, "stage": 2, "start": 3, "total": 9}},
     "'ready' is a required property"),
    ({"timings_ms": {"create": 1, "stage": 2, "start": 3, "ready": -4, "total": 9}},
     "less than the minimum"),
    ({"timings_ms": {"create": 1, "stage": 2, "start": 3, "ready": 4, "total": 9, "retry": 1}},
     "Additional properties"),
    ({"updated_at": "yesterday"}, "date-time"),
    ({"engine": ""}, "should be non-empty|is too short"),
    ({"name": "counter-restored"}, "Additional properties"),
])
def test_bad_restore_records_fail(change, message):
    fails(message, "GET", "/restores/" + RS, 200, {**ETAG, **JSON}, b(restore(**change)))


@pytest.mark.parametrize("key", ["id", "checkpoint", "engine", "container", "in_place", "cold",
                                 "status", "timings_ms", "retries", "created_at", "updated_at",
                                 "error", "progress"])
def test_restore_record_keys_are_required(key):
    rs = restore()
    del rs[key]
    fails(f"'{key}' is a required property", "GET", "/restores/" + RS, 200, {**ETAG, **JSON},
          b(rs))


def test_restore_create_answers():
    pending = restore(status="pending", container={"id": None, "name": None})
    loc = {"Location": "/restores/" + RS, **JSON}
    oc.check("POST", "/restores", 202, loc, b(pending))
    oc.check("POST", "/restores", 202, loc, b(restore(status="running")))
    oc.check("POST", "/restores?wait=true", 201, loc, b(restore()))
    assert {("POST", "/restores", 201), ("POST", "/restores", 202)} <= oc.exercised()
    fails("Location is missing", "POST", "/restores", 202, JSON, b(pending))
    fails("Location is missing", "POST", "/restores?wait=1", 201, JSON, b(restore()))
    fails("does not match the schema", "POST", "/restores", 201, loc, b(restore(status="running")))
    fails("does not match the schema", "POST", "/restores", 202, loc, b(restore()))
    # Location must name this record in /restores
    fails("Location.*malformed", "POST", "/restores", 202,
          {**loc, "Location": "/checkpoints/" + RS}, b(pending))
    fails("does not name the record", "POST", "/restores", 202,
          {**loc, "Location": "/restores/rs-0000000000000000"}, b(pending))
    fails("Location.*malformed", "POST", "/restores", 202,
          {**loc, "Location": "http://127.0.0.1:8780/restores/" + RS}, b(pending))
    # and a checkpoint's Location still names /checkpoints
    fails("Location.*malformed", "POST", "/checkpoints", 202,
          {**loc, "Location": "/restores/" + RS}, b(record(status="pending")))


def test_location_rule_without_header_patterns(monkeypatch):
    """The checker's own Location rule, for a header schema that says nothing."""
    monkeypatch.setitem(DOC["components"]["headers"]["RestoreLocation"], "schema", {"type": "string"})
    monkeypatch.setattr(oc, "_validators", {})
    pending = restore(status="pending", container={"id": None, "name": None})
    oc.check("POST", "/restores", 202, {"Location": "/restores/" + RS, **JSON}, b(pending))
    fails(r"does not name the record.*expected '/restores/rs-", "POST", "/restores", 202,
          {"Location": "/checkpoints/" + RS, **JSON}, b(pending))
    fails("does not name the record", "POST", "/restores", 202,
          {"Location": "/restores/x/" + RS, **JSON}, b(pending))


def test_restore_problems():
    fails("'id' is a required property", "POST", "/restores", 502, PROBLEM,
          b(problem(502, "restore_failed")))
    fails("'id' is a required property", "POST", "/restores", 502, PROBLEM,
          b(problem(502, "not_ready")))
    fails("does not match", "POST", "/restores", 502, PROBLEM,
          b(problem(502, "not_ready", id=CK)))
    fails("does not match", "POST", "/checkpoints", 502, PROBLEM,
          b(problem(502, "checkpoint_failed", id=RS)))
    for code in ("restore_failed", "not_ready", "engine_error", "engine_unreachable"):
        oc.check("POST", "/restores?wait=true", 502, PROBLEM, b(problem(502, code, id=RS)))
    # restores fail with their own codes, checkpoints with theirs
    fails("does not match the schema", "POST", "/restores", 502, PROBLEM,
          b(problem(502, "checkpoint_failed", id=CK)))
    fails("does not match the schema", "POST", "/checkpoints", 502, PROBLEM,
          b(problem(502, "restore_failed", id=RS)))
    for code in ("checkpoint_not_ready", "name_conflict", "container_running"):
        oc.check("POST", "/restores", 409, PROBLEM, b(problem(409, code)))
    # a restore may go to any engine now: engine_mismatch is gone, code and all
    fails("'engine_mismatch' is not one of", "POST", "/restores", 409, PROBLEM,
          b(problem(409, "engine_mismatch")))
    assert "engine_mismatch" not in DOC["components"]["schemas"]["ProblemCode"]["enum"]
    assert "engine_mismatch" not in oc.DOC_BYTES.decode()
    fails("does not match the schema", "POST", "/restores", 409, PROBLEM,
          b(problem(409, "container_not_running")))
    for code in ("checkpoint_not_found", "engine_not_found", "container_not_found"):
        oc.check("POST", "/restores", 404, PROBLEM, b(problem(404, code)))
    fails("does not match the schema", "POST", "/restores", 404, PROBLEM,
          b(problem(404, "restore_not_found")))
    oc.check("POST", "/restores", 400, PROBLEM, b(problem(400, "invalid_field", field="in_place")))
    oc.check("POST", "/restores", 503, PROBLEM,
             b(problem(503, "experimental_disabled", hint="turn them on")))
    oc.check("POST", "/restores", 413, PROBLEM, b(problem(413, "payload_too_large")))
    oc.check("POST", "/restores", 415, PROBLEM, b(problem(415, "unsupported_media_type")))
    url = "/restores/" + RS
    oc.check("GET", url, 404, PROBLEM, b(problem(404, "restore_not_found", id=RS)))
    fails("does not match the schema", "GET", url, 404, PROBLEM,
          b(problem(404, "checkpoint_not_found")))
    oc.check("DELETE", url, 204, {}, b"")
    oc.check("DELETE", url, 409, PROBLEM, b(problem(409, "restore_busy", id=RS)))
    fails("does not match the schema", "DELETE", url, 409, PROBLEM,
          b(problem(409, "checkpoint_busy")))
    oc.check("DELETE", url, 502, PROBLEM, b(problem(502, "engine_error", id=RS)))
    fails("status 503 is not documented", "DELETE", url, 503, PROBLEM,
          b(problem(503, "shutting_down")))
    # a checkpoint in use by a restore is busy with the same code
    oc.check("DELETE", "/checkpoints/" + CK, 409, PROBLEM, b(problem(409, "checkpoint_busy", id=CK)))


def test_restore_list():
    page = {"items": [restore(), restore(id="rs-0000000000000001", cold=True)],
            "next_cursor": "eyJzZXEiOjQxfQ"}
    q = f"/restores?limit=2&status=ready&container=counter&engine=default&checkpoint={CK}"
    oc.check("GET", q, 200, {**ETAG, **JSON}, b(page))
    oc.check("GET", "/restores", 200, {**ETAG, **JSON}, b({"items": [], "next_cursor": None}))
    fails("'next_cursor' is a required property", "GET", "/restores", 200, {**ETAG, **JSON},
          b({"items": []}))
    fails(r"at /items/0: \'ready_ms\'|Additional properties", "GET", "/restores", 200,
          {**ETAG, **JSON}, b({"items": [record()], "next_cursor": None}))
    oc.check("GET", "/restores?checkpoint=ck-1", 400, PROBLEM,
             b(problem(400, "invalid_parameter", parameter="checkpoint")))
    oc.check("HEAD", "/restores", 304, ETAG, b"")
    names = {p["name"] for p in (oc._deref(p, "")[0]
                                 for p in DOC["paths"]["/restores"]["get"]["parameters"])}
    assert names == {"limit", "cursor", "status", "container", "engine", "checkpoint",
                     "updated_since", "If-None-Match"}


def create_errors(body):
    return oc.schema_errors("#/components/schemas/RestoreCreate", body)


@pytest.mark.parametrize("body", [
    {"checkpoint": CK},
    {"checkpoint": CK, "name": "counter-restored", "engine": "default",
     "overrides": {"HostConfig": {"PortBindings": {"8080/tcp": [{"HostPort": "18080"}]}},
                   "Env": ["MODE=replica"]},
     "ready": {"http": "http://127.0.0.1:18080/health", "timeout_s": 30, "interval_ms": 50}},
    {"checkpoint": CK, "in_place": True, "ready": {"log": "^listening on :8080$"}},
    {"checkpoint": CK, "in_place": True, "cold": False},
    {"checkpoint": CK, "in_place": False, "overrides": {}, "cold": True},
    {"checkpoint": CK, "ready": {"exec": ["redis-cli", "ping"]}},
    {"checkpoint": CK, "ready": {"tcp": "127.0.0.1:16379", "timeout_s": 3600, "interval_ms": 10}},
    {"checkpoint": CK, "ready": {"tcp": "[::1]:6379"}},
    {"checkpoint": CK, "ready": {"http": "https://example.com:8443/ready?full=1"}},
    {"checkpoint": CK, "ready": {"tcp": "redis.local:6379", "timeout_s": 1, "interval_ms": 10000}},
])
def test_restore_create_good_bodies(body):
    assert create_errors(body) == []


@pytest.mark.parametrize("body, message", [
    ({}, "'checkpoint' is a required property"),
    ({"checkpoint": RS}, "does not match"),
    ({"checkpoint": CK, "name": "-x"}, "does not match"),
    ({"checkpoint": CK, "name": "x"}, "too short|does not match"),
    ({"checkpoint": CK, "name": "a" * 129}, "too long"),
    ({"checkpoint": CK, "engine": ""}, "should be non-empty|is too short"),
    ({"checkpoint": CK, "inPlace": True}, "Additional properties"),
    ({"checkpoint": CK, "in_place": "yes"}, "is not of type 'boolean'"),
    ({"checkpoint": CK, "overrides": ["Env"]}, "is not of type 'object'"),
    ({"checkpoint": CK, "in_place": True, "overrides": {}}, "should not be valid|is not allowed"),
    ({"checkpoint": CK, "in_place": True, "cold": True}, "should not be valid|is not allowed"),
    ({"checkpoint": CK, "in_place": True, "name": "counter-2"}, "should not be valid|is not allowed"),
    ({"checkpoint": CK, "ready": {}}, "is not valid under any of the given schemas"),
    ({"checkpoint": CK, "ready": {"timeout_s": 5}}, "is not valid under any of the given schemas"),
    ({"checkpoint": CK, "ready": {"tcp": "127.0.0.1:1", "log": "x"}}, "is valid under each of"),
    ({"checkpoint": CK, "ready": {"exec": []}}, "should be non-empty|is too short"),
    ({"checkpoint": CK, "ready": {"exec": ["x"] * 65}}, "is too long"),
    ({"checkpoint": CK, "ready": {"exec": [""]}}, "should be non-empty|is too short"),
    ({"checkpoint": CK, "ready": {"exec": "redis-cli ping"}}, "is not of type 'array'"),
    ({"checkpoint": CK, "ready": {"http": "ftp://example.com/"}}, "does not match"),
    ({"checkpoint": CK, "ready": {"http": "http://"}}, "does not match"),
    ({"checkpoint": CK, "ready": {"http": "127.0.0.1:8080/health"}}, "does not match"),
    ({"checkpoint": CK, "ready": {"tcp": "6379"}}, "does not match"),
    ({"checkpoint": CK, "ready": {"log": ""}}, "should be non-empty|is too short"),
    ({"checkpoint": CK, "ready": {"log": "x" * 1025}}, "is too long"),
    ({"checkpoint": CK, "ready": {"log": "x", "timeout_s": 0}}, "less than the minimum"),
    ({"checkpoint": CK, "ready": {"log": "x", "timeout_s": 3601}}, "greater than the maximum"),
    ({"checkpoint": CK, "ready": {"log": "x", "interval_ms": 9}}, "less than the minimum"),
    ({"checkpoint": CK, "ready": {"log": "x", "interval_ms": 10001}}, "greater than the maximum"),
    ({"checkpoint": CK, "ready": {"log": "x", "retries": 3}}, "Additional properties"),
])
def test_restore_create_bad_bodies(body, message):
    errors = create_errors(body)
    assert errors and any(re.search(message, e) for e in errors), errors


# ---------------------------------------------------------------- CRIU failures explained

CRIU_CODES = ["criu_external_unix_socket", "criu_tcp_established", "criu_tcp_in_flight",
              "criu_tty", "criu_file_locks", "criu_ghost_file", "criu_mount_missing",
              "criu_mount_sharing", "criu_bad_root_mount", "criu_rootfs_changed",
              "criu_too_old", "criu_kernel_feature", "criu_inotify", "criu_cgroup",
              "criu_network_lock", "criu_failed"]
LINE = ("Error (criu/sk-inet.c:200): inet: Connected TCP socket, "
        "consider using --tcp-established option.")
TAIL = "(00.012177) " + LINE + "\n(00.012503) Error (criu/cr-dump.c:2111): Dumping FAILED.\n"


def diagnosed(code="criu_tcp_established", **changes):
    err = {"code": code, "message": "docker checkpoint create: criu failed: type NOTIFY errno 0",
           "hint": "close the connection first", "criu_line": LINE, "log_tail": TAIL}
    err.update(changes)
    return {k: v for k, v in err.items() if v is not None}


def test_criu_codes_are_documented():
    schemas = DOC["components"]["schemas"]
    assert schemas["CriuFailureCode"]["enum"] == CRIU_CODES
    codes = schemas["ProblemCode"]["enum"]
    assert set(CRIU_CODES) <= set(codes) and "log_not_found" in codes
    assert len(codes) == len(set(codes))
    desc = schemas["ProblemCode"]["description"]
    for code in CRIU_CODES:
        # one line each: what it means; what helps
        lines = [ln for ln in desc.splitlines() if ln.startswith(f"- `{code}`: ")]
        assert len(lines) == 1 and ";" in lines[0], code
    # a record's error.code stays a free string, but its description lists them
    code = schemas["CheckpointError"]["properties"]["code"]
    assert "enum" not in code and code["type"] == "string"
    assert all(f"`{c}`" in code["description"] for c in CRIU_CODES)


def test_failed_records_carry_their_diagnosis():
    url = "/checkpoints/" + CK
    for err in (diagnosed(), diagnosed("criu_failed", hint=None), diagnosed(log_tail=None),
                diagnosed("criu_something_new"), diagnosed("checkpoint_failed", hint=None)):
        body = oc.check("GET", url, 200, {**ETAG, **JSON}, b(record(status="failed", error=err)))
        assert body["error"] == err
    err = diagnosed("criu_mount_missing", criu_line="Error (criu/mount.c:2245): mnt: x")
    oc.check("GET", "/restores/" + RS, 200, {**ETAG, **JSON},
             b(restore(status="failed", error=err)))
    page = {"items": [record(status="failed", error=diagnosed()), record()], "next_cursor": None}
    oc.check("GET", "/checkpoints", 200, {**ETAG, **JSON}, b(page))


@pytest.mark.parametrize("err", [
    diagnosed(criu_line=12),
    {**diagnosed(), "log_tail": None},
    diagnosed(hint=["close it"]),
    diagnosed(log="the whole log"),
    diagnosed("CRIU-TTY"),
    {k: v for k, v in diagnosed().items() if k != "message"},
])
def test_bad_diagnoses_fail(err):
    for url, rec in (("/checkpoints/" + CK, record), ("/restores/" + RS, restore)):
        fails("is not valid under any", "GET", url, 200, {**ETAG, **JSON},
              b(rec(status="failed", error=err)))


def criu_problem(code, record_id, **extra):
    p = problem(502, code, id=record_id, hint="what helps", criu_line=LINE, log_tail=TAIL)
    p.update(extra)
    return {k: v for k, v in p.items() if v is not None}


@pytest.mark.parametrize("code", CRIU_CODES)
def test_criu_problems_of_wait_true(code):
    oc.check("POST", "/checkpoints?wait=true", 502, PROBLEM, b(criu_problem(code, CK)))
    oc.check("POST", "/restores?wait=1", 502, PROBLEM, b(criu_problem(code, RS)))
    # criu_line and log_tail only when a log could be read
    oc.check("POST", "/checkpoints?wait=true", 502, PROBLEM,
             b(criu_problem(code, CK, criu_line=None, log_tail=None)))
    # id (the failed record, of the collection asked) and hint are required
    for url, rid in (("/checkpoints", CK), ("/restores", RS)):
        fails("'hint' is a required property", "POST", url, 502, PROBLEM,
              b(criu_problem(code, rid, hint=None)))
        fails("'id' is a required property", "POST", url, 502, PROBLEM,
              b(criu_problem(code, rid, id=None)))
        fails("does not match|is not valid under any", "POST", url, 502, PROBLEM,
              b(criu_problem(code, "x-1")))
    fails("does not match", "POST", "/checkpoints", 502, PROBLEM, b(criu_problem(code, RS)))
    fails("does not match", "POST", "/restores", 502, PROBLEM, b(criu_problem(code, CK)))
    # a job failure is a 502, nothing else
    fails("does not match the schema", "POST", "/checkpoints", 409, PROBLEM,
          b(criu_problem(code, CK, status=409)))
    fails("does not match the schema", "GET", "/checkpoints/" + CK, 404, PROBLEM,
          b(problem(404, code, id=CK, hint="x")))
    # and the Problem schema itself knows the code
    assert oc.schema_errors("#/components/schemas/Problem", criu_problem(code, RS)) == []


def test_criu_line_and_log_tail_only_on_job_failures():
    oc.check("POST", "/checkpoints?wait=true", 502, PROBLEM,
             b(problem(502, "checkpoint_failed", id=CK, criu_line=LINE, log_tail=TAIL)))
    oc.check("POST", "/restores?wait=true", 502, PROBLEM,
             b(problem(502, "restore_failed", id=RS, log_tail=TAIL)))
    for extra in ({"criu_line": LINE}, {"log_tail": TAIL}):
        fails("is not one of", "POST", "/checkpoints", 502, PROBLEM,
              b(problem(502, "engine_error", **extra)))
        fails("is not one of", "POST", "/restores", 502, PROBLEM,
              b(problem(502, "not_ready", id=RS, **extra)))
        fails("does not match the schema", "GET", "/checkpoints/" + CK, 404, PROBLEM,
              b(problem(404, "checkpoint_not_found", **extra)))
    fails("is not of type 'string'", "POST", "/checkpoints", 502, PROBLEM,
          b(problem(502, "checkpoint_failed", id=CK, criu_line=["x"])))
    fails("is not of type 'string'", "POST", "/restores", 502, PROBLEM,
          b(criu_problem("criu_tty", RS, log_tail=7)))
    fails("Additional properties", "POST", "/checkpoints", 502, PROBLEM,
          b(criu_problem("criu_tty", CK, log="x")))


# ---------------------------------------------------------------- CRIU logs

LOG = (b"(00.000215) Version: 3.19 (gitid 0)\n"
       b"(00.012177) " + LINE.encode() + b"\n"
       b"(00.012503) Error (criu/cr-dump.c:2111): Dumping FAILED.\n")
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@pytest.mark.parametrize("url, template", [
    (f"/checkpoints/{CK}/log", "/checkpoints/{id}/log"),
    (f"/restores/{RS}/log", "/restores/{id}/log"),
])
def test_log_answers(url, template):
    assert oc.match_path(url) == template
    assert oc.check("GET", url, 200, {**ETAG, **TEXT}, LOG) == LOG.decode()
    assert ("GET", template, 200) in oc.exercised()
    oc.check("GET", url, 200, {**ETAG, "content-type": "Text/Plain"}, b"x")
    # the text is not JSON, nor must it be valid UTF-8
    assert oc.check("GET", url, 200, {**ETAG, **TEXT}, b"\xff\xfe log") == "\ufffd\ufffd log"
    assert oc.check("HEAD", url, 200, {**ETAG, **TEXT}, b"") is None
    oc.check("GET", url, 304, ETAG, b"")
    oc.check("GET", url + "?x=1", 400, PROBLEM, b(problem(400, "invalid_parameter", parameter="x")))
    oc.check("GET", url, 404, PROBLEM,
             b(problem(404, "log_not_found", hint="it did not fail in CRIU")))
    oc.check("GET", url, 500, PROBLEM, b(problem(500, "internal_error")))
    oc.check("POST", url, 405, {"Allow": "GET, HEAD", **PROBLEM},
             b(problem(405, "method_not_allowed")))
    fails("the text/plain body is empty", "GET", url, 200, {**ETAG, **TEXT}, b"")
    fails("HEAD answer must have no body", "HEAD", url, 200, {**ETAG, **TEXT}, LOG)
    fails("ETag is missing", "GET", url, 200, TEXT, LOG)
    fails("Content-Type is 'application/json'", "GET", url, 200, {**ETAG, **JSON}, b(LOG.decode()))
    fails("Content-Type is None", "GET", url, 200, ETAG, LOG)
    fails("must have no body", "GET", url, 304, ETAG, LOG)
    fails("status 502 is not documented", "GET", url, 502, PROBLEM, b(problem(502, "engine_error")))
    fails("Allow says", "POST", url, 405, {"Allow": "GET, HEAD, DELETE", **PROBLEM},
          b(problem(405, "method_not_allowed")))
    fails("matches no path", "GET", url + "s", 200, {**ETAG, **TEXT}, LOG)


def test_log_not_found_codes():
    ck, rs = f"/checkpoints/{CK}/log", f"/restores/{RS}/log"
    oc.check("GET", ck, 404, PROBLEM, b(problem(404, "checkpoint_not_found", id=CK)))
    oc.check("GET", rs, 404, PROBLEM, b(problem(404, "restore_not_found", id=RS)))
    for url, code in ((ck, "restore_not_found"), (rs, "checkpoint_not_found")):
        fails("does not match the schema", "GET", url, 404, PROBLEM, b(problem(404, code)))
    fails("does not match the schema", "GET", ck, 404, PROBLEM, b(problem(404, "not_found")))
    # log_not_found belongs to the log routes only
    fails("does not match the schema", "GET", "/checkpoints/" + CK, 404, PROBLEM,
          b(problem(404, "log_not_found")))
    fails("does not match the schema", "GET", "/restores/" + RS, 404, PROBLEM,
          b(problem(404, "log_not_found")))


def test_log_routes_are_text_and_like_every_get():
    for template in ("/checkpoints/{id}/log", "/restores/{id}/log"):
        ok, _ = oc._deref(DOC["paths"][template]["get"]["responses"]["200"], "")
        assert list(ok["content"]) == ["text/plain"], template
        assert "charset=utf-8" in ok["description"], template
        assert oc.resolve_pointer(ok["content"]["text/plain"]["schema"]["$ref"])["type"] == "string"


# ---------------------------------------------------------------- pre-flight (dry run)

FINDING_CODES = ["experimental_disabled", "container_not_running", "criu_external_unix_socket",
                 "criu_tcp_established", "criu_tcp_in_flight", "criu_tty", "criu_file_locks",
                 "criu_inotify", "criu_ghost_file", "bind_mount", "bind_mount_socket",
                 "probe_failed"]


def finding(code="criu_tcp_established", **changes):
    f = {"code": code, "message": "process 1 (web) has an established TCP connection",
         "hint": "close it first"}
    f.update(changes)
    return {k: v for k, v in f.items() if v is not None}


def preflight(**changes):
    p = {"ok": True, "container": {"id": "4b1d" + "0" * 60, "name": "counter"},
         "engine": "default", "blockers": [], "warnings": []}
    p.update(changes)
    return p


BLOCKED = preflight(ok=False, blockers=[finding()], warnings=[finding("bind_mount")])


def test_dry_run_extension_is_consistent():
    with_ext = [(t, m) for t, m, _, op in operations() if "x-checkpointd-dry-run" in op]
    assert with_ext == [("/checkpoints", "post")]
    op = DOC["paths"]["/checkpoints"]["post"]
    ext = op["x-checkpointd-dry-run"]
    assert ext["description"] and ext["parameter"] == "dry_run" and ext["values"] == ["true", "1"]
    params = [oc._deref(p, "")[0] for p in op["parameters"]]
    param = next(p for p in params if p["in"] == "query" and p["name"] == ext["parameter"])
    wait = next(p for p in params if p["name"] == "wait")
    assert param["schema"] == wait["schema"]  # the same values as wait
    assert set(ext["values"]) <= set(param["schema"]["enum"])
    # what only a dry run answers is documented with the operation too, the same
    assert ext["only"] == ["200"]
    for code in ext["only"]:
        assert op["responses"][code] == ext["responses"][code]
    assert set(ext["responses"]) <= set(op["responses"])
    assert sorted(ext["responses"]) == ["200", "400", "404", "413", "415", "500", "502", "503"]
    # a dry run answers no error a real checkpoint does not
    for code, resp in ext["responses"].items():
        resp, _ = oc._deref(resp, "")
        real, _ = oc._deref(op["responses"][code], "")
        if "application/problem+json" in resp.get("content", {}):
            def codes(r):
                return set(r["content"]["application/problem+json"]["schema"]["properties"]
                           ["code"]["enum"])
            assert codes(resp) <= codes(real), code
    ok, _ = oc._deref(ext["responses"]["200"], "")
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Preflight"}
    # the request body is the same as a real checkpoint's
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CheckpointCreate"}
    finding_code = DOC["components"]["schemas"]["Finding"]["properties"]["code"]
    assert finding_code["enum"] == FINDING_CODES
    assert all(f"`{c}`" in finding_code["description"] for c in FINDING_CODES)


@pytest.mark.parametrize("query", ["dry_run=true", "dry_run=1", "wait=true&dry_run=true",
                                   "dry_run=1&wait=1", "dry_run=true&wait=false"])
def test_preflight_answers(query):
    url = "/checkpoints?" + query
    for body in (preflight(), BLOCKED,
                 preflight(warnings=[finding("probe_failed"), finding("bind_mount_socket")]),
                 preflight(ok=False, blockers=[finding("container_not_running"),
                                               finding("experimental_disabled")])):
        assert oc.check("POST", url, 200, JSON, b(body)) == body
    assert ("POST", "/checkpoints", 200) in oc.exercised()
    # a dry run makes no record: no 201, no 202
    fails("status 201 is not documented", "POST", url, 201,
          {"Location": "/checkpoints/" + CK, **JSON}, b(record()))
    fails("status 202 is not documented", "POST", url, 202,
          {"Location": "/checkpoints/" + CK, **JSON}, b(record(status="pending")))
    # a stopped container and an engine without experimental features are blockers
    fails("status 409 is not documented", "POST", url, 409, PROBLEM,
          b(problem(409, "container_not_running", field="container")))
    fails("does not match the schema", "POST", url, 503, PROBLEM,
          b(problem(503, "experimental_disabled", hint="turn them on")))
    oc.check("POST", url, 503, PROBLEM, b(problem(503, "shutting_down")))
    # no job, so no job failure
    fails("does not match the schema", "POST", url, 502, PROBLEM,
          b(problem(502, "checkpoint_failed", id=CK)))
    fails("does not match the schema", "POST", url, 502, PROBLEM,
          b(criu_problem("criu_tty", CK)))
    for code in ("engine_unreachable", "engine_error"):
        oc.check("POST", url, 502, PROBLEM, b(problem(502, code)))
    for code in ("engine_not_found", "container_not_found"):
        oc.check("POST", url, 404, PROBLEM, b(problem(404, code, field="x")))
    oc.check("POST", url, 400, PROBLEM, b(problem(400, "missing_field", field="container")))
    oc.check("POST", url, 413, PROBLEM, b(problem(413, "payload_too_large")))
    oc.check("POST", url, 415, PROBLEM, b(problem(415, "unsupported_media_type")))
    oc.check("POST", url, 500, PROBLEM, b(problem(500, "internal_error")))


@pytest.mark.parametrize("url", ["/checkpoints", "/checkpoints?dry_run=false",
                                 "/checkpoints?dry_run=0", "/checkpoints?wait=true",
                                 "/checkpoints?dry_run=yes", "/checkpoints?dry_run=",
                                 "/checkpoints?dryrun=true"])
def test_only_a_dry_run_answers_200(url):
    fails("status 200 answers only a dry run", "POST", url, 200, JSON, b(preflight()))
    # and a real checkpoint keeps its own answers
    oc.check("POST", url, 202, {"Location": "/checkpoints/" + CK, **JSON},
             b(record(status="pending")))
    oc.check("POST", url, 409, PROBLEM, b(problem(409, "container_not_running")))
    oc.check("POST", url, 503, PROBLEM, b(problem(503, "experimental_disabled", hint="x")))
    oc.check("POST", url, 400, PROBLEM, b(problem(400, "invalid_parameter", parameter="dry_run")))


def test_dry_run_is_for_checkpoints_only():
    fails("status 200 is not documented", "POST", "/restores?dry_run=true", 200, JSON,
          b(preflight()))


@pytest.mark.parametrize("change, message", [
    ({"ok": True, "blockers": [finding()]}, "is too long|expected at most"),
    ({"ok": False}, "is too short|should be non-empty"),
    ({"ok": "true"}, "is not of type 'boolean'"),
    ({"ok": None}, "is not of type 'boolean'"),
    ({"container": None}, "is not of type 'object'"),
    ({"container": {"id": "", "name": "counter"}}, "is too short|should be non-empty"),
    ({"container": {"id": "4b1d"}}, "'name' is a required property"),
    ({"container": {"id": "4b1d", "name": "c", "image": "x"}}, "Additional properties"),
    ({"engine": ""}, "is too short|should be non-empty"),
    ({"engine": None}, "is not of type 'string'"),
    ({"warnings": None}, "is not of type 'array'"),
    ({"blockers": {}}, "is not of type 'array'"),
    ({"warnings": [finding("criu_magic")]}, "'criu_magic' is not one of"),
    ({"warnings": [finding("criu_cgroup")]}, "'criu_cgroup' is not one of"),
    ({"warnings": [finding(hint=None)]}, "'hint' is a required property"),
    ({"warnings": [finding(message=None)]}, "'message' is a required property"),
    ({"warnings": [finding(code=None)]}, "'code' is a required property"),
    ({"warnings": [finding(hint=1)]}, "is not of type 'string'"),
    ({"warnings": [finding(severity="high")]}, "Additional properties"),
    ({"ok": False, "blockers": [finding("probe_failed")]}, "should not be valid|is not allowed"),
    ({"warnings": [finding("container_not_running")]}, "should not be valid|is not allowed"),
    ({"warnings": [finding("experimental_disabled")]}, "should not be valid|is not allowed"),
    ({"id": CK}, "Additional properties"),
])
def test_bad_preflights_fail(change, message):
    fails(message, "POST", "/checkpoints?dry_run=true", 200, JSON, b(preflight(**change)))


@pytest.mark.parametrize("key", ["ok", "container", "engine", "blockers", "warnings"])
def test_preflight_keys_are_required(key):
    body = preflight()
    del body[key]
    fails(f"'{key}' is a required property", "POST", "/checkpoints?dry_run=1", 200, JSON, b(body))


# ---------------------------------------------------------------- engines as a resource

LAB = "/engines/lab"


def lab(**changes):
    e = engine(name="lab", url="https://10.0.0.7:2376", tls=True)
    e.update(changes)
    return e


def test_podman_records_pass_and_bad_ones_fail():
    ck = record(engine_kind="podman", archive_sha256="ab" * 32,
                directory="/var/lib/checkpointd/archives/" + CK + ".tar",
                timings_ms={"commit": 3, "checkpoint": 450, "measure": None, "before": None,
                            "settle": None, "total": 455},
                criu_stats={"freezing_time_us": 588, "frozen_time_us": 146255,
                            "memdump_time_us": 561, "memwrite_time_us": 102,
                            "pages_scanned": 24, "pages_written": 17})
    oc.check("GET", f"/checkpoints/{CK}", 200, {**ETAG, **JSON}, b(ck))
    rs = restore(criu_stats={"forking_time": 2, "restore_time": 105768, "pages_restored": 17})
    oc.check("GET", f"/restores/{RS}", 200, {**ETAG, **JSON}, b(rs))
    oc.check("GET", "/engines", 200, {**ETAG, **JSON},
             b({"items": [engine(kind="podman", url="podman+tcp://10.0.0.8:8888")]}))
    for bad, why in (({"engine_kind": "lxc"}, "is not one of"),
                     ({"archive_sha256": "XYZ"}, "does not match"),
                     ({"criu_stats": {"pages": 1}}, "Additional properties"),
                     ({"criu_stats": {"pages_written": -1}}, "less than the minimum")):
        with pytest.raises(AssertionError, match=why):
            oc.check("GET", f"/checkpoints/{CK}", 200, {**ETAG, **JSON}, b(record(**bad)))


def test_engine_kind_and_tls():
    for e in (engine(), lab(), engine(url="tcp://10.0.0.7:2375"), engine(url="http://h:2375"),
              lab(url="tcp://10.0.0.7:2376"), engine(url="tcp://[::1]:2376", tls=True)):
        oc.check("GET", "/engines", 200, {**ETAG, **JSON}, b({"items": [e]}))
        oc.check("GET", LAB, 200, {**ETAG, **JSON}, b(e))
    kind = DOC["components"]["schemas"]["Engine"]["properties"]["kind"]
    assert kind["enum"] == ["docker", "podman"]


@pytest.mark.parametrize("change, message", [
    ({"kind": "containerd"}, "'containerd' is not one of"),
    ({"kind": None}, "None is not one of"),
    ({"tls": "true"}, "is not of type 'boolean'"),
    ({"tls": None}, "is not of type 'boolean'"),
    ({"url": "ftp://10.0.0.7:21"}, "does not match"),
    ({"url": "/var/run/docker.sock"}, "does not match"),
    ({"url": "tcp://10.0.0.7:2375/v1.47"}, "does not match"),
    ({"url": "unix://var/run/docker.sock"}, "does not match"),
    ({"tls_dir": "/certs"}, "Additional properties"),
])
def test_bad_engines_fail(change, message):
    fails(message, "GET", "/engines", 200, {**ETAG, **JSON}, b({"items": [engine(**change)]}))
    fails(message, "GET", LAB, 200, {**ETAG, **JSON}, b(lab(**change)))


@pytest.mark.parametrize("key", ["name", "kind", "url", "tls", "reachable", "docker_version",
                                 "api_version", "experimental", "root_dir", "warning", "error",
                                 "checked_at", "leaked_bytes", "leaked_restores"])
def test_engine_keys_are_required(key):
    e = lab()
    del e[key]
    fails(f"'{key}' is a required property", "GET", LAB, 200, {**ETAG, **JSON}, b(e))
    fails(f"'{key}' is a required property", "POST", "/engines", 201,
          {"Location": LAB, **JSON}, b(e))


def test_engine_create_answers():
    loc = {"Location": LAB, **JSON}
    assert oc.check("POST", "/engines", 201, loc, b(lab())) == lab()
    # probed at once: an engine that did not answer is added all the same
    oc.check("POST", "/engines", 201, loc, b(lab(reachable=False, error="connection refused")))
    oc.check("POST", "/engines", 201, {"Location": "/engines/a", **JSON}, b(engine(name="a")))
    assert ("POST", "/engines", 201) in oc.exercised()
    fails("Location is missing", "POST", "/engines", 201, JSON, b(lab()))
    fails(r"does not name the record 'lab' \(expected '/engines/lab'\)", "POST", "/engines",
          201, {**loc, "Location": "/engines/default"}, b(lab()))
    fails("Location.*malformed", "POST", "/engines", 201,
          {**loc, "Location": "/checkpoints/" + CK}, b(lab()))
    fails("Location.*malformed", "POST", "/engines", 201,
          {**loc, "Location": "http://127.0.0.1:8780/engines/lab"}, b(lab()))
    fails("does not match the schema", "POST", "/engines", 201, loc, b({"items": [lab()]}))
    # no job: nothing to wait for, no 202, no 200
    for status in (200, 202):
        fails(f"status {status} is not documented", "POST", "/engines", status, loc, b(lab()))


def test_engine_create_problems():
    url = "/engines"
    oc.check("POST", url, 409, PROBLEM, b(problem(409, "name_conflict", field="name")))
    for code in ("engine_busy", "copy_exists", "container_running"):
        fails("does not match the schema", "POST", url, 409, PROBLEM,
              b(problem(409, code, hint="x")))
    for code in ("invalid_field", "unknown_field", "missing_field"):
        oc.check("POST", url, 400, PROBLEM, b(problem(400, code, field="tls")))
        fails("'field' is a required property", "POST", url, 400, PROBLEM, b(problem(400, code)))
    oc.check("POST", url, 400, PROBLEM, b(problem(400, "invalid_json")))
    oc.check("POST", url, 400, PROBLEM, b(problem(400, "invalid_parameter", parameter="x")))
    oc.check("POST", url, 413, PROBLEM, b(problem(413, "payload_too_large")))
    oc.check("POST", url, 415, PROBLEM, b(problem(415, "unsupported_media_type")))
    oc.check("POST", url, 500, PROBLEM, b(problem(500, "internal_error")))
    # the engine is probed, not required to answer: no 502, no 503
    fails("status 502 is not documented", "POST", url, 502, PROBLEM,
          b(problem(502, "engine_unreachable")))
    fails("status 503 is not documented", "POST", url, 503, PROBLEM,
          b(problem(503, "shutting_down")))
    fails("status 404 is not documented", "POST", url, 404, PROBLEM,
          b(problem(404, "engine_not_found")))
    oc.check("PUT", url, 405, {"Allow": "GET, HEAD, POST", **PROBLEM},
             b(problem(405, "method_not_allowed")))
    fails("Allow says", "PUT", url, 405, {"Allow": "GET, HEAD", **PROBLEM},
          b(problem(405, "method_not_allowed")))


def test_location_rule_for_engines_without_header_patterns(monkeypatch):
    """The checker's own rule: a new engine's Location is /engines/{its name}."""
    monkeypatch.setitem(DOC["components"]["headers"]["EngineLocation"], "schema",
                        {"type": "string"})
    monkeypatch.setattr(oc, "_validators", {})
    oc.check("POST", "/engines", 201, {"Location": LAB, **JSON}, b(lab()))
    for wrong in ("/engines/default", "/engines/lab/", "/engines/x/lab", "/checkpoints/lab",
                  "/engines", "lab"):
        fails(r"does not name the record 'lab' \(expected '/engines/lab'\)", "POST", "/engines",
              201, {"Location": wrong, **JSON}, b(lab()))
    assert oc._item_param("/engines") == "name"
    assert oc._item_param("/checkpoints") == "id"
    assert oc._item_param("/health") is None


def test_engine_item_answers():
    assert oc.match_path(LAB) == "/engines/{name}"
    assert oc.match_path("/engines/lab?x=1") == "/engines/{name}"
    assert oc.match_path("/engines/") is None
    assert oc.match_path("/engines/lab/x") is None
    assert oc.check("GET", LAB, 200, {**ETAG, **JSON}, b(lab())) == lab()
    assert oc.check("HEAD", LAB, 200, {**ETAG, **JSON}, b"") is None
    oc.check("GET", LAB, 304, ETAG, b"")
    fails("ETag is missing", "GET", LAB, 200, JSON, b(lab()))
    fails("is not of type 'object'", "GET", LAB, 200, {**ETAG, **JSON}, b([lab()]))
    # one engine, not a list of them
    fails("'kind' is a required property", "GET", LAB, 200, {**ETAG, **JSON},
          b({"items": [lab()]}))
    oc.check("GET", LAB, 404, PROBLEM, b(problem(404, "engine_not_found")))
    fails("does not match the schema", "GET", LAB, 404, PROBLEM,
          b(problem(404, "checkpoint_not_found")))
    fails("does not match the schema", "GET", LAB, 404, PROBLEM, b(problem(404, "not_found")))
    oc.check("GET", LAB + "?x=1", 400, PROBLEM, b(problem(400, "invalid_parameter", parameter="x")))
    fails("status 502 is not documented", "GET", LAB, 502, PROBLEM,
          b(problem(502, "engine_unreachable")))
    oc.check("DELETE", LAB, 204, {}, b"")
    fails("204 answer must have no body", "DELETE", LAB, 204, JSON, b(lab()))
    oc.check("DELETE", LAB, 404, PROBLEM, b(problem(404, "engine_not_found")))
    oc.check("DELETE", LAB, 400, PROBLEM, b(problem(400, "invalid_parameter", parameter="force")))
    oc.check("DELETE", LAB, 500, PROBLEM, b(problem(500, "internal_error")))
    assert {("GET", "/engines/{name}", 200), ("HEAD", "/engines/{name}", 200),
            ("DELETE", "/engines/{name}", 204)} <= oc.exercised()
    for method in ("PUT", "POST", "PATCH"):
        oc.check(method, LAB, 405, {"Allow": "DELETE, GET, HEAD", **PROBLEM},
                 b(problem(405, "method_not_allowed")))
    fails("Allow says", "POST", LAB, 405, {"Allow": "GET, HEAD", **PROBLEM},
          b(problem(405, "method_not_allowed")))


def test_engine_busy():
    busy = problem(409, "engine_busy", hint="delete its checkpoints first")
    oc.check("DELETE", LAB, 409, PROBLEM, b(busy))
    # engine_busy always says what to do first
    fails("'hint' is a required property", "DELETE", LAB, 409, PROBLEM,
          b(problem(409, "engine_busy")))
    assert oc.schema_errors("#/components/schemas/Problem", problem(409, "engine_busy")) == \
        ["at /: 'hint' is a required property"]
    fails("is not of type 'string'", "DELETE", LAB, 409, PROBLEM,
          b(problem(409, "engine_busy", hint=["x"])))
    for code in ("checkpoint_busy", "restore_busy", "name_conflict"):
        fails("does not match the schema", "DELETE", LAB, 409, PROBLEM,
              b(problem(409, code, hint="x")))
    # and it belongs to DELETE /engines/{name} only
    fails("does not match the schema", "DELETE", "/checkpoints/" + CK, 409, PROBLEM, b(busy))
    fails("does not match the schema", "POST", "/engines", 409, PROBLEM, b(busy))


def engine_create_errors(body):
    return oc.schema_errors("#/components/schemas/EngineCreate", body)


@pytest.mark.parametrize("body", [
    {"name": "lab", "url": "tcp://10.0.0.7:2375"},
    {"name": "lab", "url": "https://10.0.0.7:2376", "tls": "/etc/checkpointd/tls/lab"},
    {"name": "lab", "url": "tcp://10.0.0.7:2376", "tls": "/certs/"},
    {"name": "local", "url": "unix:///var/run/docker.sock"},
    {"name": "a", "url": "tcp://h:1"},
    {"name": "A0_b.c-d", "url": "https://docker.example.com:2376"},
    {"name": "v6", "url": "tcp://[fd00::7]:2375"},
    {"name": "x" * 63, "url": "unix:///" + "p" * 247},
    {"name": "lab", "url": "https://h:2376", "tls": "/" + "d" * 999},
])
def test_engine_create_good_bodies(body):
    assert engine_create_errors(body) == []


@pytest.mark.parametrize("body, message", [
    ({}, "'name' is a required property"),
    ({"name": "lab"}, "'url' is a required property"),
    ({"url": "tcp://h:1"}, "'name' is a required property"),
    ({"name": "", "url": "tcp://h:1"}, "should be non-empty|is too short"),
    ({"name": "x" * 64, "url": "tcp://h:1"}, "is too long"),
    ({"name": "-lab", "url": "tcp://h:1"}, "does not match"),
    ({"name": ".lab", "url": "tcp://h:1"}, "does not match"),
    ({"name": "my lab", "url": "tcp://h:1"}, "does not match"),
    ({"name": "lab/2", "url": "tcp://h:1"}, "does not match"),
    ({"name": 7, "url": "tcp://h:1"}, "is not of type 'string'"),
    ({"name": "lab", "url": "tcp://h"}, "too short|does not match"),
    ({"name": "lab", "url": "tcp://10.0.0.7"}, "does not match"),
    ({"name": "lab", "url": "tcp://10.0.0.7:port"}, "does not match"),
    ({"name": "lab", "url": "tcp://10.0.0.7:2375/"}, "does not match"),
    ({"name": "lab", "url": "http://10.0.0.7:2375"}, "does not match"),
    ({"name": "lab", "url": "ssh://me@10.0.0.7:22"}, "does not match"),
    ({"name": "lab", "url": "10.0.0.7:2375"}, "does not match"),
    ({"name": "lab", "url": "unix://var/run/docker.sock"}, "does not match"),
    ({"name": "lab", "url": "unix:///"}, "does not match"),
    ({"name": "lab", "url": "unix:///" + "p" * 248}, "is too long"),
    ({"name": "lab", "url": "tcp://h:1", "tls": "certs"}, "does not match"),
    ({"name": "lab", "url": "tcp://h:1", "tls": "/"}, "is too short"),
    ({"name": "lab", "url": "tcp://h:1", "tls": "/" + "d" * 1000}, "is too long"),
    ({"name": "lab", "url": "tcp://h:1", "tls": True}, "is not of type 'string'"),
    ({"name": "lab", "url": "tcp://h:1", "tls": None}, "is not of type 'string'"),
    ({"name": "lab", "url": "tcp://h:1", "kind": "docker"}, "Additional properties"),
    ({"name": "lab", "url": "tcp://h:1", "tls_verify": True}, "Additional properties"),
])
def test_engine_create_bad_bodies(body, message):
    errors = engine_create_errors(body)
    assert errors and any(re.search(message, e) for e in errors), errors


def test_engine_create_is_documented():
    post = DOC["paths"]["/engines"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/EngineCreate"}
    assert post["requestBody"]["required"] is True
    schema = DOC["components"]["schemas"]["EngineCreate"]
    assert schema["required"] == ["name", "url"] and schema["additionalProperties"] is False
    for text in ("ca.pem", "cert.pem", "key.pem"):
        assert text in schema["properties"]["tls"]["description"]
    assert "kept across restarts" in post["description"]
    assert "--engine" in post["description"]


# ---------------------------------------------------------------- copies and transfers

PROGRESS = {"phase": "files", "bytes_done": 8123456, "bytes_total": 9797632}


def copy_of(status="ready", **changes):
    c = {"engine": "lab", "status": status, "directory": None, "bytes": None, "error": None,
         "progress": None}
    if status == "ready":
        c.update(directory=f"/var/lib/docker/checkpointd/{CK}/counter-before-upgrade",
                 bytes=9797632)
    if status == "failed":
        c.update(error="moving the checkpoint's files: engine 'lab' closed the connection")
    c.update(changes)
    return c


def test_good_copies_pass():
    url = "/checkpoints/" + CK
    copies = [copy_of(), copy_of("pending", engine="edge"),
              copy_of("running", engine="edge2", progress=PROGRESS),
              copy_of("running", engine="edge3"),
              copy_of("running", engine="edge4",
                      progress={"phase": "image", "bytes_done": 0, "bytes_total": 0}),
              copy_of("pending", engine="edge5",
                      progress={"phase": "done", "bytes_done": 9, "bytes_total": 9}),
              copy_of("failed", engine="edge6"),
              copy_of("ready", engine="edge7", bytes=0)]
    body = oc.check("GET", url, 200, {**ETAG, **JSON}, b(record(copies=copies)))
    assert body["copies"] == copies
    oc.check("GET", "/checkpoints", 200, {**ETAG, **JSON},
             b({"items": [record(copies=copies), record()], "next_cursor": None}))
    # a failed or running checkpoint has its list too (empty)
    oc.check("GET", url, 200, {**ETAG, **JSON},
             b(record(status="running", copies=[])))


@pytest.mark.parametrize("change, message", [
    ({"status": "copying"}, "'copying' is not one of"),
    ({"status": None}, "None is not one of"),
    ({"engine": ""}, "should be non-empty|is too short"),
    ({"engine": None}, "is not of type 'string'"),
    # error: a string exactly when failed
    ({"status": "failed"}, "is not of type 'string'"),
    ({"status": "failed", "error": {"code": "transfer_failed", "message": "x"}},
     "is not of type 'string'"),
    ({"error": "x"}, "is not of type 'null'"),
    ({"status": "running", "directory": None, "bytes": None, "error": "x"},
     "is not of type 'null'"),
    # progress: only while pending or running
    ({"progress": PROGRESS}, "is not of type 'null'"),
    ({"status": "failed", "directory": None, "bytes": None, "error": "x", "progress": PROGRESS},
     "is not of type 'null'"),
    # a ready copy says where its files are and how many bytes it took
    ({"directory": None}, "None is not of type 'string'"),
    ({"bytes": None}, "None is not of type 'integer'"),
    # a failed one left nothing
    ({"status": "failed", "error": "x", "directory": "/var/lib/docker/checkpointd/x"},
     "is not of type 'null'"),
    ({"bytes": -1}, "less than the minimum"),
    ({"bytes": "12"}, "is not of type 'integer', 'null'"),
    ({"directory": 7}, "is not of type 'string', 'null'"),
    ({"created_at": "2025-06-01T12:00:00Z"}, "Additional properties"),
    ({"id": CK}, "Additional properties"),
])
def test_bad_copies_fail(change, message):
    c = copy_of()  # ready
    c.update(change)
    fails(message, "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON}, b(record(copies=[c])))


@pytest.mark.parametrize("progress, message", [
    ({"phase": "upload", "bytes_done": 1, "bytes_total": 2}, "'upload' is not one of"),
    ({"phase": "image", "bytes_done": -1, "bytes_total": 2}, "less than the minimum"),
    ({"phase": "image", "bytes_done": 1, "bytes_total": -2}, "less than the minimum"),
    ({"phase": "image", "bytes_done": 1.5, "bytes_total": 2}, "is not of type 'integer'"),
    ({"phase": "image", "bytes_done": None, "bytes_total": 2}, "is not of type 'integer'"),
    ({"phase": "image", "bytes_done": 1}, "'bytes_total' is a required property"),
    ({"phase": "image", "bytes_total": 1}, "'bytes_done' is a required property"),
    ({"bytes_done": 1, "bytes_total": 1}, "'phase' is a required property"),
    ({"phase": "image", "bytes_done": 1, "bytes_total": 2, "percent": 50},
     "Additional properties"),
    ("50%", "is not of type 'object'|is not valid under any"),
    ({}, "is a required property"),
])
def test_bad_progress_fails(progress, message):
    errors = oc.schema_errors("#/components/schemas/Progress", progress)
    assert errors and any(re.search(message, e) for e in errors), errors
    # a nullable member: the checker says it is neither null nor a Progress
    where = "at /copies/0/progress: .* is not valid under any of the given schemas"
    fails(where, "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON},
          b(record(copies=[copy_of("running", progress=progress)])))
    fails("at /progress: .* is not valid under any", "GET", "/restores/" + RS, 200,
          {**ETAG, **JSON}, b(restore(status="running", progress=progress)))


@pytest.mark.parametrize("key", ["engine", "status", "directory", "bytes", "error", "progress"])
def test_copy_keys_are_required(key):
    c = copy_of()
    del c[key]
    fails(f"'{key}' is a required property", "GET", "/checkpoints/" + CK, 200, {**ETAG, **JSON},
          b(record(copies=[c])))


def test_checkpoint_copies_are_required():
    url = "/checkpoints/" + CK
    ck = record()
    del ck["copies"]
    fails("'copies' is a required property", "GET", url, 200, {**ETAG, **JSON}, b(ck))
    fails("None is not of type 'array'", "GET", url, 200, {**ETAG, **JSON}, b(record(copies=None)))
    fails("is not of type 'array'", "GET", url, 200, {**ETAG, **JSON},
          b(record(copies={"lab": copy_of()})))
    fails("is not of type 'object'", "GET", url, 200, {**ETAG, **JSON}, b(record(copies=["lab"])))


def test_restore_progress():
    url = "/restores/" + RS
    for rs in (restore(status="pending", container={"id": None, "name": "counter-lab"},
                       engine="lab", progress={"phase": "image", "bytes_done": 0,
                                               "bytes_total": 9797632}),
               restore(status="running", engine="lab", progress=PROGRESS),
               restore(status="running", engine="lab",
                       progress={"phase": "done", "bytes_done": 9797632,
                                 "bytes_total": 9797632}),
               restore(status="running", progress=None),
               restore(status="pending", progress=None)):
        assert oc.check("GET", url, 200, {**ETAG, **JSON}, b(rs)) == rs
    oc.check("POST", "/restores", 202, {"Location": url, **JSON},
             b(restore(status="running", engine="lab", progress=PROGRESS)))
    # progress only while the job moves the checkpoint
    fails("is not of type 'null'", "GET", url, 200, {**ETAG, **JSON}, b(restore(progress=PROGRESS)))
    err = {"code": "transfer_failed", "message": "moving the image: connection reset"}
    oc.check("GET", url, 200, {**ETAG, **JSON}, b(restore(status="failed", error=err)))
    fails("is not of type 'null'", "GET", url, 200, {**ETAG, **JSON},
          b(restore(status="failed", error=err, progress=PROGRESS)))
    fails("is not of type 'null'", "POST", "/restores?wait=true", 201, {"Location": url, **JSON},
          b(restore(progress=PROGRESS)))
    fails("is not valid under any", "GET", url, 200, {**ETAG, **JSON},
          b(restore(status="running", progress=[1, 2])))
    page = {"items": [restore(status="running", engine="lab", progress=PROGRESS), restore()],
            "next_cursor": None}
    oc.check("GET", "/restores", 200, {**ETAG, **JSON}, b(page))


COPIES = f"/checkpoints/{CK}/copies"


def test_copy_create_answers():
    loc = {"Location": "/checkpoints/" + CK, **JSON}
    pending = record(copies=[copy_of("pending")])
    assert oc.check("POST", COPIES, 202, loc, b(pending)) == pending
    oc.check("POST", COPIES + "?wait=false", 202, loc,
             b(record(copies=[copy_of(engine="edge"), copy_of("running", progress=PROGRESS)])))
    ready = record(copies=[copy_of(), copy_of("failed", engine="edge")])
    assert oc.check("POST", COPIES + "?wait=true", 201, loc, b(ready)) == ready
    assert {("POST", "/checkpoints/{id}/copies", 201),
            ("POST", "/checkpoints/{id}/copies", 202)} <= oc.exercised()
    # 202: a copy under way; 201: a ready one
    fails("does not match the schema", "POST", COPIES, 202, loc, b(record()))
    fails("does not match the schema", "POST", COPIES, 202, loc, b(record(copies=[copy_of()])))
    fails("does not match the schema", "POST", COPIES, 201, loc,
          b(record(copies=[copy_of("running")])))
    fails("does not match the schema", "POST", COPIES, 201, loc,
          b(record(copies=[copy_of("failed")])))
    # only a ready checkpoint is copied
    fails("does not match the schema", "POST", COPIES, 202, loc,
          b(record(status="running", copies=[copy_of("pending")])))
    # the answer is the checkpoint, not the copy
    fails("does not match the schema", "POST", COPIES, 202, loc, b(copy_of("pending")))
    fails("Location is missing", "POST", COPIES, 202, JSON, b(pending))
    fails("Location is missing", "POST", COPIES + "?wait=1", 201, JSON, b(ready))
    fails("status 200 is not documented", "POST", COPIES, 200, loc, b(pending))


def test_copy_location_names_the_checkpoint():
    loc = {"Location": "/checkpoints/" + CK, **JSON}
    pending = record(copies=[copy_of("pending")])
    other = "ck-0000000000000001"
    # Location is the checkpoint the request named, not a copy or another record
    fails("does not name the record the request added to", "POST", COPIES, 202,
          {**loc, "Location": "/checkpoints/" + other}, b(pending))
    fails("Location.*malformed", "POST", COPIES, 202, {**loc, "Location": COPIES}, b(pending))
    fails("Location.*malformed", "POST", COPIES, 202,
          {**loc, "Location": COPIES + "/lab"}, b(pending))
    fails("Location.*malformed", "POST", COPIES, 202,
          {**loc, "Location": "http://127.0.0.1:8780/checkpoints/" + CK}, b(pending))
    # and the body is that checkpoint
    fails(f"the answer is the record '{other}', not '{CK}'", "POST", COPIES, 202, loc,
          b(record(id=other, copies=[copy_of("pending")])))
    oc.check("POST", f"/checkpoints/{other}/copies", 202,
             {**loc, "Location": "/checkpoints/" + other},
             b(record(id=other, copies=[copy_of("pending")])))


def test_location_rule_for_copies_without_header_patterns(monkeypatch):
    """The checker's own rule for a POST under a record: Location is that record."""
    monkeypatch.setitem(DOC["components"]["headers"]["Location"], "schema", {"type": "string"})
    monkeypatch.setattr(oc, "_validators", {})
    pending = record(copies=[copy_of("pending")])
    oc.check("POST", COPIES, 202, {"Location": "/checkpoints/" + CK, **JSON}, b(pending))
    for wrong in (COPIES, COPIES + "/lab", "/restores/" + CK, "/checkpoints/" + CK + "/",
                  "checkpoints/" + CK, "/engines/lab"):
        fails(rf"does not name the record the request added to \(expected '/checkpoints/{CK}'\)",
              "POST", COPIES + "?wait=false", 202, {"Location": wrong, **JSON}, b(pending))
    # a POST to a collection keeps its own rule
    fails(r"does not name the record.*expected '/checkpoints/ck-", "POST", "/checkpoints", 202,
          {"Location": COPIES, **JSON}, b(record(status="pending")))


def test_copy_problems():
    oc.check("POST", COPIES, 400, PROBLEM, b(problem(400, "missing_field", field="engine")))
    oc.check("POST", COPIES, 400, PROBLEM, b(problem(400, "unknown_field", field="name")))
    oc.check("POST", COPIES, 400, PROBLEM, b(problem(400, "invalid_field", field="engine")))
    oc.check("POST", COPIES, 400, PROBLEM, b(problem(400, "invalid_json")))
    oc.check("POST", COPIES + "?wait=yes", 400, PROBLEM,
             b(problem(400, "invalid_parameter", parameter="wait")))
    for code in ("checkpoint_not_found", "engine_not_found"):
        oc.check("POST", COPIES, 404, PROBLEM, b(problem(404, code)))
    for code in ("container_not_found", "not_found", "restore_not_found"):
        fails("does not match the schema", "POST", COPIES, 404, PROBLEM, b(problem(404, code)))
    oc.check("POST", COPIES, 409, PROBLEM, b(problem(409, "checkpoint_not_ready", id=CK)))
    oc.check("POST", COPIES, 409, PROBLEM, b(problem(409, "copy_exists", field="engine")))
    for code in ("name_conflict", "checkpoint_busy", "engine_busy", "container_running"):
        fails("does not match the schema", "POST", COPIES, 409, PROBLEM,
              b(problem(409, code, hint="x")))
    # copy_exists is a copy's only
    for url in ("/restores", "/checkpoints", "/engines"):
        fails("does not match the schema", "POST", url, 409, PROBLEM,
              b(problem(409, "copy_exists")))
    oc.check("POST", COPIES, 413, PROBLEM, b(problem(413, "payload_too_large")))
    oc.check("POST", COPIES, 415, PROBLEM, b(problem(415, "unsupported_media_type")))
    oc.check("POST", COPIES, 500, PROBLEM, b(problem(500, "internal_error")))
    oc.check("POST", COPIES, 503, PROBLEM, b(problem(503, "experimental_disabled", hint="x")))
    oc.check("POST", COPIES, 503, PROBLEM, b(problem(503, "shutting_down")))
    fails("'hint' is a required property", "POST", COPIES, 503, PROBLEM,
          b(problem(503, "experimental_disabled")))
    # GET, DELETE: no such operations on the copies
    oc.check("GET", COPIES, 405, {"Allow": "POST", **PROBLEM},
             b(problem(405, "method_not_allowed")))
    oc.check("DELETE", COPIES, 405, {"Allow": "POST", **PROBLEM},
             b(problem(405, "method_not_allowed")))
    fails("Allow says", "GET", COPIES, 405, {"Allow": "GET, HEAD, POST", **PROBLEM},
          b(problem(405, "method_not_allowed")))
    fails("matches no path", "POST", COPIES + "/lab", 202, JSON, b(record()))


def test_transfer_failed():
    # a copy's names the checkpoint, a restore's the restore
    oc.check("POST", COPIES + "?wait=true", 502, PROBLEM,
             b(problem(502, "transfer_failed", id=CK)))
    oc.check("POST", "/restores?wait=true", 502, PROBLEM,
             b(problem(502, "transfer_failed", id=RS, hint="x")))
    for url in (COPIES, "/restores"):
        fails("'id' is a required property", "POST", url, 502, PROBLEM,
              b(problem(502, "transfer_failed")))
        fails("does not match|is not valid under any", "POST", url, 502, PROBLEM,
              b(problem(502, "transfer_failed", id="x-1")))
    fails("does not match", "POST", COPIES, 502, PROBLEM, b(problem(502, "transfer_failed", id=RS)))
    fails("does not match", "POST", "/restores", 502, PROBLEM,
          b(problem(502, "transfer_failed", id=CK)))
    for p in (problem(502, "transfer_failed", id=CK), problem(502, "transfer_failed", id=RS)):
        assert oc.schema_errors("#/components/schemas/Problem", p) == []
    # no transfer in making a checkpoint, deleting one, or a pre-flight
    for method, url in (("POST", "/checkpoints"), ("DELETE", "/checkpoints/" + CK),
                        ("POST", "/checkpoints?dry_run=true"), ("DELETE", "/restores/" + RS)):
        fails("does not match the schema", method, url, 502, PROBLEM,
              b(problem(502, "transfer_failed", id=CK)))
    # the other engine failures of a copy; an id they carry is the checkpoint's
    for code in ("engine_unreachable", "engine_error"):
        oc.check("POST", COPIES, 502, PROBLEM, b(problem(502, code)))
        oc.check("POST", COPIES, 502, PROBLEM, b(problem(502, code, id=CK)))
        fails("does not match", "POST", COPIES, 502, PROBLEM, b(problem(502, code, id=RS)))
    for code in ("checkpoint_failed", "restore_failed", "criu_failed", "not_ready"):
        fails("does not match the schema", "POST", COPIES, 502, PROBLEM,
              b(problem(502, code, id=CK, hint="x")))
    # criu_line and log_tail stay CRIU's
    fails("is not one of", "POST", COPIES, 502, PROBLEM,
          b(problem(502, "transfer_failed", id=CK, log_tail=TAIL)))


def test_restores_on_another_engine():
    # the target engine may lack experimental features; a failed move is a 502
    oc.check("POST", "/restores", 503, PROBLEM,
             b(problem(503, "experimental_disabled", hint="turn them on on 'lab'")))
    oc.check("POST", "/restores?wait=true", 201, {"Location": "/restores/" + RS, **JSON},
             b(restore(engine="lab")))
    body = DOC["components"]["schemas"]["RestoreCreate"]
    assert create_errors({"checkpoint": CK, "engine": "lab"}) == []
    assert "engine_mismatch" not in body["properties"]["engine"]["description"]
    assert "`POST /checkpoints/{id}/copies`" in body["properties"]["engine"]["description"]


def test_checkpoint_delete_and_copies():
    url = "/checkpoints/" + CK
    oc.check("DELETE", url, 409, PROBLEM,
             b(problem(409, "checkpoint_busy", id=CK, hint="wait until its copies are ready")))
    oc.check("DELETE", url, 502, PROBLEM, b(problem(502, "engine_unreachable", id=CK)))
    busy = oc._deref(DOC["paths"]["/checkpoints/{id}"]["delete"]["responses"]["409"], "")[0]
    assert "copy" in busy["description"]
    assert "copy_running" in busy["content"]["application/problem+json"]["examples"]
    assert "every copy" in DOC["paths"]["/checkpoints/{id}"]["delete"]["description"]


def test_new_codes_are_documented():
    schemas = DOC["components"]["schemas"]
    codes = schemas["ProblemCode"]["enum"]
    desc = schemas["ProblemCode"]["description"]
    for code in ("engine_busy", "copy_exists", "transfer_failed"):
        assert code in codes
        assert len([ln for ln in desc.splitlines() if ln.startswith(f"- `{code}`: ")]) == 1
    assert "engine_mismatch" not in codes and "engine_mismatch" not in desc
    # which answers may carry each
    answers = {}
    for where, media in problem_responses():
        code = media["schema"]["properties"]["code"]
        for c in code.get("enum", [code.get("const")]):
            answers.setdefault(c, set()).add(where)
    assert answers["engine_busy"] == {"DELETE /engines/{name} 409"}
    assert answers["copy_exists"] == {"POST /checkpoints/{id}/copies 409"}
    assert answers["transfer_failed"] == {"POST /checkpoints/{id}/copies 502",
                                          "POST /restores 502"}
    assert "name_conflict" in str(answers) and "POST /engines 409" in answers["name_conflict"]
