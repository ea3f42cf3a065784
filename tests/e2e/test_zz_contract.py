"""Runs last: every route of the OpenAPI document was exercised live."""

import openapi_check


def test_every_documented_route_was_exercised():
    hit = {(m if m != "HEAD" else "GET", t) for m, t, _ in openapi_check.exercised()}
    missing = set(openapi_check.paths()) - hit
    assert not missing, f"documented but never exercised: {sorted(missing)}"
