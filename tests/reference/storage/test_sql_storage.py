"""The storage interface on SQLite and PostgreSQL: single use, atomic counters, rotation."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.records import (
    AuthenticatorRecord,
    EnrollmentRecord,
    RefreshFamily,
    RefreshTokenRecord,
    SigningKeyRecord,
)
from reference.storage import SqlStorage

NOW = 1_800_000_000


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = SqlStorage(database_url)
    yield store
    store.dispose()


def _authenticator(authenticator_id: str) -> AuthenticatorRecord:
    return AuthenticatorRecord(
        authenticator_id=authenticator_id,
        client_id="client-1",
        user_id="alice",
        kind="pin",
        public_jwk={"kty": "EC", "crv": "P-256", "x": "x", "y": "y"},
        created_at=NOW,
    )


def _enrollment(enrollment_id: str) -> EnrollmentRecord:
    return EnrollmentRecord(
        enrollment_id=enrollment_id,
        relying_party="rp",
        user_id="alice",
        display_name="Alice",
        code_hash=f"code-{enrollment_id}",
        created_at=NOW,
        expires_at=NOW + 300,
    )


def test_nonce_uses_are_counted(storage: SqlStorage) -> None:
    storage.put_nonce("login", "h1", "client-1", NOW + 60)
    first, second = storage.use_nonce("login", "h1"), storage.use_nonce("login", "h1")
    assert first is not None and first.uses == 1 and first.owner == "client-1"
    assert second is not None and second.uses == 2
    assert storage.use_nonce("registration", "h1") is None  # purposes do not mix
    assert storage.use_nonce("login", "unknown") is None


def test_jti_is_remembered_until_it_expires(storage: SqlStorage) -> None:
    assert storage.remember_jti("dpop:k", "j1", NOW + 10, NOW)
    assert not storage.remember_jti("dpop:k", "j1", NOW + 10, NOW + 5)
    assert storage.remember_jti("dpop:other", "j1", NOW + 10, NOW)
    assert storage.remember_jti("dpop:k", "j1", NOW + 30, NOW + 11)  # expired entry replaced


def test_parallel_jti_is_accepted_once(storage: SqlStorage) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(lambda _: storage.remember_jti("s", "same", NOW + 60, NOW), range(32))
        )
    assert results.count(True) == 1


def test_parallel_pin_failures_never_exceed_the_limit(storage: SqlStorage) -> None:
    storage.add_enrollment(_enrollment("e1"))
    storage.claim_enrollment_code("code-e1", "client-1", "session-1")
    assert storage.finish_enrollment("e1", _authenticator("a1"), NOW, single_use=True)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: storage.record_pin_failure("a1", 5, NOW), range(50)))
    counted = [failures for failures, _ in results if failures > 0]
    assert sorted(counted) == [1, 2, 3, 4, 5]
    assert [locked for _, locked in results].count(True) == 1
    authenticator = storage.get_authenticator("a1")
    assert authenticator is not None and authenticator.status == "locked"


def test_enrollment_code_is_claimed_once_and_finished_once(storage: SqlStorage) -> None:
    storage.add_enrollment(_enrollment("e2"))
    first = storage.claim_enrollment_code("code-e2", "client-1", "session-a")
    second = storage.claim_enrollment_code("code-e2", "client-2", "session-b")
    assert first is not None and first.code_uses == 1
    assert second is not None and second.code_uses == 2
    bound = storage.get_enrollment_by_session("session-a")
    assert bound is not None and bound.client_id == "client-1" and bound.status == "scanned"
    assert storage.get_enrollment_by_session("session-b") is None
    assert storage.finish_enrollment("e2", _authenticator("a2"), NOW, single_use=True)
    assert not storage.finish_enrollment("e2", _authenticator("a3"), NOW, single_use=True)
    assert storage.get_authenticator("a3") is None


def test_parallel_refresh_rotation_happens_once(storage: SqlStorage) -> None:
    family = RefreshFamily(
        family_id="f1",
        client_id="c",
        user_id="alice",
        authenticator_id="a",
        jkt="k",
        scope="openid",
        resource="r",
        amr=("pin",),
        auth_time=NOW,
        created_at=NOW,
        expires_at=NOW + 1000,
    )
    storage.add_refresh_family(family, RefreshTokenRecord("t0", "f1", NOW, NOW + 100))

    def rotate(index: int) -> bool:
        successor = RefreshTokenRecord(f"t1-{index}", "f1", NOW, NOW + 100)
        return storage.rotate_refresh_token("t0", successor, NOW, single_use=True)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(rotate, range(20)))
    assert results.count(True) == 1
    found = storage.get_refresh_token("t0")
    assert found is not None and found[0].used_at == NOW

    storage.revoke_refresh_family("f1", NOW + 1)
    found = storage.get_refresh_token("t0")
    assert found is not None and found[1].revoked_at == NOW + 1


def test_data_survives_reopening(database_url: str) -> None:
    """Schema creation at start is idempotent and keeps what was committed."""
    first = SqlStorage(database_url)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    first.add_signing_key(SigningKeyRecord("kid-persist", pem, NOW))
    first.dispose()
    again = SqlStorage(database_url)
    assert "kid-persist" in [key.kid for key in again.list_signing_keys()]
    again.dispose()


def test_sweep_drops_only_what_can_no_longer_be_used(storage: SqlStorage) -> None:
    def family(family_id: str, expires_at: int) -> RefreshFamily:
        return RefreshFamily(
            family_id=family_id, client_id="c", user_id="u", authenticator_id="a", jkt="k",
            scope="openid", resource="r", amr=("pin",), auth_time=NOW, created_at=NOW,
            expires_at=expires_at,
        )  # fmt: skip

    storage.add_refresh_family(
        family("old", NOW + 10), RefreshTokenRecord("t-old", "old", NOW, NOW + 5)
    )
    storage.add_refresh_family(
        family("live", NOW + 99), RefreshTokenRecord("t-live", "live", NOW, NOW + 5)
    )
    storage.revoke_access_token("jti-old", NOW + 10)
    storage.revoke_access_token("jti-live", NOW + 99)
    storage.sweep(NOW + 50)
    assert storage.get_refresh_token("t-old") is None
    assert storage.get_refresh_token("t-live") is not None
    assert not storage.is_access_token_revoked("jti-old")
    assert storage.is_access_token_revoked("jti-live")


def test_revoking_an_access_token_twice_is_not_an_error(storage: SqlStorage) -> None:
    storage.revoke_access_token("jti-twice", NOW + 10)
    storage.revoke_access_token("jti-twice", NOW + 10)
    assert storage.is_access_token_revoked("jti-twice")
