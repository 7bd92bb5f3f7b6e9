"""The Flask app factory: wires storage, keys, policy and blueprints together."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from flask import Flask, Response

from reference.config import AppConfig
from reference.core.clock import Clock, SystemClock
from reference.core.keys import Keyring
from reference.core.policy import PolicySource
from reference.core.records import DemoUser
from reference.core.settings import ServerContext, Settings
from reference.demo_site.passwords import hash_password
from reference.demo_site.views import blueprint as demo_blueprint
from reference.sample_api.blueprint import blueprint as api_blueprint
from reference.sample_api.resource_server import JwksCache, ResourceServer
from reference.storage import SqlStorage
from reference.web import discovery, enrollment, login, registration, token_management
from reference.web.errors import register_error_handlers
from reference.web.logs import configure_logging, install_request_logging
from reference.web.rate_limits import build_limiters

log = logging.getLogger("mia.server")

MAX_BODY_BYTES = 64 * 1024


def load_trusted_roots(paths: tuple[Path, ...]) -> list[x509.Certificate]:
    roots = []
    for path in paths:
        if not path.exists():
            log.warning("trusted platform root not found: %s (registration will fail)", path)
            continue
        roots.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return roots


def build_context(config: AppConfig, clock: Clock | None = None) -> ServerContext:
    config.ensure_files()
    clock = clock or SystemClock()
    storage = SqlStorage(config.database_url)
    settings = Settings(
        issuer=config.issuer, resources=config.resources, lifetimes=config.lifetimes
    )
    keyring = Keyring(
        storage,
        clock,
        publish_retired_for=config.lifetimes.access_token + config.lifetimes.clock_skew + 60,
    )
    return ServerContext(
        settings=settings,
        storage=storage,
        keyring=keyring,
        policy=PolicySource(config.policy_file),
        clock=clock,
        trusted_attestation_roots=load_trusted_roots(config.trusted_roots),
    )


def _seed_demo_users(ctx: ServerContext, users: Mapping[str, tuple[str, str]]) -> None:
    for username, (display_name, password) in users.items():
        if ctx.storage.get_demo_user(username) is None:
            ctx.storage.put_demo_user(DemoUser(username, display_name, hash_password(password)))


def create_app(
    config: AppConfig | Mapping[str, Any] | None = None, *, clock: Clock | None = None
) -> Flask:
    """Create the reference server. `config` is an AppConfig, overrides for one, or None (env)."""
    if config is None:
        config = AppConfig.from_env()
    elif not isinstance(config, AppConfig):
        config = AppConfig.from_env().with_overrides(**dict(config))
    configure_logging()
    ctx = build_context(config, clock)
    _seed_demo_users(ctx, config.demo_users)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.session_secret(),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.issuer.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    app.extensions["mia"] = ctx
    app.extensions["mia_config"] = config
    app.extensions["mia_rate_limiters"] = build_limiters(config.rate_limits, ctx.clock)
    app.extensions["mia_resource_server"] = ResourceServer(
        ctx,
        issuer=config.issuer,
        audience=config.resources[0],
        jwks=JwksCache(ctx.keyring.jwks),
    )
    for module in (discovery, registration, enrollment, login, token_management):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(demo_blueprint)
    register_error_handlers(app)
    install_request_logging(app)

    @app.after_request
    def _no_sniffing(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
