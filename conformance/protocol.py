"""A raw MIA protocol client for negative tests: every message can be changed in exactly one place.

The happy paths run through the simulator (`simulator.Device`), the app as it ships. Negative
checks need to alter exactly one header member, claim or byte of a message, so this module builds
every message itself with `reference.core.jose` and keeps the keys in memory:

* `Attester` plays the platform attestation CA (its root key comes from the configuration, the
  same root the server trusts), or an untrusted CA of its own.
* `Agent` is one app installation: client key, DPoP key, PIN key, client id, authenticator id.

Header and claim overrides are dicts merged over the valid message; the value `DROP` removes a
member. Every request returns the raw `requests.Response`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.results import CheckFailed
from reference.core.errors import CATALOGUE
from reference.core.jose import b64u_decode as b64u_decode
from reference.core.jose import b64u_encode as b64u_encode
from reference.core.jose import es256_sign
from reference.core.jose import jwk_thumbprint as jwk_thumbprint
from reference.core.jose import public_jwk as public_jwk
from simulator.errors import ServerError
from simulator.platform import PlatformCA

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_GRANT: Final = "urn:mia:params:oauth:grant-type:authenticator-assertion"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
Dropped = _Drop
Overrides = Mapping[str, Any]
Signer = Callable[[bytes], bytes]


def now() -> int:
    return int(time.time())


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def merge(base: dict[str, Any], overrides: Overrides | None) -> dict[str, Any]:
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def segment(data: Any) -> str:
    return b64u_encode(json.dumps(data, separators=(",", ":")).encode())


def encode_jws(
    header: dict[str, Any], claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | None
) -> str:
    """Compact JWS with exactly the given header (no `alg` added); ES256 by `key`, or unsigned."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = es256_sign(signing_input.encode("ascii"), key) if key is not None else b""
    return f"{signing_input}.{b64u_encode(signature)}"


def split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Header, claims and signature of a compact JWS, unverified."""
    head, body, sig = token.split(".")
    return json.loads(b64u_decode(head)), json.loads(b64u_decode(body)), b64u_decode(sig)


def resign_unsigned(token: str, header_overrides: Overrides) -> str:
    """The same claims under a changed header with an empty signature (alg `none` attacks)."""
    header, claims, _ = split(token)
    return f"{segment(merge(header, header_overrides))}.{segment(claims)}."


def hs256_with_secret(token: str, secret: bytes, header_overrides: Overrides | None = None) -> str:
    """Re-sign a token's claims with HS256 using `secret` (the key-confusion attack)."""
    header, claims, _ = split(token)
    signing_input = (
        f"{segment(merge(header, {'alg': 'HS256', **(header_overrides or {})}))}.{segment(claims)}"
    )
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64u_encode(mac)}"


def zero_signature(token: str) -> str:
    """The CVE-2022-21449 'psychic signature': r = s = 0."""
    head, body, _ = token.split(".")
    return f"{head}.{body}.{b64u_encode(bytes(64))}"


def flip_byte(token: str, part: int, index: int, mask: int) -> str:
    """XOR one decoded byte of part 0 (header), 1 (payload) or 2 (signature) with `mask` != 0."""
    parts = token.split(".")
    raw = bytearray(b64u_decode(parts[part]))
    raw[index % len(raw)] ^= mask & 0xFF or 1
    parts[part] = b64u_encode(bytes(raw))
    return ".".join(parts)


def public_key_pem(jwk: Mapping[str, Any]) -> bytes:
    """SubjectPublicKeyInfo PEM of an EC public JWK: the HMAC secret of the key-confusion attack."""
    x = int.from_bytes(b64u_decode(jwk["x"]), "big")
    y = int.from_bytes(b64u_decode(jwk["y"]), "big")
    key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ath(access_token: str) -> str:
    return b64u_encode(hashlib.sha256(access_token.encode("ascii")).digest())


# --- responses --------------------------------------------------------------------------------


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


# --- platform attestation ---------------------------------------------------------------------


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


# --- one app installation ---------------------------------------------------------------------


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
            body["ath"] = ath(access_token)
        return encode_jws(merge(base_header, header), merge(body, claims), signer)

    @property
    def dpop_jkt(self) -> str:
        return jwk_thumbprint(public_jwk(self.dpop_key.public_key()))

    def post_token(
        self,
        form: Mapping[str, str],
        *,
        dpop: str | _Drop | None = None,
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
        self, *, dpop: str | _Drop | None = None, extra: Mapping[str, str] | None = None
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
        proof: str | _Drop | None = None,
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


# --- relying-party backend --------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    method: str, url: str, body: bytes, headers: list[tuple[str, str]], timeout: float = 10.0
) -> RawResponse:
    """One HTTP request with exactly these header lines (repeated names stay repeated)."""
    import http.client

    parts = urllib.parse.urlsplit(url)
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(parts.netloc, timeout=timeout)
    try:
        conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""))
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return RawResponse(resp.status, resp.read())
    finally:
        conn.close()
