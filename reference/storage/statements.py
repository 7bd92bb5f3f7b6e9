"""Every SQL statement the storage runs, written once in SQLAlchemy Core and compiled once per
database dialect.

Building and compiling a Core statement on every call costs more than running it; here each
statement is compiled when the storage opens and executed with plain driver parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from reference.storage import schema as t


@dataclass(frozen=True, slots=True)
class Prepared:
    """A compiled statement: its SQL text, and how to lay out parameters for the driver."""

    sql: str
    positional_names: tuple[str, ...] | None
    constants: Mapping[str, Any]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | Mapping[str, Any]:
        merged = {**self.constants, **values}
        if self.positional_names is None:
            return merged
        return tuple(merged[name] for name in self.positional_names)


def _compile(statement: ClauseElement, dialect: Dialect) -> Prepared:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ()) if compiled.positional else None
    # Literal values in the statement (such as `uses + 1`) become bound constants.
    constants = {name: value for name, value in compiled.params.items() if value is not None}
    return Prepared(str(compiled), names, constants)


def _dialect_insert(dialect: Dialect) -> Any:
    """The dialect's INSERT construct, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def _remember_jti(dialect: Dialect) -> ClauseElement:
    """Insert a JWT id, or take over an expired entry; affects no row on a live replay."""
    statement = _dialect_insert(dialect)(t.seen_jtis).values(
        key_hash=bindparam("key_hash"), expires_at=bindparam("expires_at")
    )
    upsert: ClauseElement = statement.on_conflict_do_update(
        index_elements=[t.seen_jtis.c.key_hash],
        set_={"expires_at": statement.excluded.expires_at},
        where=t.seen_jtis.c.expires_at <= bindparam("now"),
    )
    return upsert


