"""No input produces a 5xx; logs carry no secrets."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PIN, RunningServer

POST_ENDPOINTS = [
    "/register/nonce",
    "/register",
    "/enroll/begin",
    "/enroll/complete",
    "/login/challenge",
    "/token",
    "/introspect",
    "/revoke",
    "/rp/enrollments",
]
GET_ENDPOINTS = ["/api/me", "/api/accounts", "/rp/enrollments/x", "/jwks.json", "/demo/devices"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(POST_ENDPOINTS),
    body=st.one_of(
        json_values.map(lambda value: ("application/json", json.dumps(value).encode())),
        st.binary(max_size=200).map(lambda raw: ("application/octet-stream", raw)),
        st.dictionaries(
            st.sampled_from(
                [
                    "grant_type",
                    "assertion",
                    "client_assertion",
                    "client_assertion_type",
                    "refresh_token",
                    "token",
                    "resource",
                    "scope",
                    "code",
                ]
            ),
            st.text(max_size=60),
        ).map(
            lambda form: (
                "application/x-www-form-urlencoded",
                "&".join(f"{k}={v}" for k, v in form.items()).encode(),
            )
        ),
    ),
    authorization=st.one_of(st.none(), header_text, header_text.map(lambda t: "Basic " + t)),
    dpop=st.one_of(st.none(), header_text),
)
def test_junk_posts_never_cause_a_server_error(
    sqlite_server: RunningServer,
    path: str,
    body: tuple[str, bytes],
    authorization: str | None,
    dpop: str | None,
) -> None:
    headers = {"Content-Type": body[0]}
    if authorization is not None:
        headers["Authorization"] = authorization
    if dpop is not None:
        headers["DPoP"] = dpop
    response = sqlite_server.app.test_client().post(path, data=body[1], headers=headers)
    assert response.status_code < 500, response.data
    if response.status_code >= 400 and response.is_json:
        assert isinstance(response.json["error"], str)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(GET_ENDPOINTS), authorization=header_text, dpop=header_text)
def test_junk_api_headers_never_cause_a_server_error(
    sqlite_server: RunningServer, path: str, authorization: str, dpop: str
) -> None:
    response = sqlite_server.app.test_client().get(
        path, headers={"Authorization": authorization, "DPoP": dpop}
    )
    assert response.status_code < 500


def test_logs_hold_no_secrets(
    sqlite_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mia")
    logging.getLogger("mia").propagate = True
    try:
        device = sqlite_server.device()
        device.register_app()
        created = sqlite_server.create_enrollment()
        import base64

        device.enroll(qr=base64.b64decode(created["qr_png"]), pin=PIN)
        tokens = device.login(pin=PIN)
        device.call_api("/api/me")
        rotated = device.refresh()
    finally:
        logging.getLogger("mia").propagate = False
    text = "\n".join(
        record.getMessage() + json.dumps(record.__dict__, default=str) for record in caplog.records
    )
    assert "/token" in text  # the requests were logged ...
    code = created["enrollment_uri"].rsplit("code=", 1)[1]
    for secret in (
        tokens.access_token,
        tokens.refresh_token,
        rotated.refresh_token,
        code,
        PIN,
        "bank-backend-test-secret",
    ):
        assert secret not in text  # ... without any secret in them


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/enroll/begin", "/enroll/complete", "/login/challenge"]),
    fields=st.dictionaries(
        st.sampled_from(["code", "enrollment_session", "pin_public_key"]), json_values, max_size=3
    ),
)
def test_authenticated_junk_never_causes_a_server_error(
    authenticated: tuple[RunningServer, object], path: str, fields: dict[str, object]
) -> None:
    _, device = authenticated
    response = device.post_json(path, fields)  # type: ignore[attr-defined]
    assert response.status < 500, response.text


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=st.fixed_dictionaries(
        {
            "grant_type": st.sampled_from(
                [
                    "urn:mia:params:oauth:grant-type:authenticator-assertion",
                    "refresh_token",
                    "password",
                ]
            )
        },
        optional={
            "assertion": st.text(max_size=80),
            "refresh_token": st.text(max_size=60),
            "scope": st.text(max_size=30),
            "resource": st.text(max_size=30),
        },
    ),
)
def test_authenticated_junk_token_requests_never_cause_a_server_error(
    authenticated: tuple[RunningServer, object], form: dict[str, str]
) -> None:
    _, device = authenticated
    response = device.token_request(form)  # type: ignore[attr-defined]
    assert response.status < 500, response.text


@pytest.fixture
def authenticated(sqlite_server: RunningServer) -> tuple[RunningServer, object]:
    device = sqlite_server.device()
    device.register_app()
    return sqlite_server, device
