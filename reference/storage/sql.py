"""Storage on SQLAlchemy Core: an SQLite file by default, PostgreSQL when the URL says so."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

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

_MIGRATION_LOCK = 0x4D4941  # "MIA"

# Expired replay-cache rows are swept on roughly one insert in this many.
_SWEEP_ONE_IN = 256


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
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            # IMMEDIATE takes the write lock up front, so two read-then-write transactions
            # cannot deadlock on the lock upgrade; the busy timeout queues them instead.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class SqlStorage:
    """The `Storage` interface on SQLAlchemy Core."""

    def __init__(self, url: str) -> None:
        self.url = normalise_database_url(url)
        self.engine = _make_engine(url)
        self._migrate()

    def _migrate(self) -> None:
        with self._tx() as conn:
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
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- single-use values -------------------------------------------------------------------

    def put_nonce(self, purpose: str, value_hash: str, owner: str, expires_at: int) -> None:
        with self._tx() as conn:
            conn.execute(
                insert(t.nonces).values(
                    value_hash=value_hash,
                    purpose=purpose,
                    owner=owner,
                    expires_at=expires_at,
                    uses=0,
                )
            )

    def use_nonce(self, purpose: str, value_hash: str) -> NonceUse | None:
        with self._tx() as conn:
            row = conn.execute(
                update(t.nonces)
                .where(t.nonces.c.value_hash == value_hash, t.nonces.c.purpose == purpose)
                .values(uses=t.nonces.c.uses + 1)
                .returning(t.nonces.c.owner, t.nonces.c.expires_at, t.nonces.c.uses)
            ).first()
        return NonceUse(row.owner, row.expires_at, row.uses) if row else None

    def remember_jti(self, scope: str, jti: str, expires_at: int, now: int) -> bool:
        key_hash = hashlib.sha256(f"{scope}\x00{jti}".encode()).hexdigest()
        try:
            with self._tx() as conn:
                existing = conn.execute(
                    select(t.seen_jtis.c.expires_at).where(t.seen_jtis.c.key_hash == key_hash)
                ).scalar()
                if existing is not None:
                    if existing > now:
                        return False
                    conn.execute(delete(t.seen_jtis).where(t.seen_jtis.c.key_hash == key_hash))
                conn.execute(insert(t.seen_jtis).values(key_hash=key_hash, expires_at=expires_at))
                if secrets.randbelow(_SWEEP_ONE_IN) == 0:
                    conn.execute(delete(t.seen_jtis).where(t.seen_jtis.c.expires_at <= now))
                    conn.execute(delete(t.nonces).where(t.nonces.c.expires_at <= now - 3600))
        except IntegrityError:
            # A concurrent request inserted the same jti first: that is a replay too.
            return False
        return True

    # -- clients -----------------------------------------------------------------------------

    def add_client(self, client: ClientRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                insert(t.clients).values(
                    client_id=client.client_id,
                    public_jwk=json.dumps(client.public_jwk),
                    app_id=client.app_id,
                    app_version=client.app_version,
                    os_name=client.os_name,
                    os_version=client.os_version,
                    device_verdict=json.dumps(list(client.device_verdict)),
                    created_at=client.created_at,
                    status=client.status,
                )
            )

    def get_client(self, client_id: str) -> ClientRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.clients).where(t.clients.c.client_id == client_id)).first()
        if row is None:
            return None
        return ClientRecord(
            client_id=row.client_id,
            public_jwk=json.loads(row.public_jwk),
            app_id=row.app_id,
            app_version=row.app_version,
            os_name=row.os_name,
            os_version=row.os_version,
            device_verdict=tuple(json.loads(row.device_verdict)),
            created_at=row.created_at,
            status=row.status,
        )

    # -- enrollment --------------------------------------------------------------------------

    def add_enrollment(self, enrollment: EnrollmentRecord) -> None:
        with self._tx() as conn:
            conn.execute(insert(t.enrollments).values(**_enrollment_values(enrollment)))

    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord | None:
        return self._enrollment_where(t.enrollments.c.enrollment_id == enrollment_id)

    def get_enrollment_by_session(self, session_hash: str) -> EnrollmentRecord | None:
        return self._enrollment_where(t.enrollments.c.session_hash == session_hash)

    def _enrollment_where(self, condition: Any) -> EnrollmentRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.enrollments).where(condition)).first()
        return EnrollmentRecord(**row._mapping) if row else None

    def claim_enrollment_code(
        self, code_hash: str, client_id: str, session_hash: str
    ) -> EnrollmentRecord | None:
        with self._tx() as conn:
            row = conn.execute(
                update(t.enrollments)
                .where(t.enrollments.c.code_hash == code_hash)
                .values(code_uses=t.enrollments.c.code_uses + 1)
                .returning(*t.enrollments.c)
            ).first()
            if row is None:
                return None
            if row.code_uses == 1:
                conn.execute(
                    update(t.enrollments)
                    .where(t.enrollments.c.enrollment_id == row.enrollment_id)
                    .values(status="scanned", client_id=client_id, session_hash=session_hash)
                )
        return EnrollmentRecord(**row._mapping)

    def finish_enrollment(
        self, enrollment_id: str, authenticator: AuthenticatorRecord, now: int, single_use: bool
    ) -> bool:
        with self._tx() as conn:
            condition = t.enrollments.c.enrollment_id == enrollment_id
            if single_use:
                condition = condition & (t.enrollments.c.status == "scanned")
            done = conn.execute(
                update(t.enrollments)
                .where(condition)
                .values(
                    status="completed",
                    completed_at=now,
                    authenticator_id=authenticator.authenticator_id,
                )
            )
            if done.rowcount != 1:
                return False
            conn.execute(
                insert(t.authenticators).values(
                    authenticator_id=authenticator.authenticator_id,
                    client_id=authenticator.client_id,
                    user_id=authenticator.user_id,
                    kind=authenticator.kind,
                    public_jwk=json.dumps(authenticator.public_jwk),
                    created_at=authenticator.created_at,
                    failures=0,
                    status="active",
                )
            )
        return True

    # -- authenticators ----------------------------------------------------------------------

    def get_authenticator(self, authenticator_id: str) -> AuthenticatorRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.authenticators).where(
                    t.authenticators.c.authenticator_id == authenticator_id
                )
            ).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["public_jwk"] = json.loads(values["public_jwk"])
        return AuthenticatorRecord(**values)

    def record_pin_failure(self, authenticator_id: str, limit: int | None) -> tuple[int, bool]:
        table = t.authenticators
        with self._tx() as conn:
            failures = conn.execute(
                update(table)
                .where(table.c.authenticator_id == authenticator_id, table.c.status == "active")
                .values(failures=table.c.failures + 1)
                .returning(table.c.failures)
            ).scalar()
            if failures is None:
                return 0, False
            locked = limit is not None and failures >= limit
            if locked:
                conn.execute(
                    update(table)
                    .where(table.c.authenticator_id == authenticator_id)
                    .values(status="locked")
                )
                # A locked authenticator's sessions end with it (spec §5.4).
                families = t.refresh_families
                conn.execute(
                    update(families)
                    .where(
                        families.c.authenticator_id == authenticator_id,
                        families.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=families.c.created_at)
                )
        return failures, locked

    def reset_pin_failures(self, authenticator_id: str) -> None:
        table = t.authenticators
        with self._tx() as conn:
            conn.execute(
                update(table)
                .where(table.c.authenticator_id == authenticator_id, table.c.failures > 0)
                .values(failures=0)
            )

    # -- refresh tokens ----------------------------------------------------------------------

    def add_refresh_family(self, family: RefreshFamily, first: RefreshTokenRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                insert(t.refresh_families).values(
                    family_id=family.family_id,
                    client_id=family.client_id,
                    user_id=family.user_id,
                    authenticator_id=family.authenticator_id,
                    jkt=family.jkt,
                    scope=family.scope,
                    resource=family.resource,
                    amr=json.dumps(list(family.amr)),
                    auth_time=family.auth_time,
                    created_at=family.created_at,
                    expires_at=family.expires_at,
                    revoked_at=family.revoked_at,
                )
            )
            conn.execute(insert(t.refresh_tokens).values(**_token_values(first)))

    def get_refresh_token(self, token_hash: str) -> tuple[RefreshTokenRecord, RefreshFamily] | None:
        with self.engine.connect() as conn:
            token_row = conn.execute(
                select(t.refresh_tokens).where(t.refresh_tokens.c.token_hash == token_hash)
            ).first()
            if token_row is None:
                return None
            family_row = conn.execute(
                select(t.refresh_families).where(
                    t.refresh_families.c.family_id == token_row.family_id
                )
            ).first()
        if family_row is None:
            return None
        family_values = dict(family_row._mapping)
        family_values["amr"] = tuple(json.loads(family_values["amr"]))
        return RefreshTokenRecord(**token_row._mapping), RefreshFamily(**family_values)

    def rotate_refresh_token(
        self, old_hash: str, new: RefreshTokenRecord, now: int, single_use: bool
    ) -> bool:
        table = t.refresh_tokens
        with self._tx() as conn:
            condition = table.c.token_hash == old_hash
            if single_use:
                condition = condition & table.c.used_at.is_(None)
            rotated = conn.execute(update(table).where(condition).values(used_at=now))
            if rotated.rowcount != 1:
                return False
            conn.execute(insert(table).values(**_token_values(new)))
        return True

    def revoke_refresh_family(self, family_id: str, now: int) -> None:
        table = t.refresh_families
        with self._tx() as conn:
            conn.execute(
                update(table)
                .where(table.c.family_id == family_id, table.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    # -- access-token revocation list --------------------------------------------------------

    def revoke_access_token(self, jti: str, expires_at: int) -> None:
        try:
            with self._tx() as conn:
                conn.execute(insert(t.revoked_access_tokens).values(jti=jti, expires_at=expires_at))
        except IntegrityError:
            pass  # revoked already: revocation is idempotent (RFC 7009 §2.2)

    def is_access_token_revoked(self, jti: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(t.revoked_access_tokens.c.jti).where(t.revoked_access_tokens.c.jti == jti)
            ).first()
        return found is not None

    # -- signing keys ------------------------------------------------------------------------

    def add_signing_key(self, key: SigningKeyRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                insert(t.signing_keys).values(
                    kid=key.kid,
                    private_pem=key.private_pem,
                    created_at=key.created_at,
                    retired_at=key.retired_at,
                )
            )

    def list_signing_keys(self) -> list[SigningKeyRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.signing_keys).order_by(t.signing_keys.c.created_at))
            return [SigningKeyRecord(**row._mapping) for row in rows]

    def retire_signing_key(self, kid: str, now: int) -> None:
        with self._tx() as conn:
            conn.execute(
                update(t.signing_keys)
                .where(t.signing_keys.c.kid == kid, t.signing_keys.c.retired_at.is_(None))
                .values(retired_at=now)
            )

    # -- demo web site users -----------------------------------------------------------------

    def put_demo_user(self, user: DemoUser) -> None:
        values = {"display_name": user.display_name, "password_hash": user.password_hash}
        try:
            with self._tx() as conn:
                conn.execute(insert(t.demo_users).values(username=user.username, **values))
        except IntegrityError:
            # Another server process seeded the same user first: update it instead.
            with self._tx() as conn:
                conn.execute(
                    update(t.demo_users)
                    .where(t.demo_users.c.username == user.username)
                    .values(**values)
                )

    def get_demo_user(self, username: str) -> DemoUser | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.demo_users).where(t.demo_users.c.username == username)
            ).first()
        return DemoUser(**row._mapping) if row else None


def _enrollment_values(enrollment: EnrollmentRecord) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment.enrollment_id,
        "relying_party": enrollment.relying_party,
        "user_id": enrollment.user_id,
        "display_name": enrollment.display_name,
        "code_hash": enrollment.code_hash,
        "created_at": enrollment.created_at,
        "expires_at": enrollment.expires_at,
        "status": enrollment.status,
        "code_uses": enrollment.code_uses,
        "client_id": enrollment.client_id,
        "session_hash": enrollment.session_hash,
        "completed_at": enrollment.completed_at,
        "authenticator_id": enrollment.authenticator_id,
    }


def _token_values(token: RefreshTokenRecord) -> dict[str, Any]:
    return {
        "token_hash": token.token_hash,
        "family_id": token.family_id,
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
        "used_at": token.used_at,
    }
