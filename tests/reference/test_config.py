"""Configuration from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.config import AppConfig


def test_environment_sets_issuer_storage_and_lifetimes() -> None:
    config = AppConfig.from_env(
        {
            "PORT": "9000",
            "MIA_DATA_DIR": "/srv/mia",
            "MIA_LIFETIME_ACCESS_TOKEN": "600",
            "MIA_LIFETIME_LOGIN_CHALLENGE": "30",
        }
    )
    assert config.issuer == "http://127.0.0.1:9000"
    assert config.database_url == "sqlite:////srv/mia/mia.db"
    assert config.policy_file == Path("/srv/mia/policy.toml")
    assert config.trusted_roots == (Path("/srv/mia/platform-ca/root.pem"),)
    assert (config.lifetimes.access_token, config.lifetimes.login_challenge) == (600, 30)
    assert config.lifetimes.enrollment_code == 300  # untouched lifetimes keep their default
    assert config.resources[0] == "http://127.0.0.1:9000/api"


@pytest.mark.parametrize("value", ["0", "-5", "ten", ""])
def test_a_bad_lifetime_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="MIA_LIFETIME_ACCESS_TOKEN"):
        AppConfig.from_env({"MIA_LIFETIME_ACCESS_TOKEN": value})
