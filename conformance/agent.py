"""One app installation speaking the raw protocol, for negative tests.

The happy paths run through the simulator (`simulator.Device`), the app as it ships. Negative
checks need to alter exactly one header member, claim or byte of a message, so an `Agent` builds
every message itself and keeps its keys in memory: client key, DPoP key, PIN key. `Attester`
plays the platform attestation CA (the configured root the server trusts, or an untrusted one).
Every request returns the raw `requests.Response`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.expectations import (
    expect_status,
)
from conformance.jws_crafting import (
    Dropped,
    Overrides,
    encode_jws,
    merge,
    new_key,
    now,
)
from conformance.results import CheckFailed
from reference.core.dpop import access_token_hash
from reference.core.jose import b64u_decode as b64u_decode
from reference.core.jose import b64u_encode as b64u_encode
from reference.core.jose import jwk_thumbprint as jwk_thumbprint
from reference.core.jose import public_jwk as public_jwk
from simulator.platform import PlatformCA

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_GRANT: Final = "urn:mia:params:oauth:grant-type:authenticator-assertion"


class Attester:
    """Issues platform attestations (protocol §2) through the simulator's `PlatformCA`.

    `load` uses the configured CA (the root the server trusts); `untrusted` a fresh CA of its own.
    """

    def __init__(self, ca: PlatformCA) -> None:
        self.ca = ca

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> Attester:
        if not cert_path.exists() or not key_path.exists():
            return cls(PlatformCA.load_or_create(cert_path.parent))
        return cls(PlatformCA.from_files(cert_path, key_path))

    @classmethod
    def untrusted(cls) -> Attester:
        return cls(PlatformCA.create())

    def attest(self, claims: dict[str, Any], header: Overrides | None = None) -> str:
        full_header = merge(self.ca.attestation_header(), header)
        return self.ca.sign(full_header, claims)


@dataclass(frozen=True, slots=True)
class AppIdentity:
    app_id: str
    version: str
    signing_certificate_sha256: str


class Agent:
    """An app installation speaking the raw protocol; every message can be altered."""

    def __init__(
        self,
        *,
        http: requests.Session,
        issuer: str,
        metadata: Mapping[str, Any],
        attester: Attester,
        app: AppIdentity,
        timeout: float = 10.0,
    ) -> None:
        self.http = http
        self.issuer = issuer
        self.metadata = metadata
        self.attester = attester
        self.app = app
        self.timeout = timeout
        self.client_key = new_key()
        self.dpop_key = new_key()
        self.pin_key: ec.EllipticCurvePrivateKey | None = None
        self.client_id: str | None = None
        self.authenticator_id: str | None = None
        self.user_id: str | None = None

    # endpoints ------------------------------------------------------------------------------
    def endpoint(self, member: str, default_path: str) -> str:
        value = self.metadata.get(member)
        return value if isinstance(value, str) else self.issuer + default_path

    @property
    def token_url(self) -> str:
        return self.endpoint("token_endpoint", "/token")

    @property
    def challenge_url(self) -> str:
        return self.endpoint("mia_challenge_endpoint", "/login/challenge")

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.post(url, timeout=self.timeout, **kwargs)

    # registration (protocol §2) ---------------------------------------------------------------
    def nonce(self) -> str:
        resp = self.post(self.endpoint("mia_registration_nonce_endpoint", "/register/nonce"))
        data = expect_status(resp, 201, "POST /register/nonce")
        nonce = data.get("nonce")
        if not isinstance(nonce, str):
            raise CheckFailed("POST /register/nonce: no nonce in the answer")
        return nonce

    def attestation_claims(
        self,
        nonce: str,
        overrides: Overrides | None = None,
        app: Overrides | None = None,
        device: Overrides | None = None,
    ) -> dict[str, Any]:
        t = now()
        claims: dict[str, Any] = {
            "iss": "mia-simulated-platform",
            "iat": t,
            "exp": t + 300,
            "nonce": nonce,
            "app_integrity": merge(
                {
                    "app_id": self.app.app_id,
                    "app_version": self.app.version,
                    "signing_certificate_sha256": self.app.signing_certificate_sha256,
                },
                app,
            ),
            "device_integrity": merge(
                {
                    "verdict": ["MEETS_DEVICE_INTEGRITY"],
                    "os_name": "android",
                    "os_version": "14",
                },
                device,
            ),
            "attested_key": public_jwk(self.client_key.public_key()),
        }
        return merge(claims, overrides)

    def attestation(
        self,
        nonce: str,
        *,
        claims: Overrides | None = None,
        header: Overrides | None = None,
        app: Overrides | None = None,
        device: Overrides | None = None,
        attester: Attester | None = None,
    ) -> str:
        body = self.attestation_claims(nonce, claims, app, device)
        return (attester or self.attester).attest(body, header)

    def post_register(self, attestation: str) -> requests.Response:
        return self.post(
            self.endpoint("registration_endpoint", "/register"), json={"attestation": attestation}
        )

    def register(self) -> str:
        resp = self.post_register(self.attestation(self.nonce()))
        data = expect_status(resp, 201, "POST /register")
        client_id = data.get("client_id")
        if not isinstance(client_id, str):
            raise CheckFailed("POST /register: no client_id in the answer")
        self.client_id = client_id
        return client_id

    # client authentication (protocol §3) ------------------------------------------------------
    def client_assertion(
        self,
        *,
        header: Overrides | None = None,
        claims: Overrides | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        assert self.client_id is not None, "register first"
        t = now()
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "jti": secrets.token_urlsafe(24),
            "iat": t,
            "exp": t + 120,
        }
        return encode_jws(
            merge({"alg": "ES256", "typ": "client-authentication+jwt"}, header),
            merge(body, claims),
            key or self.client_key,
        )

    def client_auth(self, assertion: str | None = None) -> dict[str, str]:
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion or self.client_assertion(),
        }

    def post_challenge(self, assertion: str | None = None) -> requests.Response:
        return self.post(self.challenge_url, json=self.client_auth(assertion))

    def challenge(self) -> str:
        data = expect_status(self.post_challenge(), 201, "POST /login/challenge")
        value = data.get("challenge")
        if not isinstance(value, str):
            raise CheckFailed("POST /login/challenge: no challenge in the answer")
        return value

    # enrollment (protocol §4) -----------------------------------------------------------------
    def begin(self, code: str, assertion: str | None = None) -> requests.Response:
        return self.post(
            self.endpoint("mia_enrollment_begin_endpoint", "/enroll/begin"),
            json={**self.client_auth(assertion), "code": code},
        )

    def complete(self, session: str, pin_jwk: Mapping[str, Any] | None = None) -> requests.Response:
        if pin_jwk is None:
            self.pin_key = self.pin_key or new_key()
            pin_jwk = public_jwk(self.pin_key.public_key())
        return self.post(
            self.endpoint("mia_enrollment_complete_endpoint", "/enroll/complete"),
            json={
                **self.client_auth(),
                "enrollment_session": session,
                "pin_public_key": dict(pin_jwk),
            },
        )

    def enroll(self, code: str) -> str:
        data = expect_status(self.begin(code), 200, "POST /enroll/begin")
        session = data.get("enrollment_session")
        if not isinstance(session, str):
            raise CheckFailed("POST /enroll/begin: no enrollment_session in the answer")
        self.pin_key = new_key()
        done = expect_status(self.complete(session), 201, "POST /enroll/complete")
        authenticator_id = done.get("authenticator_id")
        if not isinstance(authenticator_id, str):
            raise CheckFailed("POST /enroll/complete: no authenticator_id in the answer")
        self.authenticator_id = authenticator_id
        self.user_id = done.get("user_id")
        return authenticator_id

    # login (protocol §5) and DPoP (§6) --------------------------------------------------------
    def auth_assertion(
        self,
        challenge: str,
        *,
        header: Overrides | None = None,
        claims: Overrides | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """The authenticator assertion; `key=new_key()` plays a wrong PIN."""
        assert self.pin_key is not None and self.authenticator_id is not None, "enroll first"
        body = {
            "iss": self.client_id,
            "aud": self.issuer,
            "challenge": challenge,
            "iat": now(),
            "amr": ["pin"],
        }
        base_header = {
            "alg": "ES256",
            "typ": "authenticator-assertion+jwt",
            "kid": self.authenticator_id,
        }
        return encode_jws(merge(base_header, header), merge(body, claims), key or self.pin_key)

    def dpop(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        header: Overrides | None = None,
        claims: Overrides | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        signer = key or self.dpop_key
        base_header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(signer.public_key())}
        body: dict[str, Any] = {
            "jti": secrets.token_urlsafe(24),
            "htm": method,
            "htu": url,
            "iat": now(),
        }
        if access_token is not None:
            body["ath"] = access_token_hash(access_token)
        return encode_jws(merge(base_header, header), merge(body, claims), signer)

    @property
    def dpop_jkt(self) -> str:
        return jwk_thumbprint(public_jwk(self.dpop_key.public_key()))

    def post_token(
        self,
        form: Mapping[str, str],
        *,
        dpop: str | Dropped | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """POST /token with a fresh valid proof unless `dpop` is given (DROP sends none)."""
        all_headers = dict(headers or {})
        if dpop is None:
            all_headers["DPoP"] = self.dpop("POST", self.token_url)
        elif isinstance(dpop, str):
            all_headers["DPoP"] = dpop
        return self.post(self.token_url, data=dict(form), headers=all_headers)

    def login_form(
        self,
        assertion: str,
        *,
        client_assertion: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        return {
            "grant_type": ASSERTION_GRANT,
            "assertion": assertion,
            **self.client_auth(client_assertion),
            **(extra or {}),
        }

    def login_response(
        self, *, dpop: str | Dropped | None = None, extra: Mapping[str, str] | None = None
    ) -> requests.Response:
        assertion = self.auth_assertion(self.challenge())
        return self.post_token(self.login_form(assertion, extra=extra), dpop=dpop)

    def login(self, *, resource: str | None = None) -> dict[str, Any]:
        extra = {"resource": resource} if resource else None
        data = expect_status(self.login_response(extra=extra), 200, "POST /token (login)")
        for member in ("access_token", "refresh_token"):
            if not isinstance(data.get(member), str):
                raise CheckFailed(f"POST /token (login): no {member} in the answer")
        return data

    def refresh_response(
        self,
        refresh_token: str,
        *,
        key: ec.EllipticCurvePrivateKey | None = None,
        dpop: str | None = None,
    ) -> requests.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **self.client_auth()}
        proof = dpop or self.dpop("POST", self.token_url, key=key)
        return self.post_token(form, dpop=proof)

    # protected API (protocol §8) --------------------------------------------------------------
    def api(
        self,
        path: str,
        access_token: str,
        *,
        proof: str | Dropped | None = None,
        scheme: str = "DPoP",
    ) -> requests.Response:
        url = self.issuer + path
        headers = {"Authorization": f"{scheme} {access_token}"}
        if proof is None:
            headers["DPoP"] = self.dpop("GET", url, access_token=access_token)
        elif isinstance(proof, str):
            headers["DPoP"] = proof
        return self.http.get(url, headers=headers, timeout=self.timeout)

    def introspect(self, token: str, hint: str | None = None) -> requests.Response:
        form = {"token": token, **self.client_auth()}
        if hint:
            form["token_type_hint"] = hint
        return self.post(self.endpoint("introspection_endpoint", "/introspect"), data=form)

    def revoke(self, token: str, hint: str | None = None) -> requests.Response:
        form = {"token": token, **self.client_auth()}
        if hint:
            form["token_type_hint"] = hint
        return self.post(self.endpoint("revocation_endpoint", "/revoke"), data=form)
