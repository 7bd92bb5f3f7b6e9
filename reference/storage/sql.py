"""Storage on SQLAlchemy Core: an SQLite file by default, PostgreSQL when the URL says so.

Statements are compiled once per dialect (`statements.py`) and run with driver parameters. Each
method is one transaction; SQLite write transactions take the write lock up front (BEGIN
IMMEDIATE); a read is a single SELECT, atomic on its own.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text

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
from reference.storage import schema as t
from reference.storage.statements import Prepared, prepare_statements

_MIGRATION_LOCK = 0x4D4941  # "MIA"

# Expired replay-cache rows are swept on roughly one insert in this many.
_SWEEP_ONE_IN = 256

_READ_ONLY = "mia_read_only"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Hand transaction control to the "begin" hook below.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            # IMMEDIATE takes the write lock up front, so two read-then-write transactions
            # cannot deadlock on the lock upgrade; the busy timeout queues them instead.
            # A read is one SELECT, which SQLite runs atomically in autocommit mode.
            if not connection.get_execution_options().get(_READ_ONLY, False):
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class _Transaction:
    """Runs prepared statements on one driver cursor."""

    __slots__ = ("_cursor", "_statements")

    def __init__(self, cursor: Any, statements: dict[str, Prepared]) -> None:
        self._cursor = cursor
        self._statements = statements

    def run(self, name: str, **values: Any) -> Any:
        prepared = self._statements[name]
        self._cursor.execute(prepared.sql, prepared.parameters(values))
        return self._cursor


def _values(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


class SqlStorage:
    """The `Storage` interface on SQLAlchemy Core."""

    def __init__(self, url: str) -> None:
        self.url = normalise_database_url(url)
        self.engine = _make_engine(url)
        self._migrate()
        self._statements = prepare_statements(self.engine.dialect)
        self._sqlite = self.engine.dialect.name == "sqlite"
        dbapi = self.engine.dialect.dbapi
        assert dbapi is not None
        self._integrity_error: type[Exception] = dbapi.IntegrityError

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes may start at once on a fresh database: one migrates.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            t.metadata.create_all(conn, checkfirst=True)
            version = conn.execute(select(t.schema_info.c.version)).scalar()
            if version is None:
                conn.execute(insert(t.schema_info).values(version=t.SCHEMA_VERSION))

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[_Transaction]:
        """One write transaction on a pooled driver connection."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if self._sqlite:
                # IMMEDIATE takes the write lock up front, so two read-then-write transactions
                # cannot deadlock on the lock upgrade; the busy timeout queues them instead.
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(cursor, self._statements)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
            cursor.close()
        finally:
            connection.close()

    @contextmanager
    def _read(self) -> Iterator[_Transaction]:
        """A read: one SELECT, atomic on its own."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            yield _Transaction(cursor, self._statements)
            cursor.close()
            if not self._sqlite:
                connection.rollback()  # end the driver's implicit transaction
        finally:
            connection.close()

    def _first(self, name: str, **values: Any) -> Sequence[Any] | None:
        with self._read() as tx:
            rows = tx.run(name, **values).fetchall()
        return tuple(rows[0]) if rows else None

    # -- single-use values -------------------------------------------------------------------

    def put_nonce(self, purpose: str, value_hash: str, owner: str, expires_at: int) -> None:
        with self._write() as tx:
            tx.run(
                "put_nonce",
                value_hash=value_hash,
                purpose=purpose,
                owner=owner,
                expires_at=expires_at,
            )

    def use_nonce(self, purpose: str, value_hash: str) -> NonceUse | None:
        with self._write() as tx:
            rows = tx.run("use_nonce", value_hash=value_hash, purpose=purpose).fetchall()
        row = rows[0] if rows else None
        return NonceUse(row[0], row[1], row[2]) if row else None

    def remember_jti(self, scope: str, jti: str, expires_at: int, now: int) -> bool:
        key_hash = hashlib.sha256(f"{scope}\x00{jti}".encode()).hexdigest()
        try:
            with self._write() as tx:
                stored: int = tx.run(
                    "remember_jti", key_hash=key_hash, expires_at=expires_at, now=now
                ).rowcount
                if stored and secrets.randbelow(_SWEEP_ONE_IN) == 0:
                    self._sweep(tx, now)
        except self._integrity_error:
            # A concurrent request inserted the same jti first: that is a replay too.
            return False
        # The upsert touches no row when a live entry exists: a replay.
        return stored == 1

    @staticmethod
    def _sweep(tx: _Transaction, now: int) -> None:
        """Drop what can no longer be used: expired replay entries, nonces, sessions."""
        tx.run("sweep_jtis", now=now)
        tx.run("sweep_nonces", before=now - 3600)
        tx.run("sweep_expired_refresh_tokens", now=now)
        tx.run("sweep_expired_families", now=now)
        tx.run("sweep_revoked_access_tokens", now=now)

    def sweep(self, now: int) -> None:
        with self._write() as tx:
            self._sweep(tx, now)

    # -- clients -----------------------------------------------------------------------------

    def add_client(self, client: ClientRecord) -> None:
        values = _values(client)
        values["public_jwk"] = json.dumps(client.public_jwk)
        values["device_verdict"] = json.dumps(list(client.device_verdict))
        with self._write() as tx:
            tx.run("add_client", **values)

    def get_client(self, client_id: str) -> ClientRecord | None:
        row = self._first("get_client", client_id=client_id)
        if row is None:
            return None
        values = dict(zip(t.clients.c.keys(), row, strict=True))
        values["public_jwk"] = json.loads(values["public_jwk"])
        values["device_verdict"] = tuple(json.loads(values["device_verdict"]))
        return ClientRecord(**values)

    # -- enrollment --------------------------------------------------------------------------

    def add_enrollment(self, enrollment: EnrollmentRecord) -> None:
        with self._write() as tx:
            tx.run("add_enrollment", **_values(enrollment))

    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord | None:
        return _enrollment(self._first("get_enrollment", enrollment_id=enrollment_id))

    def get_enrollment_by_session(self, session_hash: str) -> EnrollmentRecord | None:
        return _enrollment(self._first("get_enrollment_by_session", session_hash=session_hash))

    def claim_enrollment_code(
        self, code_hash: str, client_id: str, session_hash: str
    ) -> EnrollmentRecord | None:
        with self._write() as tx:
            rows = tx.run("count_code_use", code_hash=code_hash).fetchall()
            row = rows[0] if rows else None
            record = _enrollment(tuple(row) if row is not None else None)
            if record is not None and record.code_uses == 1:
                tx.run(
                    "bind_enrollment",
                    enrollment_id=record.enrollment_id,
                    client_id=client_id,
                    session_hash=session_hash,
                )
        return record

    def finish_enrollment(
        self, enrollment_id: str, authenticator: AuthenticatorRecord, now: int, single_use: bool
    ) -> bool:
        statement = "complete_scanned_enrollment" if single_use else "complete_enrollment"
        values = _values(authenticator)
        values["public_jwk"] = json.dumps(authenticator.public_jwk)
        with self._write() as tx:
            done = tx.run(
                statement,
                enrollment_id=enrollment_id,
                now=now,
                authenticator_id=authenticator.authenticator_id,
            )
            if done.rowcount != 1:
                return False
            tx.run("add_authenticator", **values)
        return True

    # -- authenticators ----------------------------------------------------------------------

    def get_authenticator(self, authenticator_id: str) -> AuthenticatorRecord | None:
        row = self._first("get_authenticator", authenticator_id=authenticator_id)
        if row is None:
            return None
        values = dict(zip(t.authenticators.c.keys(), row, strict=True))
        values["public_jwk"] = json.loads(values["public_jwk"])
        return AuthenticatorRecord(**values)

    def record_pin_failure(
        self, authenticator_id: str, limit: int | None, now: int
    ) -> tuple[int, bool]:
        with self._write() as tx:
            rows = tx.run("count_pin_failure", authenticator_id=authenticator_id).fetchall()
            row = rows[0] if rows else None
            if row is None:
                return 0, False
            failures = int(row[0])
            locked = limit is not None and failures >= limit
            if locked:
                tx.run("lock_authenticator", authenticator_id=authenticator_id)
                # A locked authenticator's sessions end with it (spec §5.4).
                tx.run(
                    "revoke_authenticator_families",
                    authenticator_id=authenticator_id,
                    now=now,
                )
        return failures, locked

    def reset_pin_failures(self, authenticator_id: str) -> None:
        with self._write() as tx:
            tx.run("reset_pin_failures", authenticator_id=authenticator_id)

    # -- refresh tokens ----------------------------------------------------------------------

    def add_refresh_family(self, family: RefreshFamily, first: RefreshTokenRecord) -> None:
        values = _values(family)
        values["amr"] = json.dumps(list(family.amr))
        with self._write() as tx:
            tx.run("add_family", **values)
            tx.run("add_refresh_token", **_values(first))

    def get_refresh_token(self, token_hash: str) -> tuple[RefreshTokenRecord, RefreshFamily] | None:
        row = self._first("get_refresh_token", token_hash=token_hash)
        if row is None:
            return None
        token_columns = len(t.refresh_tokens.c)
        token = RefreshTokenRecord(*row[:token_columns])
        family_values = dict(zip(t.refresh_families.c.keys(), row[token_columns:], strict=True))
        family_values["amr"] = tuple(json.loads(family_values["amr"]))
        return token, RefreshFamily(**family_values)

    def rotate_refresh_token(
        self, old_hash: str, new: RefreshTokenRecord, now: int, single_use: bool
    ) -> bool:
        statement = "use_refresh_token" if single_use else "reuse_refresh_token"
        with self._write() as tx:
            if tx.run(statement, token_hash=old_hash, now=now).rowcount != 1:
                return False
            tx.run("add_refresh_token", **_values(new))
        return True

    def revoke_refresh_family(self, family_id: str, now: int) -> None:
        with self._write() as tx:
            tx.run("revoke_family", family_id=family_id, now=now)

    # -- access-token revocation list --------------------------------------------------------

    def revoke_access_token(self, jti: str, expires_at: int) -> None:
        with self._write() as tx:
            tx.run("revoke_access_token", jti=jti, expires_at=expires_at)

    def is_access_token_revoked(self, jti: str) -> bool:
        return self._first("is_access_token_revoked", jti=jti) is not None

    # -- signing keys ------------------------------------------------------------------------

    def add_signing_key(self, key: SigningKeyRecord) -> None:
        with self._write() as tx:
            tx.run("add_signing_key", **_values(key))

    def list_signing_keys(self) -> list[SigningKeyRecord]:
        with self._read() as tx:
            rows: list[Any] = list(tx.run("list_signing_keys").fetchall())
        return [SigningKeyRecord(row[0], bytes(row[1]), row[2], row[3]) for row in rows]

    def retire_signing_key(self, kid: str, now: int) -> None:
        with self._write() as tx:
            tx.run("retire_signing_key", kid=kid, now=now)

    # -- demo web site users -----------------------------------------------------------------

    def put_demo_user(self, user: DemoUser) -> None:
        try:
            with self._write() as tx:
                tx.run("add_demo_user", **_values(user))
        except self._integrity_error:
            # The user exists (perhaps seeded by another server process): update it.
            with self._write() as tx:
                tx.run("update_demo_user", **_values(user))

    def get_demo_user(self, username: str) -> DemoUser | None:
        row = self._first("get_demo_user", username=username)
        return DemoUser(*row) if row else None


def _enrollment(row: Sequence[Any] | None) -> EnrollmentRecord | None:
    if row is None:
        return None
    return EnrollmentRecord(**dict(zip(t.enrollments.c.keys(), row, strict=True)))


__all__ = ["SqlStorage", "normalise_database_url"]
