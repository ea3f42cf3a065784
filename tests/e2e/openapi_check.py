"""Checks checkpointd's answers against its contract, openapi/openapi.json.

Usage from an end-to-end test (stdlib + python3-jsonschema 4.10 only):

    import openapi_check
    body = openapi_check.check("GET", "/checkpoints/ck-0123456789abcdef",
                               resp.status, dict(resp.getheaders()), raw_bytes)

check() raises AssertionError, with a message saying what is wrong, when the
answer is not one the document allows: the method/path is not documented (a
path that matches no template may only answer 404 not_found, a known path
asked with another method only 405 with Allow, as the document's
x-checkpointd-unrouted says), the status is not documented for the
operation, the Content-Type is not the documented media type, a required
header is missing or malformed, the body does not match the schema, a
Location does not name the record it comes with (a POST to a collection
such as /checkpoints, /restores or /engines must answer {collection}/{key},
the key being the body member its item path names: {id}, or {name} for
/engines; a POST to a collection under a record, such as
/checkpoints/{id}/copies, adds to that record and must answer with it: the
Location is the parent path, /checkpoints/{id}), or a body is present where
none is allowed (204, 304, any HEAD).  It returns the
parsed JSON body, the text of a body of another media type (such as the
text/plain CRIU logs, which must not be empty), or None when there is none.

An operation with x-checkpointd-dry-run (POST /checkpoints) answers a
request whose query sets that parameter to one of its values (dry_run=true
or 1) with the extension's responses only, and any other request with its
own responses but those the extension keeps for a dry run (`only`: 200).

paths() lists the documented (METHOD, template) pairs and exercised() the
(METHOD, template, status) triples that check() has accepted so far, so a
suite can assert at its end that every documented route was exercised.
"""

import datetime
import json
import pathlib
import re
import urllib.parse
import warnings
from collections.abc import Mapping

from jsonschema import Draft202012Validator, FormatChecker

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from jsonschema import RefResolver

DOC_PATH = pathlib.Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
DOC_BYTES = DOC_PATH.read_bytes()
DOC = json.loads(DOC_BYTES)

# The document has no $id; this base lets "#/components/..." refs resolve
# against the whole document.
_BASE = "https://checkpointd.invalid/openapi.json"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PROBLEM_TYPE = "urn:checkpointd:problem:"

_format_checker = FormatChecker(formats=())
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value):
    """RFC 3339 date-time (jsonschema's own check needs a missing package)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


def _escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens):
    return "#/" + "/".join(_escape(str(t)) for t in tokens)


def resolve_pointer(pointer):
    """The part of the document at a local JSON pointer such as '#/components/x'."""
    if not pointer.startswith("#"):
        raise AssertionError(f"openapi.json: {pointer!r} is not a local reference")
    node = DOC
    for raw in filter(None, pointer[1:].split("/")):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise AssertionError(f"openapi.json: reference {pointer!r} does not resolve")
    return node


def _deref(obj, pointer):
    """Follows $ref chains; returns (object, its pointer)."""
    seen = set()
    while isinstance(obj, dict) and "$ref" in obj:
        pointer = obj["$ref"]
        if pointer in seen:
            raise AssertionError(f"openapi.json: $ref loop at {pointer!r}")
        seen.add(pointer)
        obj = resolve_pointer(pointer)
    return obj, pointer


_validators = {}


def validator(pointer):
    """A Draft 2020-12 validator for the schema at a local pointer."""
    if pointer not in _validators:
        resolve_pointer(pointer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            resolver = RefResolver(_BASE, DOC, store={_BASE: DOC})
            _validators[pointer] = Draft202012Validator(
                {"$ref": _BASE + pointer}, resolver=resolver,
                format_checker=_format_checker)
    return _validators[pointer]


def schema_errors(pointer, instance, limit=8):
    """Messages for each way instance fails the schema at pointer ([] when valid)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        errors = sorted(validator(pointer).iter_errors(instance),
                        key=lambda e: (list(e.absolute_path), e.message))
    out = []
    for e in errors[:limit]:
        where = "/" + "/".join(str(p) for p in e.absolute_path)
        out.append(f"at {where}: {e.message}")
    if len(errors) > limit:
        out.append(f"... and {len(errors) - limit} more")
    return out


