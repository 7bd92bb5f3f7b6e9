"""The relying-party backend (client_secret_basic, RFC 6749 §2.3.1) as the suite drives it."""

from __future__ import annotations

import base64
import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any

import requests

from conformance.expectations import (
    expect_status,
)
from conformance.results import CheckFailed
from reference.core.jose import b64u_decode as b64u_decode
from reference.core.jose import b64u_encode as b64u_encode
from reference.core.jose import jwk_thumbprint as jwk_thumbprint
from reference.core.jose import public_jwk as public_jwk


class RelyingParty:
    """The relying-party backend (client_secret_basic, RFC 6749 §2.3.1)."""

    def __init__(
        self,
        *,
        http: requests.Session,
        issuer: str,
        metadata: Mapping[str, Any],
        client_id: str,
        client_secret: str,
        timeout: float = 10.0,
    ) -> None:
        self.http = http
        self.issuer = issuer
        self.metadata = metadata
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout

    def basic(self, secret: str | None = None) -> dict[str, str]:
        user = urllib.parse.quote(self.client_id, safe="")
        password = urllib.parse.quote(self.client_secret if secret is None else secret, safe="")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    @property
    def enrollments_url(self) -> str:
        value = self.metadata.get("mia_enrollment_creation_endpoint")
        return value if isinstance(value, str) else self.issuer + "/rp/enrollments"

    def create_enrollment_response(
        self, user_id: str, display_name: str = "Conformance User", *, secret: str | None = None
    ) -> requests.Response:
        return self.http.post(
            self.enrollments_url,
            headers=self.basic(secret),
            timeout=self.timeout,
            json={"user_id": user_id, "display_name": display_name},
        )

    def create_enrollment(
        self, user_id: str | None = None, display_name: str = "Conformance User"
    ) -> dict[str, Any]:
        user = user_id or f"conformance-{secrets.token_hex(6)}"
        data = expect_status(
            self.create_enrollment_response(user, display_name), 201, "POST /rp/enrollments"
        )
        for member in ("enrollment_id", "enrollment_uri", "status_url"):
            if not isinstance(data.get(member), str):
                raise CheckFailed(f"POST /rp/enrollments: no {member} in the answer")
        data.setdefault("user_id", user)
        return data

    def status(self, status_url: str) -> requests.Response:
        return self.http.get(status_url, headers=self.basic(), timeout=self.timeout)

    def introspect(self, token: str, hint: str | None = None) -> requests.Response:
        form = {"token": token}
        if hint:
            form["token_type_hint"] = hint
        url = self.metadata.get("introspection_endpoint") or self.issuer + "/introspect"
        return self.http.post(str(url), data=form, headers=self.basic(), timeout=self.timeout)

    def revoke(self, token: str, hint: str | None = None) -> requests.Response:
        form = {"token": token}
        if hint:
            form["token_type_hint"] = hint
        url = self.metadata.get("revocation_endpoint") or self.issuer + "/revoke"
        return self.http.post(str(url), data=form, headers=self.basic(), timeout=self.timeout)


def enrollment_code(enrollment_uri: str) -> str:
    """The `code` of a `mia://enroll?issuer=...&code=...` URI."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(enrollment_uri).query)
    codes = query.get("code")
    if not codes:
        raise CheckFailed(f"enrollment URI without code: {enrollment_uri!r}")
    return codes[0]
