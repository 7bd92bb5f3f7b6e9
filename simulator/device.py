"""The simulated mobile app and its SDK (spec chapters 1-9).

A `Device` keeps its state like a phone: keys in the `Keystore` (secure hardware, never copied),
everything else in `AppStorage` (a plain record an attacker can copy). This module holds the
user flows (`register_app`, `enroll`, `login`, `refresh`, `call_api`, `logout`), which raise
`ServerError` on any non-2xx answer. The layers underneath give the conformance suite its
negative tests: the signed messages with `**overrides` (`simulator.messages`, the value `REMOVE`
deletes a member) and the raw requests returning `HttpResponse` (`simulator.server_client`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import b64u_encode, public_jwk
from simulator import pin_camouflage, pin_policy, qr
from simulator.device_state import CLIENT_KEY, DPOP_KEY
from simulator.errors import (
    DeviceStateError,
    InvalidQrCode,
    PinMismatch,
    PinPolicyViolation,
    ServerError,
)
from simulator.jws_builder import DEFAULT, REMOVE, compose_jws
from simulator.responses import ApiResponse, TokenSet
from simulator.screens import Screen
from simulator.server_client import ServerClient, error_from_response
from simulator.transport import HttpResponse

# Names other code imports from here since before the split into layers.
__all__ = [
    "DEFAULT",
    "REMOVE",
    "ApiResponse",
    "Device",
    "TokenSet",
    "compose_jws",
    "error_from_response",
]

AUTHENTICATOR_ASSERTION_GRANT: Final = "urn:mia:params:oauth:grant-type:authenticator-assertion"
REFRESH_TOKEN_GRANT: Final = "refresh_token"  # noqa: S105 - a grant type name


class Device(ServerClient):
    """One installation of the bank app on one phone, and what its user does with it.

    `rooted`, `emulator`, `os_version` and `app` (e.g. `AppBuild.tampered()`) are the switches
    that change what the platform attests. `clock` and `random_bytes` are injectable.
    """

    # -- registration (spec §2) --------------------------------------------------------

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

    # -- enrollment (spec §4) ----------------------------------------------------------

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
        (salt + masked) and the authenticator_id stay on the device (spec §5.1).
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

    # -- login and tokens (spec §5) ----------------------------------------------------

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
        self._require_enrollment()
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
        """Call the protected API with the DPoP-bound access token (spec §9)."""
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
