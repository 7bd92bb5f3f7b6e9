"""The specification and the code cannot drift apart.

- every server MUST sits in a section that a conformance check cites;
- every rule the server enforces is named in the section the rule registry says;
- the error table is the catalogue, row for row;
- every example message is valid JSON with exactly the members the server really sends;
- the OpenAPI document is valid and lists exactly the server's routes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from conformance.registry import load_checks
from reference.core.errors import CATALOGUE
from reference.core.jose import decode_unverified
from reference.core.rules import RULES
from simulator.transport import HttpResponse, WsgiTransport
from tests.conftest import PIN, RunningServer

SPEC_DIR = Path(__file__).resolve().parents[2] / "docs" / "spec"
SECTION_HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)+) ")
EXAMPLE = re.compile(r"<!-- example: ([a-z0-9-]+) -->\s*```json\n(.*?)```", re.S)


def _sections() -> Iterator[tuple[str, str, list[str]]]:
    """(file, section number, lines) for every numbered section of every chapter."""
    for path in sorted(SPEC_DIR.glob("[0-9][0-9]-*.md")):
        current, lines = None, []
        for line in path.read_text().splitlines():
            heading = SECTION_HEADING.match(line)
            if heading:
                if current:
                    yield path.name, current, lines
                current, lines = heading.group(1), []
            elif current:
                lines.append(line)
        if current:
            yield path.name, current, lines


def _examples() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in SPEC_DIR.glob("*.md"):
        for name, body in EXAMPLE.findall(path.read_text()):
            assert name not in found, f"example {name} appears twice"
            found[name] = json.loads(body)
    return found


def test_every_server_must_is_proved_by_a_conformance_check() -> None:
    cited = {check.section for check in load_checks()}
    unproved = []
    for filename, section, lines in _sections():
        server_musts = [
            line for line in lines if "MUST" in line and not line.lstrip().startswith(">")
        ]
        covered = section in cited or section.rsplit(".", 1)[0] in cited
        if server_musts and not covered:
            unproved.append(f"{filename} §{section}: {server_musts[0].strip()}")
    assert not unproved, "sections with a server MUST and no conformance check:\n" + "\n".join(
        unproved
    )


def test_every_rule_is_named_in_its_section() -> None:
    text_by_section = {section: "\n".join(lines) for _, section, lines in _sections()}
    missing = []
    for rule, section in RULES.items():
        texts = [
            text
            for number, text in text_by_section.items()
            if number == section or number.startswith(section + ".")
        ]
        if not any(f"`{rule}`" in text for text in texts):
            missing.append(f"{rule} (§{section})")
    assert not missing, f"rules not named in their spec section: {missing}"


def test_error_table_is_the_catalogue() -> None:
    text = (SPEC_DIR / "10-errors.md").read_text()
    header = "| code | HTTP status | meaning | app screen |"
    assert header in text
    rows = text.split(header, 1)[1].splitlines()[2:]
    table = {}
    for row in rows:
        if not row.startswith("|"):
            break
        code, status, meaning, screen = (
            cell.strip().strip("`") for cell in row.strip("|").split("|")
        )
        table[code] = (int(status), meaning, screen)
    assert table == {
        entry.code: (entry.status, entry.meaning, entry.app_screen) for entry in CATALOGUE.values()
    }


class RecordingTransport(WsgiTransport):
    """Keeps every request body and response the simulator exchanges."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.exchanges: list[tuple[str, str, Any, HttpResponse]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        response = super().request(method, url, **kwargs)
        sent = kwargs.get("json") if kwargs.get("json") is not None else kwargs.get("data")
        self.exchanges.append((method, url.split("?")[0], sent, response))
        return response


