"""The signed messages the app sends, each with overrides for negative tests.

Client assertion (spec §3.2), DPoP proof (§6), authenticator assertion (§5) and platform
attestation (§2). All four take the same overrides, described at `client_assertion`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import b64u_decode, b64u_encode, es256_sign
from simulator import pin_camouflage
from simulator.device_state import CLIENT_KEY, DPOP_KEY, DeviceState
from simulator.jws_builder import apply_overrides, build_jws, compose_jws, split_overrides

TYP_CLIENT_AUTH: Final = "client-authentication+jwt"
TYP_AUTHENTICATOR_ASSERTION: Final = "authenticator-assertion+jwt"
TYP_DPOP: Final = "dpop+jwt"

#: Lifetime the app gives its client assertions (spec §3.2: exp - iat <= 300).
CLIENT_ASSERTION_LIFETIME: Final = 60


class MessageBuilder(DeviceState):
    """Builds the app's signed messages from the device state (keystore, storage, switches)."""

    def client_assertion(
        self,
        *,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None,
        signature: bytes | None = None,
        **overrides: Any,
    ) -> str:
        """RFC 7523 client assertion (spec §3.2), signed by the keystore `client` key.

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
        sign = self._signer(CLIENT_KEY, sign_with)
        return build_jws(head, body, sign, overrides, header, claims, signature=signature)

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
        """RFC 9449 DPoP proof (spec §6) by the keystore `dpop` key; `ath` when an access
        token is given. Overrides as in `client_assertion` (e.g. `htm="GET"`, `jwk=...`)."""
        if DPOP_KEY not in self.keystore:
            self.keystore.generate(DPOP_KEY)
        body: dict[str, Any] = {
            "jti": self._jti(),
            "htm": method.upper(),
            "htu": self.htu(self.url(url)),
            "iat": self._now(),
        }
        if access_token is not None:
            body["ath"] = b64u_encode(hashlib.sha256(access_token.encode("ascii")).digest())
        head = {"typ": TYP_DPOP, "alg": "ES256", "jwk": self.keystore.public_jwk(DPOP_KEY)}
        sign = self._signer(DPOP_KEY, sign_with)
        return build_jws(head, body, sign, overrides, header, claims, signature=signature)

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
        """Authenticator assertion (spec §5) signed by the key the PIN unlocks from the
        camouflaged storage. A wrong PIN gives a valid-looking but wrong signature.
        To change the `challenge` claim itself use `claims={"challenge": ...}`."""
        client_id = self._require_client()
        self._require_enrollment()
        assert self.storage.pin_salt is not None and self.storage.pin_masked_key is not None
        key = sign_with
        if key is None and signature is None:
            key = pin_camouflage.recover(
                b64u_decode(self.storage.pin_salt), b64u_decode(self.storage.pin_masked_key), pin
            )

        def sign(data: bytes) -> bytes:
            assert key is not None
            return es256_sign(data, key)

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
        return build_jws(head, body, sign, overrides, header, claims, signature=signature)

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
        """Platform attestation (spec §2) for this device's switches over `nonce`, for
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
        to_header, to_claims = split_overrides(overrides, header, claims)
        apply_overrides(head, to_header)
        apply_overrides(body, to_claims)
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
