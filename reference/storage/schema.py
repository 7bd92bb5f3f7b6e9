"""Database schema (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

Every lookup on a request path goes through a primary key or an index, so the cost of a request
does not grow with the number of enrolled devices.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("version", Integer, primary_key=True),
)

nonces = Table(
    "nonces",
    metadata,
    Column("value_hash", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("uses", Integer, nullable=False, default=0),
    Index("ix_nonces_expires_at", "expires_at"),
)

seen_jtis = Table(
    "seen_jtis",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_seen_jtis_expires_at", "expires_at"),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("public_jwk", Text, nullable=False),
    Column("app_id", String(255), nullable=False),
    Column("app_version", String(64), nullable=False),
    Column("os_name", String(32), nullable=False),
    Column("os_version", String(32), nullable=False),
    Column("device_verdict", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("enrollment_id", String(64), primary_key=True),
    Column("relying_party", String(128), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("display_name", String(255), nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("code_uses", Integer, nullable=False, default=0),
    Column("client_id", String(64)),
    Column("session_hash", String(64), unique=True),
    Column("completed_at", BigInteger),
    Column("authenticator_id", String(64)),
)

authenticators = Table(
    "authenticators",
    metadata,
    Column("authenticator_id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("user_id", String(255), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),
)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("family_id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("user_id", String(255), nullable=False),
    Column("authenticator_id", String(64), nullable=False, index=True),
    Column("jkt", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("amr", Text, nullable=False),
    Column("auth_time", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
    Column("revoked_at", BigInteger),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(64), nullable=False, index=True),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
)

revoked_access_tokens = Table(
    "revoked_access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("retired_at", BigInteger),
)

demo_users = Table(
    "demo_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("password_hash", Text, nullable=False),
)
