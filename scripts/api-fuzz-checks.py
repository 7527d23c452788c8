"""Schemathesis hooks for `scripts/api-fuzz.sh` (loaded through SCHEMATHESIS_HOOKS).

Registers `json_error_body`: every 4xx answer of the orchestrator is an ApiError, i.e.
`Content-Type: application/json` and a JSON object with string fields `code` and `error`,
never actix-web's plain-text (or empty) defaults.
"""

import json

import schemathesis


@schemathesis.check
def json_error_body(ctx, response, case):
    """A 4xx answer is a JSON ApiError body."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise AssertionError(
            f"HTTP {response.status_code} with Content-Type {content_type or '(none)'!r}, "
            f"not application/json; body: {response.content[:200]!r}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"HTTP {response.status_code} body is not JSON ({e}): {response.content[:200]!r}")
    if not (isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("error"), str)):
        raise AssertionError(
            f"HTTP {response.status_code} body is not an ApiError {{code, error}}: {response.content[:200]!r}"
        )
    return None