def _templates():
    out = []
    for template in DOC["paths"]:
        parts = re.split(r"(\{[^}/]+\})", template)
        rx = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        out.append((template.count("{"), template, re.compile("^" + rx + "$")))
    out.sort(key=lambda t: (t[0], t[1]))  # literal templates win over {param} ones
    return out


_TEMPLATES = _templates()


def match_path(path):
    """The path template that a concrete path (query string allowed) matches, or None."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    for _, template, rx in _TEMPLATES:
        if rx.match(path):
            return template
    return None


def paths():
    """Every documented (METHOD, template) pair, e.g. ('GET', '/checkpoints/{id}')."""
    return [(m.upper(), t) for t, item in DOC["paths"].items() for m in _METHODS if m in item]


_exercised = set()


def exercised():
    """The (METHOD, template, status) triples check() has accepted (HEAD stays HEAD)."""
    return set(_exercised)


def reset_exercised():
    _exercised.clear()


def _record(method, template, status):
    if template is not None:
        _exercised.add((method, template, status))


class _Headers:
    """Case-insensitive view of a dict, a list of pairs or an http.client message."""

    def __init__(self, headers):
        self._h = {}
        if headers is None:
            return
        items = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") \
            else headers
        for k, v in items:
            key = k.lower()
            self._h[key] = v if key not in self._h else f"{self._h[key]}, {v}"

    def get(self, name):
        return self._h.get(name.lower())


def _media_type(value):
    return value.split(";", 1)[0].strip().lower() if value else None


def _is_json(media_type):
    return media_type == "application/json" or media_type.endswith("+json")


def _dry_run(op, path):
    """The operation's x-checkpointd-dry-run when path's query asks for a dry
    run (its parameter set to one of its values), else None."""
    ext = op.get("x-checkpointd-dry-run")
    if not ext or "?" not in path:
        return None
    query = urllib.parse.parse_qs(path.split("?", 1)[1].split("#", 1)[0],
                                  keep_blank_values=True)
    values = query.get(ext["parameter"])
    return ext if values and values[0] in ext["values"] else None


def _documented_methods(template):
    item = DOC["paths"][template]
    methods = {m.upper() for m in _METHODS if m in item}
    if "GET" in methods:
        methods.add("HEAD")
    return methods


def _snippet(body_bytes, n=600):
    text = body_bytes.decode("utf-8", "replace")
    return text if len(text) <= n else text[:n] + "..."


def _item_param(collection):
    """The path parameter that names a record of a collection template: 'id' for
    /checkpoints (whose records live at /checkpoints/{id}), 'name' for /engines;
    None when the collection has no item path."""
    for template in DOC["paths"]:
        m = re.fullmatch(re.escape(collection) + r"/\{([^}/]+)\}", template)
        if m:
            return m.group(1)
    return None


def _check_location(what, method, template, path, location, body):
    """A Location that comes with a record must name that record at a documented
    path one can GET.  A POST to a collection (/checkpoints, /restores, /engines)
    must answer with the record's place in that same collection:
    {collection}/{key}, key being the body member the collection's item path
    names ({id}; {name} for /engines).  A POST to a collection under a record
    (/checkpoints/{id}/copies) adds to that record and answers with it: the
    Location is the parent path the request named (/checkpoints/{id}), and the
    body is that record."""
    concrete = path.split("?", 1)[0].split("#", 1)[0]
    if template is not None and method == "POST" and "{" not in template:
        key = _item_param(template)
        if key is None or key not in body:
            return
        record = str(body[key])
        expected = f"{template}/{urllib.parse.quote(record, safe='')}"
        if location != expected:
            raise AssertionError(f"{what}: Location {location!r} does not name the record "
                                 f"{record!r} (expected {expected!r})")
    elif template is not None and method == "POST" and re.search(r"\}/[^{}/]+$", template):
        parent = template.rsplit("/", 1)[0]
        key = re.search(r"\{([^}/]+)\}$", parent)
        expected = concrete.rsplit("/", 1)[0]
        if location != expected:
            raise AssertionError(f"{what}: Location {location!r} does not name the record "
                                 f"the request added to (expected {expected!r})")
        named = urllib.parse.unquote(expected.rsplit("/", 1)[1])
        if key and key.group(1) in body and str(body[key.group(1)]) != named:
            raise AssertionError(f"{what}: the answer is the record "
                                 f"{str(body[key.group(1)])!r}, not {named!r} that the "
                                 "request and its Location name")
    else:
        if "id" not in body:
            return
        record = str(body["id"])
        if not location.endswith("/" + urllib.parse.quote(record, safe="")):
            raise AssertionError(f"{what}: Location {location!r} does not name the record "
                                 f"{record!r}")
    target = match_path(location)
    if target is None or "get" not in DOC["paths"][target]:
        raise AssertionError(f"{what}: Location {location!r} is no path of the document "
                             "that answers GET")


def check(method, path, status, headers, body_bytes):
    """Asserts that (status, headers, body) is an answer the document allows for
    method + path; returns the parsed JSON body, or None when there is none."""
    method = method.upper()
    status = int(status)
    if body_bytes is None:
        body_bytes = b""
    elif isinstance(body_bytes, str):
        body_bytes = body_bytes.encode("utf-8")
    hdrs = _Headers(headers)
    what = f"{method} {path} -> {status}"
    template = match_path(path)
    op_method = "get" if method == "HEAD" else method.lower()

    if template is None:
        unrouted = DOC.get("x-checkpointd-unrouted", {}).get("unknown_path", {})
        if str(status) not in unrouted:
            raise AssertionError(
                f"{what}: the path matches no path of the document "
                f"({', '.join(DOC['paths'])}); such a request may only answer "
                f"{', '.join(unrouted) or 'nothing'}")
        responses, where = unrouted, _pointer("x-checkpointd-unrouted", "unknown_path")
    elif op_method not in _METHODS or op_method not in DOC["paths"][template]:
        unrouted = DOC.get("x-checkpointd-unrouted", {}).get("unknown_method", {})
        allowed = sorted(_documented_methods(template))
        if str(status) not in unrouted:
            raise AssertionError(
                f"{what}: {template} documents no {method} (it has {', '.join(allowed)}); "
                f"such a request may only answer {', '.join(unrouted) or 'nothing'}")
        responses, where = unrouted, _pointer("x-checkpointd-unrouted", "unknown_method")
    else:
        op = DOC["paths"][template][op_method]
        responses, where = op["responses"], _pointer("paths", template, op_method, "responses")
        ext = op.get("x-checkpointd-dry-run")
        if ext and _dry_run(op, path):
            responses = ext["responses"]
            where = _pointer("paths", template, op_method, "x-checkpointd-dry-run", "responses")
        elif ext:
            if str(status) in ext["only"]:
                raise AssertionError(
                    f"{what}: status {status} answers only a dry run "
                    f"({ext['parameter']}={ext['values'][0]}); body: {_snippet(body_bytes)}")
            responses = {k: v for k, v in responses.items() if k not in ext["only"]}

    key = str(status)
    if key not in responses:
        key = f"{status // 100}XX"
    if key not in responses:
        key = "default"
    if key not in responses:
        raise AssertionError(
            f"{what}: status {status} is not documented for {method} {template or path} "
            f"(documented: {', '.join(r for r in responses if r[0].isdigit() or r == 'default')})"
            f"; body: {_snippet(body_bytes)}")
    response, rpointer = _deref(responses[key], where + "/" + _escape(key))

    # Headers the response documents as required, and their value's shape.
    for name, header in (response.get("headers") or {}).items():
        header, hpointer = _deref(header, f"{rpointer}/headers/{_escape(name)}")
        value = hdrs.get(name)
        if value is None:
            if header.get("required"):
                raise AssertionError(f"{what}: the required header {name} is missing")
            continue
        if "schema" in header:
            errs = schema_errors(hpointer + "/schema", value)
            if errs:
                raise AssertionError(f"{what}: header {name}: {value!r} is malformed: "
                                     + "; ".join(errs))

    if status == 405 and template is not None:
        allow = {m.strip().upper() for m in (hdrs.get("Allow") or "").split(",") if m.strip()}
        if allow != _documented_methods(template):
            raise AssertionError(
                f"{what}: Allow says {sorted(allow)} but {template} accepts "
                f"{sorted(_documented_methods(template))}")

    content = response.get("content")
    if not content or method == "HEAD" or status in (204, 304):
        if body_bytes:
            why = "a HEAD answer" if method == "HEAD" else f"a {status} answer"
            raise AssertionError(f"{what}: {why} must have no body, got "
                                 f"{len(body_bytes)} bytes: {_snippet(body_bytes)}")
        if not content or status in (204, 304):
            _record(method, template, status)
            return None

    ctype = _media_type(hdrs.get("Content-Type"))
    if ctype not in {m.lower() for m in content}:
        raise AssertionError(
            f"{what}: Content-Type is {hdrs.get('Content-Type')!r}, documented: "
            f"{', '.join(content)}; body: {_snippet(body_bytes)}")
    if method == "HEAD":
        _record(method, template, status)
        return None
    mt_key = next(m for m in content if m.lower() == ctype)

    if not _is_json(ctype):
        # Text (the CRIU logs): no JSON to parse; it must not be empty.
        if not body_bytes:
            raise AssertionError(f"{what}: the {ctype} body is empty")
        text = body_bytes.decode("utf-8", "replace")
        media = content[mt_key]
        if "schema" in media:
            errs = schema_errors(f"{rpointer}/content/{_escape(mt_key)}/schema", text)
            if errs:
                raise AssertionError(f"{what}: the body does not match the schema of response "
                                     f"{key} ({rpointer}): " + "; ".join(errs))
        _record(method, template, status)
        return text

    try:
        body = json.loads(body_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AssertionError(f"{what}: the body is not JSON ({e}): {_snippet(body_bytes)}") \
            from None

    media = content[mt_key]
    if "schema" in media:
        errs = schema_errors(f"{rpointer}/content/{_escape(mt_key)}/schema", body)
        if errs:
            raise AssertionError(
                f"{what}: the body does not match the schema of response {key} "
                f"({rpointer}):\n  " + "\n  ".join(errs) + f"\nbody: {_snippet(body_bytes)}")

    # What a schema cannot say.
    if ctype == "application/problem+json" and isinstance(body, dict):
        if body.get("status") != status:
            raise AssertionError(f"{what}: the problem's status is {body.get('status')!r}, "
                                 f"not the answer's {status}")
        if body.get("type") != _PROBLEM_TYPE + str(body.get("code")):
            raise AssertionError(f"{what}: the problem's type {body.get('type')!r} does not "
                                 f"match its code {body.get('code')!r}")
    location = hdrs.get("Location")
    if location is not None and isinstance(body, dict):
        _check_location(what, method, template, path, location, body)
    if template == "/openapi.json" and status == 200 and body_bytes != DOC_BYTES:
        raise AssertionError(f"{what}: the served document differs from {DOC_PATH} "
                             "(is the binary built from this tree?)")

    _record(method, template, status)
    return body
