"""The simulated mobile app and its SDK (harness-v1 "simulator/", protocol-v1 §§1-8).

A `Device` keeps its state like a phone: keys in the `Keystore` (secure hardware, never copied),
everything else in `AppStorage` (a plain record an attacker can copy). High-level flows
(`register_app`, `enroll`, `login`, `refresh`, `call_api`, `logout`) raise `ServerError` on any
non-2xx answer. The low-level builders (`client_assertion`, `dpop_proof`,
`authenticator_assertion`, `attestation`) take `**overrides` that change exactly one header member
or claim (the value `REMOVE` deletes it), and `token_request` / `post_json` / `post_form` /
`api_request` return the raw `HttpResponse`, so the conformance suite can build negative tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import b64u_decode, b64u_encode, es256_sign, public_jwk
from simulator import pin_camouflage, pin_policy, qr
from simulator.errors import (
    DeviceStateError,
    InvalidQrCode,
    PinMismatch,
    PinPolicyViolation,
    ServerError,
)
from simulator.keystore import Keystore
from simulator.platform import AppBuild, PlatformCA, verdict_for
from simulator.screens import Screen
from simulator.storage import AppStorage
from simulator.transport import HttpResponse, HttpTransport, Transport

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTHENTICATOR_ASSERTION_GRANT: Final = "urn:mia:params:oauth:grant-type:authenticator-assertion"
REFRESH_TOKEN_GRANT: Final = "refresh_token"  # noqa: S105 - a grant type name

TYP_CLIENT_AUTH: Final = "client-authentication+jwt"
TYP_AUTHENTICATOR_ASSERTION: Final = "authenticator-assertion+jwt"
TYP_DPOP: Final = "dpop+jwt"

CLIENT_KEY: Final = "client"
DPOP_KEY: Final = "dpop"

#: Lifetime the app gives its client assertions (protocol-v1 §3: exp - iat <= 300).
CLIENT_ASSERTION_LIFETIME: Final = 60

#: Default endpoint paths (protocol-v1 §1), used only if discovery omits a member.
DEFAULT_ENDPOINTS: Final[dict[str, str]] = {
    "jwks_uri": "/jwks.json",
    "token_endpoint": "/token",
    "introspection_endpoint": "/introspect",
    "revocation_endpoint": "/revoke",
    "registration_endpoint": "/register",
    "mia_registration_nonce_endpoint": "/register/nonce",
    "mia_enrollment_begin_endpoint": "/enroll/begin",
    "mia_enrollment_complete_endpoint": "/enroll/complete",
    "mia_challenge_endpoint": "/login/challenge",
    "mia_enrollment_creation_endpoint": "/rp/enrollments",
}

#: JOSE header member names: an override with one of these names changes the header.
HEADER_MEMBERS: Final = frozenset(
    {"alg", "typ", "kid", "jwk", "x5c", "x5u", "jku", "x5t", "crit", "cty", "b64", "zip", "enc"}
)


class _Sentinel(Enum):
    REMOVE = "REMOVE"
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return self.value


#: Override value that deletes a header member, claim or form/JSON member.
REMOVE: Final = _Sentinel.REMOVE
#: "Do what the app normally does" (e.g. a fresh DPoP proof in `token_request`).
DEFAULT: Final = _Sentinel.DEFAULT

_WWW_AUTH_ERROR = re.compile(r'error="([^"]*)"')
_WWW_AUTH_DESCRIPTION = re.compile(r'error_description="([^"]*)"')


@dataclass(frozen=True)
class TokenSet:
    """What `/token` answered (protocol-v1 §5)."""

    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str | None
    token_type: str = "DPoP"  # noqa: S105 - a token type name
    issued_at: float = 0.0

    @classmethod
    def from_response(cls, body: Mapping[str, Any], *, now: float) -> TokenSet:
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_in=int(body.get("expires_in", 0)),
            scope=body.get("scope"),
            token_type=str(body.get("token_type", "DPoP")),
            issued_at=now,
        )

    def expired(self, now: float) -> bool:
        return now >= self.issued_at + self.expires_in


@dataclass(frozen=True)
class ApiResponse:
    """An answer of the protected API (protocol-v1 §8)."""

    status: int
    json: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def _apply(target: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for name, value in overrides.items():
        if value is REMOVE:
            target.pop(name, None)
        else:
            target[name] = value
    return target


def _drop_removed(target: dict[str, Any]) -> None:
    for name in [name for name, value in target.items() if value is REMOVE]:
        del target[name]


def _split_overrides(
    overrides: Mapping[str, Any],
    header: Mapping[str, Any] | None,
    claims: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    header_changes: dict[str, Any] = dict(header or {})
    claim_changes: dict[str, Any] = dict(claims or {})
    for name, value in overrides.items():
        if name in HEADER_MEMBERS:
            header_changes[name] = value
        else:
            claim_changes[name] = value
    return header_changes, claim_changes


def _segment(data: Mapping[str, Any]) -> str:
    return b64u_encode(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def compose_jws(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    sign: Callable[[bytes], bytes],
    *,
    signature: bytes | None = None,
) -> str:
    """Compact JWS from header and claims; `sign` gets the signing input (raw r||s back).

    `signature` replaces the real signature (e.g. `b""` or 64 zero bytes for negative tests).
    """
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    raw = sign(signing_input.encode("ascii")) if signature is None else signature
    return f"{signing_input}.{b64u_encode(raw)}"


def error_from_response(response: HttpResponse) -> ServerError:
    """Turn a non-2xx answer into a `ServerError` (body `error`, else `WWW-Authenticate`)."""
    body = response.json_or_none()
    code: str | None = None
    description: str | None = None
    extra: dict[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        description = body.get("error_description")
        extra = {k: v for k, v in body.items() if k not in ("error", "error_description")}
    if code is None:
        challenge = response.headers.get("WWW-Authenticate", "")
        match = _WWW_AUTH_ERROR.search(challenge)
        if match:
            code = match.group(1)
            found = _WWW_AUTH_DESCRIPTION.search(challenge)
            description = found.group(1) if found else None
    if code is None:
        if response.status >= 500:
            code = "server_error"
        elif response.status == 404:
            code = "not_found"
        elif response.status == 429:
            code = "rate_limited"
        elif response.status == 401:
            code = (
                "invalid_token"
                if "DPoP" in response.headers.get("WWW-Authenticate", "")
                else "invalid_client"
            )
        else:
            code = "invalid_request"
        description = description or response.text[:200] or f"HTTP {response.status}"
    return ServerError(code, response.status, description, extra)


class Device:
    """One installation of the bank app on one phone.

    `rooted`, `emulator`, `os_version` and `app` (e.g. `AppBuild.tampered()`) are the switches
    that change what the platform attests. `clock` and `random_bytes` are injectable.
    """

    def __init__(
        self,
        issuer: str,
        platform_ca: PlatformCA,
        app: AppBuild | None = None,
        *,
        os_name: str = "android",
        os_version: str = "14",
        rooted: bool = False,
        emulator: bool = False,
        transport: Transport | None = None,
        storage: AppStorage | None = None,
        keystore: Keystore | None = None,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.platform_ca = platform_ca
        self.app = app or AppBuild.genuine()
        self.os_name = os_name
        self.os_version = os_version
        self.rooted = rooted
        self.emulator = emulator
        self.transport: Transport = transport or HttpTransport()
        self.storage = storage if storage is not None else AppStorage(issuer=self.issuer)
        if self.storage.issuer is None:
            self.storage.issuer = self.issuer
        self.keystore = keystore if keystore is not None else Keystore()
        self.clock = clock
        self.random_bytes = random_bytes
        self.tokens: TokenSet | None = None
        self.user_display_name: str | None = self.storage.display_name
        self.pin_policy: dict[str, Any] | None = None
        self._metadata: dict[str, Any] | None = None
        self.screen: Screen = Screen.WELCOME
        self.screen_history: list[Screen] = [Screen.WELCOME]
        self.last_response: HttpResponse | None = None
        self.on_step: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return (
            f"Device(issuer={self.issuer!r}, app={self.app!r}, os={self.os_name} "
            f"{self.os_version}, rooted={self.rooted}, emulator={self.emulator}, "
            f"client_id={self.client_id!r})"
        )

    # -- small helpers ------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _jti(self) -> str:
        return b64u_encode(self.random_bytes(16))

    def _show(self, screen: Screen) -> None:
        self.screen = screen
        self.screen_history.append(screen)

    def _step(self, text: str) -> None:
        if self.on_step is not None:
            self.on_step(text)

    def _fail(self, error: ServerError) -> ServerError:
        self._show(error.screen)
        return error

    def _check(self, response: HttpResponse) -> Any:
        """JSON body of a 2xx answer, or raise `ServerError` (and show its screen)."""
        if not response.ok:
            raise self._fail(error_from_response(response))
        return response.json_or_none() if response.body else None

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.issuer + ("" if path_or_url.startswith("/") else "/") + path_or_url

    @staticmethod
    def htu(url: str) -> str:
        """RFC 9449 §4.2: the target URI without query and fragment."""
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    @property
    def client_id(self) -> str | None:
        return self.storage.client_id

    @property
    def authenticator_id(self) -> str | None:
        return self.storage.authenticator_id

    @property
    def verdict(self) -> list[str]:
        return verdict_for(rooted=self.rooted, emulator=self.emulator)

    def _require_client(self) -> str:
        if self.storage.client_id is None or CLIENT_KEY not in self.keystore:
            raise DeviceStateError("the app is not registered: call register_app() first")
        return self.storage.client_id

    # -- discovery (protocol-v1 §1) -----------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """Authorization-server metadata, fetched once (RFC 8414)."""
        if self._metadata is None:
            self._metadata = self.discover()
        return self._metadata

    def discover(self) -> dict[str, Any]:
        self._step(f"Reading the server configuration from {self.issuer}")
        response = self.transport.request(
            "GET", self.url("/.well-known/oauth-authorization-server")
        )
        self.last_response = response
        body = self._check(response)
        if not isinstance(body, dict):
            raise self._fail(ServerError("server_error", response.status, "metadata not JSON"))
        self._metadata = body
        policy = body.get("mia_pin_policy")
        if isinstance(policy, dict):
            self.pin_policy = policy
        return body

    def endpoint(self, name: str) -> str:
        value = self.metadata.get(name)
        if isinstance(value, str) and value:
            return value
        return self.url(DEFAULT_ENDPOINTS[name])

    # -- raw requests (return HttpResponse, never raise on status) ----------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        response = self.transport.request(method, url, headers=headers, data=data, json=json_body)
        self.last_response = response
        return response

    def _client_auth_members(self) -> dict[str, Any]:
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
        }

    def _auto_client_auth(self, url: str) -> bool:
        if self.storage.client_id is None or CLIENT_KEY not in self.keystore:
            return False
        unauthenticated = {
            self.htu(self.endpoint("registration_endpoint")),
            self.htu(self.endpoint("mia_registration_nonce_endpoint")),
        }
        return self.htu(url) not in unauthenticated

    def post_json(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        client_auth: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST JSON to `path` (or a full URL); adds client authentication (§3) unless the body
        already has it, `client_auth=False`, or it is a registration endpoint. Members whose value
        is `REMOVE` are deleted after the defaults are added."""
        url = self.url(path)
        payload: dict[str, Any] = {}
        if client_auth if client_auth is not None else self._auto_client_auth(url):
            payload.update(self._client_auth_members())
        payload.update(body or {})
        _drop_removed(payload)
        return self._request("POST", url, headers=headers, json_body=payload)

    def post_form(
        self,
        path: str,
        form: Mapping[str, Any] | None = None,
        *,
        client_auth: bool = True,
        dpop: str | _Sentinel | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST a form to `path` (or a full URL) with client authentication and optional DPoP.
        `dpop=DEFAULT` makes a fresh proof; a string is sent as is; None sends none."""
        url = self.url(path)
        fields: dict[str, Any] = {}
        if client_auth:
            fields.update(self._client_auth_members())
        fields.update(form or {})
        _drop_removed(fields)
        all_headers = dict(headers or {})
        if dpop is DEFAULT:
            all_headers["DPoP"] = self.dpop_proof("POST", url)
        elif isinstance(dpop, str):
            all_headers["DPoP"] = dpop
        return self._request(
            "POST", url, headers=all_headers, data={k: str(v) for k, v in fields.items()}
        )

    def token_request(
        self,
        form: Mapping[str, Any],
        *,
        dpop: str | _Sentinel | None = DEFAULT,
        client_auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Raw POST to the token endpoint (§5): client auth added unless present or removed
        (`"client_assertion": REMOVE`), a fresh DPoP proof unless `dpop` is given (None: no
        header)."""
        return self.post_form(
            self.endpoint("token_endpoint"),
            form,
            client_auth=client_auth,
            dpop=dpop,
            headers=headers,
        )

    def api_request(
        self,
        path: str,
        *,
        method: str = "GET",
        access_token: str | _Sentinel | None = DEFAULT,
        dpop: str | _Sentinel | None = DEFAULT,
        authorization: str | _Sentinel | None = DEFAULT,
        json_body: Any = None,
    ) -> HttpResponse:
        """Raw call of the protected API (§8) with `Authorization: DPoP <at>` and a proof with
        `ath`; each part can be replaced or left out (None)."""
        url = self.url(path)
        token: str | None
        if access_token is DEFAULT:
            token = self.tokens.access_token if self.tokens else None
        else:
            token = access_token if isinstance(access_token, str) else None
        headers: dict[str, str] = {}
        if authorization is DEFAULT:
            if token is not None:
                headers["Authorization"] = f"DPoP {token}"
        elif isinstance(authorization, str):
            headers["Authorization"] = authorization
        if dpop is DEFAULT:
            if token is not None:
                headers["DPoP"] = self.dpop_proof(method, url, access_token=token)
        elif isinstance(dpop, str):
            headers["DPoP"] = dpop
        return self._request(method, url, headers=headers, json_body=json_body)

    # -- low-level builders -------------------------------------------------------------------

    def client_assertion(
        self,
        *,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
        signature: bytes | None = None,
        **overrides: Any,
    ) -> str:
        """RFC 7523 client assertion (protocol-v1 §3), signed by the keystore `client` key.

        Overrides named like a JOSE header member (`alg`, `typ`, `kid`, ...) change the header;
        all others change claims; `REMOVE` deletes. `header=`/`claims=` dicts do the same
        explicitly; `sign_with` signs with another key; `signature` replaces the signature bytes.
        """
        client_id = self._require_client()
        now = self._now()
        head: dict[str, Any] = {"alg": "ES256", "typ": TYP_CLIENT_AUTH}
        body: dict[str, Any] = {
            "iss": client_id,
            "sub": client_id,
            "aud": self.issuer,
            "jti": self._jti(),
            "iat": now,
            "exp": now + CLIENT_ASSERTION_LIFETIME,
        }
        header_changes, claim_changes = _split_overrides(overrides, header, claims)
        return compose_jws(
            _apply(head, header_changes),
            _apply(body, claim_changes),
            self._signer(CLIENT_KEY, sign_with),
            signature=signature,
        )

    def dpop_proof(
        self,
        method: str,
        url: str,
        access_token: str | None = None,
        *,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
        signature: bytes | None = None,
        **overrides: Any,
    ) -> str:
        """RFC 9449 DPoP proof (protocol-v1 §6) by the keystore `dpop` key; `ath` when an access
        token is given. Overrides as in `client_assertion` (e.g. `htm="GET"`, `jwk=...`)."""
        if DPOP_KEY not in self.keystore:
            self.keystore.generate(DPOP_KEY)
        target = self.url(url)
        head: dict[str, Any] = {
            "typ": TYP_DPOP,
            "alg": "ES256",
            "jwk": self.keystore.public_jwk(DPOP_KEY),
        }
        body: dict[str, Any] = {
            "jti": self._jti(),
            "htm": method.upper(),
            "htu": self.htu(target),
            "iat": self._now(),
        }
        if access_token is not None:
            body["ath"] = b64u_encode(hashlib.sha256(access_token.encode("ascii")).digest())
        header_changes, claim_changes = _split_overrides(overrides, header, claims)
        return compose_jws(
            _apply(head, header_changes),
            _apply(body, claim_changes),
            self._signer(DPOP_KEY, sign_with),
            signature=signature,
        )

    def authenticator_assertion(
        self,
        challenge: str,
        pin: str,
        *,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
        signature: bytes | None = None,
        **overrides: Any,
    ) -> str:
        """Authenticator assertion (protocol-v1 §5) signed by the key the PIN unlocks from the
        camouflaged storage. A wrong PIN gives a valid-looking but wrong signature.
        To change the `challenge` claim itself use `claims={"challenge": ...}`."""
        client_id = self._require_client()
        if not self.storage.enrolled:
            raise DeviceStateError("no authenticator enrolled: call enroll() first")
        assert self.storage.pin_salt is not None and self.storage.pin_masked_key is not None
        head: dict[str, Any] = {
            "alg": "ES256",
            "typ": TYP_AUTHENTICATOR_ASSERTION,
            "kid": self.storage.authenticator_id,
        }
        body: dict[str, Any] = {
            "iss": client_id,
            "aud": self.issuer,
            "challenge": challenge,
            "iat": self._now(),
            "amr": ["pin"],
        }
        key = sign_with
        if key is None and signature is None:
            key = pin_camouflage.recover(
                b64u_decode(self.storage.pin_salt), b64u_decode(self.storage.pin_masked_key), pin
            )
        header_changes, claim_changes = _split_overrides(overrides, header, claims)

        def sign(data: bytes) -> bytes:
            assert key is not None
            return es256_sign(data, key)

        return compose_jws(
            _apply(head, header_changes), _apply(body, claim_changes), sign, signature=signature
        )

    def attestation(
        self,
        nonce: str,
        *,
        attested_jwk: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
        signature: bytes | None = None,
        **overrides: Any,
    ) -> str:
        """Platform attestation (protocol-v1 §2) for this device's switches over `nonce`, for
        the keystore `client` key (created if missing). Overrides as in `client_assertion`;
        the `nonce` claim itself is changed with `claims={"nonce": ...}`."""
        if attested_jwk is None:
            if CLIENT_KEY not in self.keystore:
                self.keystore.generate(CLIENT_KEY)
            attested_jwk = self.keystore.public_jwk(CLIENT_KEY)
        head = self.platform_ca.attestation_header()
        body = self.platform_ca.attestation_claims(
            nonce,
            self.app,
            self.os_name,
            self.os_version,
            self.verdict,
            dict(attested_jwk),
            now=self._now(),
        )
        header_changes, claim_changes = _split_overrides(overrides, header, claims)
        _apply(head, header_changes)
        _apply(body, claim_changes)
        if sign_with is not None or signature is not None:
            signer = self._signer(CLIENT_KEY, sign_with)
            return compose_jws(head, body, signer, signature=signature)
        return self.platform_ca.sign(head, body)

    def _signer(
        self, alias: str, key: ec.EllipticCurvePrivateKey | None
    ) -> Callable[[bytes], bytes]:
        if key is not None:
            chosen = key
            return lambda data: es256_sign(data, chosen)
        return lambda data: self.keystore.sign(alias, data)

    # -- registration (protocol-v1 §2) --------------------------------------------------------

    def request_registration_nonce(self) -> str:
        response = self._request("POST", self.endpoint("mia_registration_nonce_endpoint"))
        body = self._check(response)
        return str(body["nonce"])

    def register_app(self) -> str:
        """Register this installation: nonce, keystore key, platform attestation. -> client_id."""
        self._show(Screen.REGISTER_APP)
        self._step("Asking the server for a registration nonce")
        nonce = self.request_registration_nonce()
        self._step("Creating the app key in the phone's secure hardware")
        # A failed attempt must not destroy the key of an earlier, successful registration.
        pending = f"{CLIENT_KEY}.pending"
        attested_jwk = self.keystore.generate(pending)
        self._step(
            f"Asking the platform to attest {self.app.app_id} {self.app.version} on "
            f"{self.os_name} {self.os_version} (verdict {self.verdict or 'none'})"
        )
        attestation = self.attestation(nonce, attested_jwk=attested_jwk)
        self._step("Registering the app with the server")
        response = self._request(
            "POST", self.endpoint("registration_endpoint"), json_body={"attestation": attestation}
        )
        try:
            body = self._check(response)
        finally:
            if not response.ok:
                self.keystore.delete(pending)
        self.keystore.rename(pending, CLIENT_KEY)
        self.keystore.generate(DPOP_KEY)
        self.storage.forget_enrollment()
        self.storage.issuer = self.issuer
        self.storage.client_id = str(body["client_id"])
        self.tokens = None
        self._step(f"Registered as client {self.storage.client_id}")
        self._show(Screen.SCAN_QR)
        return self.storage.client_id

    # -- enrollment (protocol-v1 §4) ----------------------------------------------------------

    def read_qr(self, qr_input: bytes | str | os.PathLike[str]) -> tuple[str, str]:
        """Scan: PNG bytes, a path to an image, or the `mia://enroll?...` text -> (issuer, code)."""
        try:
            if isinstance(qr_input, bytes | bytearray):
                text = qr.decode(bytes(qr_input))
            elif isinstance(qr_input, str) and qr_input.strip().startswith("mia:"):
                text = qr_input
            else:
                text = qr.decode_file(Path(qr_input))
            issuer, code = qr.parse_enrollment_uri(text)
        except (qr.QrError, OSError) as exc:
            self._show(Screen.ERROR_INVALID_QR)
            raise InvalidQrCode(str(exc)) from exc
        if issuer.rstrip("/") != self.issuer:
            self._show(Screen.ERROR_INVALID_QR)
            raise InvalidQrCode(f"the QR code is for {issuer}, not for {self.issuer}")
        return issuer, code

    def begin_enrollment(self, code: str) -> dict[str, Any]:
        """POST /enroll/begin; returns the session, user and PIN policy (raises ServerError)."""
        self._require_client()
        response = self.post_json(self.endpoint("mia_enrollment_begin_endpoint"), {"code": code})
        body = self._check(response)
        if not isinstance(body, dict):
            raise self._fail(ServerError("server_error", response.status, "answer not JSON"))
        return body

    def complete_enrollment(
        self, enrollment_session: str, pin_public_key: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST /enroll/complete with the PIN public key (raises ServerError)."""
        self._require_client()
        response = self.post_json(
            self.endpoint("mia_enrollment_complete_endpoint"),
            {"enrollment_session": enrollment_session, "pin_public_key": dict(pin_public_key)},
        )
        body = self._check(response)
        if not isinstance(body, dict):
            raise self._fail(ServerError("server_error", response.status, "answer not JSON"))
        return body

    def check_pin(self, pin: str, policy: Mapping[str, Any] | None = None) -> None:
        problems = pin_policy.check(pin, policy or self.pin_policy or pin_policy.DEFAULT_POLICY)
        if problems:
            self._show(Screen.ERROR_PIN_POLICY)
            raise PinPolicyViolation(problems)

    def enroll(
        self,
        qr: bytes | str | os.PathLike[str],
        pin: str,
        *,
        confirm_pin: str | None = None,
    ) -> str:
        """Scan the QR code, choose the PIN, register the PIN key. -> authenticator_id.

        The PIN key pair exists only in memory here; afterwards only its camouflaged scalar
        (salt + masked) and the authenticator_id stay on the device (protocol-v1 §4.4).
        """
        self._require_client()
        self._show(Screen.SCAN_QR)
        self._step("Scanning the QR code")
        _, code = self.read_qr(qr)
        if self.pin_policy is None:
            self.metadata  # noqa: B018 - discovery publishes the PIN policy
        if self.pin_policy is not None:
            # Refuse a bad PIN before the single-use code is spent.
            self.check_pin(pin, self.pin_policy)
        self._step("Starting the enrollment with the scanned code")
        begun = self.begin_enrollment(code)
        user = begun.get("user")
        display_name = user.get("display_name") if isinstance(user, dict) else None
        policy = begun.get("pin_policy")
        if isinstance(policy, dict):
            self.pin_policy = policy
        self._show(Screen.CHOOSE_PIN)
        self._step(f"Enrolling this phone for {display_name or 'the user'}; checking the PIN")
        self.check_pin(pin, self.pin_policy)
        self._show(Screen.CONFIRM_PIN)
        if confirm_pin is not None and confirm_pin != pin:
            self._show(Screen.ERROR_PIN_MISMATCH)
            raise PinMismatch()
        self._step("Creating the PIN key and sending its public key to the server")
        pin_key = ec.generate_private_key(ec.SECP256R1())
        completed = self.complete_enrollment(
            str(begun["enrollment_session"]), public_jwk(pin_key.public_key())
        )
        salt, masked = pin_camouflage.protect(
            pin_camouflage.private_scalar(pin_key), pin, random_bytes=self.random_bytes
        )
        del pin_key  # the public key is forgotten with it; only the camouflage remains
        self.storage.authenticator_id = str(completed["authenticator_id"])
        self.storage.pin_salt = b64u_encode(salt)
        self.storage.pin_masked_key = b64u_encode(masked)
        self.storage.user_id = completed.get("user_id")
        self.storage.display_name = display_name
        self.storage.refresh_token = None
        self.user_display_name = display_name
        self.tokens = None
        self._show(Screen.ENABLE_BIOMETRICS)
        self._show(Screen.ENROLLED)
        self._step(f"Enrolled: authenticator {self.storage.authenticator_id}")
        return self.storage.authenticator_id

    # -- login and tokens (protocol-v1 §5) ----------------------------------------------------

    def request_challenge(self) -> str:
        """POST /login/challenge with client authentication -> the challenge string."""
        self._require_client()
        response = self.post_json(self.endpoint("mia_challenge_endpoint"), {})
        body = self._check(response)
        return str(body["challenge"])

    def _store_tokens(self, response: HttpResponse) -> TokenSet:
        body = self._check(response)
        tokens = TokenSet.from_response(body, now=self.clock())
        self.tokens = tokens
        if tokens.refresh_token is not None:
            self.storage.refresh_token = tokens.refresh_token
        return tokens

    def login(self, pin: str, *, resource: str | None = None, scope: str | None = None) -> TokenSet:
        """PIN login: challenge, authenticator assertion, DPoP-bound token request."""
        self._require_client()
        if not self.storage.enrolled:
            raise DeviceStateError("no authenticator enrolled: call enroll() first")
        self._show(Screen.PIN_LOGIN)
        self._step("Asking the server for a login challenge")
        challenge = self.request_challenge()
        self._step("Signing the challenge with the key the PIN unlocks")
        form: dict[str, Any] = {
            "grant_type": AUTHENTICATOR_ASSERTION_GRANT,
            "assertion": self.authenticator_assertion(challenge, pin),
        }
        if resource is not None:
            form["resource"] = resource
        if scope is not None:
            form["scope"] = scope
        self._step("Exchanging the signed challenge for tokens (DPoP-bound)")
        response = self.token_request(form)
        try:
            tokens = self._store_tokens(response)
        except ServerError as error:
            if error.code == "authenticator_locked":
                # The server removed the authenticator: the PIN key is useless now.
                self.storage.forget_enrollment()
                self.tokens = None
            raise
        self._show(Screen.HOME)
        self._step(f"Logged in (access token valid {tokens.expires_in} s)")
        return tokens

    def refresh(self) -> TokenSet:
        """Rotate the refresh token (RFC 6749 §6) with a DPoP proof by the same key."""
        self._require_client()
        refresh_token = self.storage.refresh_token
        if refresh_token is None:
            raise DeviceStateError("no refresh token: log in first")
        self._step("Refreshing the tokens")
        response = self.token_request(
            {"grant_type": REFRESH_TOKEN_GRANT, "refresh_token": refresh_token}
        )
        tokens = self._store_tokens(response)
        self._step("New tokens received; the old refresh token is now spent")
        return tokens

    def call_api(self, path: str, *, method: str = "GET") -> ApiResponse:
        """Call the protected API with the DPoP-bound access token (protocol-v1 §8)."""
        if self.tokens is None:
            raise DeviceStateError("no access token: log in first")
        self._step(f"Calling {method} {path}")
        response = self.api_request(path, method=method)
        body = self._check(response)
        if path.rstrip("/").endswith("/accounts"):
            self._show(Screen.ACCOUNTS)
        return ApiResponse(response.status, body, response.headers)

    def introspect(self, token: str, token_type_hint: str | None = None) -> dict[str, Any]:
        """RFC 7662 introspection of one of this app's own tokens."""
        form: dict[str, Any] = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        response = self.post_form(self.endpoint("introspection_endpoint"), form)
        body = self._check(response)
        return body if isinstance(body, dict) else {}

    def revoke(self, token: str, token_type_hint: str | None = None) -> None:
        """RFC 7009 revocation with client authentication."""
        form: dict[str, Any] = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        self._check(self.post_form(self.endpoint("revocation_endpoint"), form))

    def logout(self) -> None:
        """Revoke the refresh token (its whole family) and forget the tokens."""
        self._require_client()
        refresh_token = self.storage.refresh_token
        if refresh_token is not None:
            self._step("Revoking the refresh token")
            self.revoke(refresh_token, "refresh_token")
        self.storage.refresh_token = None
        self.tokens = None
        self._show(Screen.LOGGED_OUT)
        self._step("Logged out")