def _real_messages(server: RunningServer) -> dict[str, Any]:
    transport = RecordingTransport(server.app)
    device = server.device()
    device.transport = transport
    device.register_app()
    created = server.create_enrollment()
    device.enroll(qr=base64.b64decode(created["qr_png"]), pin=PIN)
    tokens = device.login(pin=PIN)
    http = server.app.test_client()
    status = http.get(f"/rp/enrollments/{created['enrollment_id']}", headers=server.rp_headers())
    introspection = http.post(
        "/introspect", data={"token": tokens.access_token}, headers=server.rp_headers()
    )
    wrong = device.token_request({"grant_type": "refresh_token", "refresh_token": "unknown"})

    def sent(path: str) -> Any:
        return next(body for _, url, body, _ in transport.exchanges if url.endswith(path))

    def received(path: str) -> Any:
        return next(r.json() for _, url, _, r in transport.exchanges if url.endswith(path))

    access = decode_unverified(tokens.access_token)
    assertion = decode_unverified(sent("/token")["assertion"])
    client_assertion = decode_unverified(sent("/login/challenge")["client_assertion"])
    attestation = decode_unverified(sent("/register")["attestation"])
    dpop = decode_unverified(device.dpop_proof("POST", f"{server.issuer}/token"))
    return {
        "discovery-metadata": http.get("/.well-known/oauth-authorization-server").json,
        "jwks": http.get("/jwks.json").json,
        "registration-nonce-response": received("/register/nonce"),
        "platform-attestation-payload": attestation.claims,
        "registration-request": sent("/register"),
        "registration-response": received("/register"),
        "client-assertion-header": client_assertion.header,
        "client-assertion-claims": client_assertion.claims,
        "enrollment-creation-request": {"user_id": "alice", "display_name": "Alice"},
        "enrollment-creation-response": created,
        "enrollment-status-response": status.json,
        "enrollment-begin-request": sent("/enroll/begin"),
        "enrollment-begin-response": received("/enroll/begin"),
        "enrollment-complete-request": sent("/enroll/complete"),
        "enrollment-complete-response": received("/enroll/complete"),
        "pin-policy": received("/enroll/begin")["pin_policy"],
        "challenge-response": received("/login/challenge"),
        "authenticator-assertion-header": assertion.header,
        "authenticator-assertion-claims": assertion.claims,
        "token-response": received("/token"),
        "access-token-header": access.header,
        "access-token-claims": access.claims,
        "dpop-proof-header": dpop.header,
        "dpop-proof-claims": dpop.claims,
        "introspection-response": introspection.json,
        "error-response": wrong.json(),
    }


def _shape(value: Any) -> Any:
    """Member names, recursively: what must agree between an example and the real message."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], dict) else "list"
    return type(value).__name__ if isinstance(value, bool) else "scalar"


def test_examples_have_exactly_the_members_the_server_sends(sqlite_server: RunningServer) -> None:
    examples = _examples()
    real = _real_messages(sqlite_server)
    assert set(examples) == set(real), "every named example is compared with a real message"
    for name, example in examples.items():
        if name == "jwks":
            assert _shape(example["keys"][0]) == _shape(real[name]["keys"][0]), name
        elif name == "registration-request":
            assert set(example) == set(real[name]), name
        else:
            assert _shape(example) == _shape(real[name]), name


OPENAPI = Path(__file__).resolve().parents[2] / "reference" / "openapi.yaml"


def test_openapi_document_is_valid_and_matches_the_routes(sqlite_server: RunningServer) -> None:
    document = yaml.safe_load(OPENAPI.read_text())
    validate(document)
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = set()
    for rule in sqlite_server.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                served.add((path, method))
    assert documented == served
    assert sqlite_server.app.test_client().get("/openapi.json").json == json.loads(
        json.dumps(document)
    )


@pytest.mark.parametrize("path", sorted(SPEC_DIR.glob("*.md")), ids=lambda p: p.name)
def test_spec_links_point_to_existing_chapters(path: Path) -> None:
    for target in re.findall(r"\]\(([0-9]{2}-[a-z-]+\.md)", path.read_text()):
        assert (SPEC_DIR / target).exists(), f"{path.name} links to missing {target}"
