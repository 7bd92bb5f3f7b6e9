"""What a check expects of an answer: an exact status, or an exact catalogue error."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import requests

from conformance.results import CheckFailed
from reference.core.errors import CATALOGUE
from reference.core.jose import b64u_decode as b64u_decode
from reference.core.jose import b64u_encode as b64u_encode
from reference.core.jose import jwk_thumbprint as jwk_thumbprint
from reference.core.jose import public_jwk as public_jwk
from simulator.errors import ServerError


def describe(resp: requests.Response) -> str:
    body = resp.text
    if len(body) > 300:
        body = body[:300] + "..."
    return f"HTTP {resp.status_code} {body.strip()}"


def body_of(resp: requests.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        raise CheckFailed(
            f"{resp.request.method} {resp.url}: response is not JSON: {describe(resp)}"
        ) from None
    if not isinstance(data, dict):
        raise CheckFailed(f"{resp.request.method} {resp.url}: JSON body is not an object")
    return data


def expect_status(resp: requests.Response, status: int, what: str = "") -> dict[str, Any]:
    """Require `status` and a JSON object body (empty bodies give {})."""
    label = what or f"{resp.request.method} {urllib.parse.urlsplit(resp.url).path}"
    if resp.status_code != status:
        raise CheckFailed(f"{label}: expected HTTP {status}, got {describe(resp)}")
    if not resp.content:
        return {}
    return body_of(resp)


def expect_error(
    resp: requests.Response, code: str, status: int | None = None, what: str = ""
) -> dict[str, Any]:
    """Require the catalogue error `code` with its catalogue status (or `status`)."""
    expected_status = status if status is not None else CATALOGUE[code].status
    label = what or f"{resp.request.method} {urllib.parse.urlsplit(resp.url).path}"
    error = None
    try:
        data = resp.json()
        if isinstance(data, dict):
            error = data.get("error")
    except ValueError:
        data = None
    if resp.status_code != expected_status or error != code:
        raise CheckFailed(f"{label}: expected HTTP {expected_status} {code}, got {describe(resp)}")
    assert isinstance(data, dict)
    return data


def expect_refused(resp: requests.Response, what: str = "") -> None:
    """Any 4xx answer with an `error` member; 2xx means accepted, 5xx means crashed."""
    label = what or f"{resp.request.method} {urllib.parse.urlsplit(resp.url).path}"
    if not 400 <= resp.status_code < 500:
        raise CheckFailed(f"{label}: expected a 4xx refusal, got {describe(resp)}")


def expect_device_error(
    action: Callable[[], object], code: str, what: str, status: int | None = None
) -> ServerError:
    """Run a simulator step that must end in the catalogue error `code` (its exact status)."""
    expected_status = status if status is not None else CATALOGUE[code].status
    try:
        action()
    except ServerError as exc:
        if exc.code != code or exc.status != expected_status:
            raise CheckFailed(
                f"{what}: expected HTTP {expected_status} {code}, got "
                f"HTTP {exc.status} {exc.code} {exc.description}"
            ) from None
        return exc
    raise CheckFailed(f"{what}: accepted, expected HTTP {expected_status} {code}")
