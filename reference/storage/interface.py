"""The one storage interface the protocol core talks to.

Each method is one transaction: a multi-step state change (rotate a refresh token, count a PIN
failure and lock at the limit, finish an enrollment) is a single method, so no backend can leave
it half done.
"""

from __future__ import annotations

from typing import Protocol

from reference.core.records import (
    AuthenticatorRecord,
    ClientRecord,
    DemoUser,
    EnrollmentRecord,
    NonceUse,
    RefreshFamily,
    RefreshTokenRecord,
    SigningKeyRecord,
)


class Storage(Protocol):
    # Single-use values: registration nonces and login challenges (stored as hashes).
    def put_nonce(self, purpose: str, value_hash: str, owner: str, expires_at: int) -> None: ...
    def use_nonce(self, purpose: str, value_hash: str) -> NonceUse | None:
        """Atomically count one use and report what was stored; None when unknown."""

    # Replay cache for JWT ids (client assertions, DPoP proofs).
    def remember_jti(self, scope: str, jti: str, expires_at: int, now: int) -> bool:
        """True the first time (scope, jti) is seen while unexpired; False on a replay."""

    def add_client(self, client: ClientRecord) -> None: ...
    def get_client(self, client_id: str) -> ClientRecord | None: ...

    def add_enrollment(self, enrollment: EnrollmentRecord) -> None: ...
    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord | None: ...
    def claim_enrollment_code(
        self, code_hash: str, client_id: str, session_hash: str
    ) -> EnrollmentRecord | None:
        """Atomically count a use of the code and bind it to the client; None when unknown."""

    def get_enrollment_by_session(self, session_hash: str) -> EnrollmentRecord | None: ...
    def finish_enrollment(
        self, enrollment_id: str, authenticator: AuthenticatorRecord, now: int, single_use: bool
    ) -> bool:
        """Mark the enrollment completed and store the authenticator, in one transaction.

        With `single_use` the enrollment must still be `scanned`; returns False otherwise."""

    def get_authenticator(self, authenticator_id: str) -> AuthenticatorRecord | None: ...
    def record_pin_failure(
        self, authenticator_id: str, limit: int | None, now: int
    ) -> tuple[int, bool]:
        """Atomically add one failure; at `limit` lock the authenticator and revoke its refresh
        token families. Returns (failures, now_locked)."""

    def reset_pin_failures(self, authenticator_id: str) -> None: ...

    def add_refresh_family(self, family: RefreshFamily, first: RefreshTokenRecord) -> None: ...
    def get_refresh_token(
        self, token_hash: str
    ) -> tuple[RefreshTokenRecord, RefreshFamily] | None: ...
    def rotate_refresh_token(
        self, old_hash: str, new: RefreshTokenRecord, now: int, single_use: bool
    ) -> bool:
        """Mark `old_hash` used and store `new` atomically; False if it was used already."""

    def revoke_refresh_family(self, family_id: str, now: int) -> None: ...

    def revoke_access_token(self, jti: str, expires_at: int) -> None: ...
    def is_access_token_revoked(self, jti: str) -> bool: ...

    def add_signing_key(self, key: SigningKeyRecord) -> None: ...
    def list_signing_keys(self) -> list[SigningKeyRecord]: ...
    def retire_signing_key(self, kid: str, now: int) -> None: ...

    def sweep(self, now: int) -> None:
        """Delete what can no longer be used (also done now and then as a side effect)."""

    def put_demo_user(self, user: DemoUser) -> None: ...
    def get_demo_user(self, username: str) -> DemoUser | None: ...