def _statements(dialect: Dialect) -> dict[str, ClauseElement]:
    nonces, enrollments, authenticators = t.nonces, t.enrollments, t.authenticators
    families, tokens, keys = t.refresh_families, t.refresh_tokens, t.signing_keys
    return {
        "put_nonce": insert(nonces).values(
            value_hash=bindparam("value_hash"),
            purpose=bindparam("purpose"),
            owner=bindparam("owner"),
            expires_at=bindparam("expires_at"),
            uses=0,
        ),
        "use_nonce": update(nonces)
        .where(
            nonces.c.value_hash == bindparam("value_hash"), nonces.c.purpose == bindparam("purpose")
        )
        .values(uses=nonces.c.uses + 1)
        .returning(nonces.c.owner, nonces.c.expires_at, nonces.c.uses),
        "remember_jti": _remember_jti(dialect),
        "sweep_jtis": delete(t.seen_jtis).where(t.seen_jtis.c.expires_at <= bindparam("now")),
        "sweep_nonces": delete(nonces).where(nonces.c.expires_at <= bindparam("before")),
        "sweep_expired_refresh_tokens": delete(tokens).where(
            tokens.c.family_id.in_(
                select(families.c.family_id).where(families.c.expires_at <= bindparam("now"))
            )
        ),
        "sweep_expired_families": delete(families).where(families.c.expires_at <= bindparam("now")),
        "sweep_revoked_access_tokens": delete(t.revoked_access_tokens).where(
            t.revoked_access_tokens.c.expires_at <= bindparam("now")
        ),
        "add_client": insert(t.clients).values(
            {column.name: bindparam(column.name) for column in t.clients.c}
        ),
        "get_client": select(t.clients).where(t.clients.c.client_id == bindparam("client_id")),
        "add_enrollment": insert(enrollments).values(
            {column.name: bindparam(column.name) for column in enrollments.c}
        ),
        "get_enrollment": select(enrollments).where(
            enrollments.c.enrollment_id == bindparam("enrollment_id")
        ),
        "get_enrollment_by_session": select(enrollments).where(
            enrollments.c.session_hash == bindparam("session_hash")
        ),
        "count_code_use": update(enrollments)
        .where(enrollments.c.code_hash == bindparam("code_hash"))
        .values(code_uses=enrollments.c.code_uses + 1)
        .returning(*enrollments.c),
        "bind_enrollment": update(enrollments)
        .where(enrollments.c.enrollment_id == bindparam("enrollment_id"))
        .values(
            status="scanned",
            client_id=bindparam("client_id"),
            session_hash=bindparam("session_hash"),
        ),
        "complete_enrollment": update(enrollments)
        .where(enrollments.c.enrollment_id == bindparam("enrollment_id"))
        .values(
            status="completed",
            completed_at=bindparam("now"),
            authenticator_id=bindparam("authenticator_id"),
        ),
        "complete_scanned_enrollment": update(enrollments)
        .where(
            enrollments.c.enrollment_id == bindparam("enrollment_id"),
            enrollments.c.status == "scanned",
        )
        .values(
            status="completed",
            completed_at=bindparam("now"),
            authenticator_id=bindparam("authenticator_id"),
        ),
        "add_authenticator": insert(authenticators).values(
            {column.name: bindparam(column.name) for column in authenticators.c}
        ),
        "get_authenticator": select(authenticators).where(
            authenticators.c.authenticator_id == bindparam("authenticator_id")
        ),
        "count_pin_failure": update(authenticators)
        .where(
            authenticators.c.authenticator_id == bindparam("authenticator_id"),
            authenticators.c.status == "active",
        )
        .values(failures=authenticators.c.failures + 1)
        .returning(authenticators.c.failures),
        "lock_authenticator": update(authenticators)
        .where(authenticators.c.authenticator_id == bindparam("authenticator_id"))
        .values(status="locked"),
        "revoke_authenticator_families": update(families)
        .where(
            families.c.authenticator_id == bindparam("authenticator_id"),
            families.c.revoked_at.is_(None),
        )
        .values(revoked_at=bindparam("now")),
        "reset_pin_failures": update(authenticators)
        .where(
            authenticators.c.authenticator_id == bindparam("authenticator_id"),
            authenticators.c.failures > 0,
        )
        .values(failures=0),
        "add_family": insert(families).values(
            {column.name: bindparam(column.name) for column in families.c}
        ),
        "add_refresh_token": insert(tokens).values(
            {column.name: bindparam(column.name) for column in tokens.c}
        ),
        "get_refresh_token": select(tokens, families)
        .join(families, families.c.family_id == tokens.c.family_id)
        .where(tokens.c.token_hash == bindparam("token_hash")),
        "use_refresh_token": update(tokens)
        .where(tokens.c.token_hash == bindparam("token_hash"), tokens.c.used_at.is_(None))
        .values(used_at=bindparam("now")),
        "reuse_refresh_token": update(tokens)
        .where(tokens.c.token_hash == bindparam("token_hash"))
        .values(used_at=bindparam("now")),
        "revoke_family": update(families)
        .where(families.c.family_id == bindparam("family_id"), families.c.revoked_at.is_(None))
        .values(revoked_at=bindparam("now")),
        # Revoking twice is not an error (RFC 7009 §2.2): a second insert does nothing.
        "revoke_access_token": _dialect_insert(dialect)(t.revoked_access_tokens)
        .values(jti=bindparam("jti"), expires_at=bindparam("expires_at"))
        .on_conflict_do_nothing(index_elements=[t.revoked_access_tokens.c.jti]),
        "is_access_token_revoked": select(t.revoked_access_tokens.c.jti).where(
            t.revoked_access_tokens.c.jti == bindparam("jti")
        ),
        "add_signing_key": insert(keys).values(
            {column.name: bindparam(column.name) for column in keys.c}
        ),
        "list_signing_keys": select(keys).order_by(keys.c.created_at),
        "retire_signing_key": update(keys)
        .where(keys.c.kid == bindparam("kid"), keys.c.retired_at.is_(None))
        .values(retired_at=bindparam("now")),
        "add_demo_user": insert(t.demo_users).values(
            {column.name: bindparam(column.name) for column in t.demo_users.c}
        ),
        "update_demo_user": update(t.demo_users)
        .where(t.demo_users.c.username == bindparam("username"))
        .values(display_name=bindparam("display_name"), password_hash=bindparam("password_hash")),
        "get_demo_user": select(t.demo_users).where(
            t.demo_users.c.username == bindparam("username")
        ),
    }


def prepare_statements(dialect: Dialect) -> dict[str, Prepared]:
    return {name: _compile(statement, dialect) for name, statement in _statements(dialect).items()}
