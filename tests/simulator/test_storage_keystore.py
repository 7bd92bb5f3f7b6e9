"""App storage round trips and the keystore's non-exportable keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from reference.core.jose import public_key_from_jwk, verify_es256_jws
from simulator import AppStorage, Keystore
from simulator.device import compose_jws
from simulator.keystore import KeystoreError


def _full() -> AppStorage:
    return AppStorage(
        issuer="http://127.0.0.1:8000",
        client_id="client-1",
        authenticator_id="auth-1",
        pin_salt="c2FsdA",
        pin_masked_key="bWFza2Vk",
        refresh_token="rt",
        user_id="alice",
        display_name="Alice Doe",
    )


def test_json_round_trip() -> None:
    storage = _full()
    assert AppStorage.from_json(storage.to_json()) == storage
    assert json.loads(storage.to_json())["user_id"] == "alice"
    assert AppStorage.from_json(AppStorage().to_json()) == AppStorage()


def test_clone_is_an_independent_copy() -> None:
    storage = _full()
    copy = storage.clone()
    assert copy == storage and copy is not storage
    copy.refresh_token = "other"
    assert storage.refresh_token == "rt"


def test_save_and_load(tmp_path: Path) -> None:
    storage = _full()
    path = tmp_path / "storage.json"
    storage.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert AppStorage.load(path) == storage
    assert AppStorage.load(tmp_path / "missing.json") == AppStorage()


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        AppStorage.from_json('{"pin_public_key": {}}')
    with pytest.raises(ValueError):
        AppStorage.from_json("[]")


def test_dict_access_and_state() -> None:
    storage = _full()
    assert storage["client_id"] == "client-1"
    storage["refresh_token"] = None
    assert storage.registered and storage.enrolled
    with pytest.raises(KeyError):
        storage["pin_public_key"] = "x"
    storage.forget_enrollment()
    assert storage.registered and not storage.enrolled and storage.user_id is None


def test_keystore_signs_and_exposes_only_public_keys() -> None:
    keystore = Keystore()
    jwk = keystore.generate("client")
    assert set(jwk) == {"kty", "crv", "x", "y"}
    assert "client" in keystore and keystore.aliases() == ["client"]
    token = compose_jws(
        {"alg": "ES256", "typ": "t"}, {"a": 1}, lambda data: keystore.sign("client", data)
    )
    verify_es256_jws(token, public_key_from_jwk(keystore.public_jwk("client")))
    assert len(keystore.sign("client", b"x")) == 64
    public_names = [name for name in dir(keystore) if not name.startswith("_")]
    assert not any("private" in name or "export" in name for name in public_names)
    assert not hasattr(keystore, "clone")
    with pytest.raises(KeystoreError):
        keystore.sign("dpop", b"x")
    keystore.delete("client")
    assert "client" not in keystore


def test_keystore_persistence_is_separate_from_app_storage(tmp_path: Path) -> None:
    keystore = Keystore()
    keystore.generate("client")
    keystore.generate("dpop")
    keystore.save(tmp_path / "keystore.json")
    assert stat.S_IMODE((tmp_path / "keystore.json").stat().st_mode) == 0o600
    restored = Keystore.load(tmp_path / "keystore.json")
    assert restored.public_jwk("dpop") == keystore.public_jwk("dpop")
    assert Keystore.load(tmp_path / "none.json").aliases() == []
    # App storage never contains keystore material.
    assert "PRIVATE KEY" not in _full().to_json()
