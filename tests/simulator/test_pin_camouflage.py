"""Cryptographic camouflage (spec §5.1): every PIN is a valid key; storage tells nothing."""

from __future__ import annotations

import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import P256_ORDER, b64u_decode, b64u_encode, jwk_thumbprint, public_jwk
from simulator import pin_camouflage
from simulator.pin_camouflage import CamouflageError, protect, recover, recover_scalar
from simulator.storage import AppStorage

PIN = "24681"


@pytest.fixture
def pin_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _storage_dump(key: ec.EllipticCurvePrivateKey, pin: str) -> tuple[AppStorage, str]:
    salt, masked = protect(pin_camouflage.private_scalar(key), pin)
    storage = AppStorage(
        issuer="http://127.0.0.1:8000",
        client_id="c" * 22,
        authenticator_id=b64u_encode(b"\x01" * 16),
        pin_salt=b64u_encode(salt),
        pin_masked_key=b64u_encode(masked),
        refresh_token=None,
        user_id="alice",
        display_name="Alice Doe",
    )
    return storage, storage.to_json()


def test_correct_pin_recovers_exact_key(pin_key: ec.EllipticCurvePrivateKey) -> None:
    salt, masked = protect(pin_camouflage.private_scalar(pin_key), PIN)
    assert len(salt) == 16 and len(masked) == 32
    recovered = recover(salt, masked, PIN)
    assert recovered.private_numbers() == pin_key.private_numbers()
    assert recovered.public_key().public_numbers() == pin_key.public_key().public_numbers()


def test_every_pin_yields_a_valid_but_different_key(pin_key: ec.EllipticCurvePrivateKey) -> None:
    salt, masked = protect(pin_camouflage.private_scalar(pin_key), PIN)
    real = pin_key.private_numbers().private_value
    for wrong in ("00000", "24680", "99999", "2468", "", "abcde", "246810"):
        key = recover(salt, masked, wrong)
        assert 0 < key.private_numbers().private_value < P256_ORDER
        assert key.private_numbers().private_value != real
        key.public_key().public_numbers()  # a real point on P-256


def test_protect_uses_injected_randomness(pin_key: ec.EllipticCurvePrivateKey) -> None:
    scalar = pin_camouflage.private_scalar(pin_key)
    first = protect(scalar, PIN, random_bytes=lambda n: b"\x07" * n)
    second = protect(scalar, PIN, random_bytes=lambda n: b"\x07" * n)
    third = protect(scalar, PIN)
    assert first == second
    assert first[0] == b"\x07" * 16
    assert third != first


def test_out_of_range_inputs_are_refused() -> None:
    with pytest.raises(CamouflageError):
        protect(0, PIN)
    with pytest.raises(CamouflageError):
        protect(P256_ORDER, PIN)
    with pytest.raises(CamouflageError):
        recover_scalar(b"s" * 16, b"\x00" * 31, PIN)
    with pytest.raises(CamouflageError):
        recover_scalar(b"s" * 16, P256_ORDER.to_bytes(32, "big"), PIN)


def test_zero_scalar_raises() -> None:
    salt = b"\x00" * 16
    # Build a masked value that unmasks to exactly zero for this PIN.
    masked = pin_camouflage._mask(PIN, salt).to_bytes(32, "big")
    with pytest.raises(CamouflageError):
        recover(salt, masked, PIN)


def test_storage_dump_contains_no_public_key_thumbprint_or_signature(
    pin_key: ec.EllipticCurvePrivateKey,
) -> None:
    storage, dump = _storage_dump(pin_key, PIN)
    jwk = public_jwk(pin_key.public_key())
    numbers = pin_key.public_key().public_numbers()
    forbidden = {
        jwk["x"],
        jwk["y"],
        jwk_thumbprint(jwk),
        numbers.x.to_bytes(32, "big").hex(),
        numbers.y.to_bytes(32, "big").hex(),
        str(numbers.x),
        str(numbers.y),
    }
    for needle in forbidden:
        assert needle not in dump
    data = json.loads(dump)
    assert set(data) == {
        "issuer",
        "client_id",
        "authenticator_id",
        "pin_salt",
        "pin_masked_key",
        "refresh_token",
        "user_id",
        "display_name",
    }
    # Nothing in the dump looks like a JWS (header.payload.signature) either.
    for value in data.values():
        assert not (isinstance(value, str) and value.count(".") == 2 and value.startswith("ey"))
    # The stored masked value is not the private scalar.
    assert storage.pin_masked_key != b64u_encode(
        pin_key.private_numbers().private_value.to_bytes(32, "big")
    )


def test_offline_brute_force_yields_only_indistinguishable_valid_keys(
    pin_key: ec.EllipticCurvePrivateKey,
) -> None:
    """An attacker enumerating all 100000 five-digit PINs over a storage copy gets 100000
    distinct valid keys; nothing in the copy tells the right one apart. (A random sample of
    the PIN space, plus the right PIN, keeps the test fast.)"""
    storage, dump = _storage_dump(pin_key, PIN)

    salt = b64u_decode(storage.pin_salt or "")
    masked = b64u_decode(storage.pin_masked_key or "")
    sample = {f"{n:05d}" for n in random.Random(1).sample(range(100_000), 1500)} | {PIN}
    scalars: dict[str, int] = {}
    for guess in sorted(sample):
        key = recover(salt, masked, guess)
        scalars[guess] = key.private_numbers().private_value
        jwk = public_jwk(key.public_key())
        # The dump gives the attacker nothing to compare a candidate against.
        assert jwk["x"] not in dump and jwk["y"] not in dump
        assert jwk_thumbprint(jwk) not in dump
    assert len(set(scalars.values())) == len(sample)  # all distinct
    assert all(0 < s < P256_ORDER for s in scalars.values())  # all valid
    assert scalars[PIN] == pin_key.private_numbers().private_value
