"""Several server processes on one PostgreSQL database behave as one server.

Two `python -m reference serve` processes share a database and an issuer; a round-robin
"load balancer" sends each request of one flow to the next process, so every flow starts on one
process and finishes on the other.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from reference.server_process import (
    free_port,
    start_server_process,
    stop_server_process,
    wait_until_healthy,
)
from simulator import Device, HttpTransport, PlatformCA, ServerError
from simulator.transport import HttpResponse
from tests.conftest import PIN, POLICY, RP_ID, RP_SECRET

ISSUER = "http://mia.example"

pytestmark = pytest.mark.postgres


class RoundRobinTransport:
    """Plays a load balancer: each request goes to the next backend, whatever its URL's host."""

    def __init__(self, backends: list[str]) -> None:
        self._next = itertools.cycle(backends)
        self._http = HttpTransport()
        self.seen: list[str] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json: Any = None,
    ) -> HttpResponse:
        backend = urlsplit(next(self._next))
        self.seen.append(backend.netloc)
        target = urlsplit(url)._replace(scheme=backend.scheme, netloc=backend.netloc)
        return self._http.request(method, urlunsplit(target), headers=headers, data=data, json=json)


@pytest.fixture
def two_servers(tmp_path: Path, platform_ca: PlatformCA, postgres_url: str) -> Iterator[list[str]]:
    root = tmp_path / "root.pem"
    root.write_text(platform_ca.root_pem)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    ports = [free_port() for _ in range(2)]
    # Both start at once on a fresh database: their migrations and seeding race on purpose.
    processes = [
        start_server_process(
            port,
            {
                "MIA_ISSUER": ISSUER,
                "MIA_DATABASE_URL": postgres_url,
                "MIA_POLICY_FILE": str(policy),
                "MIA_TRUSTED_ROOTS": str(root),
                "MIA_DATA_DIR": str(tmp_path / f"node{index}"),
                "MIA_SECRET_KEY": "shared-session-secret",
            },
            (tmp_path / f"node{index}.log").open("w"),
        )
        for index, port in enumerate(ports)
    ]
    backends = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for backend, process in zip(backends, processes, strict=True):
            wait_until_healthy(backend, process)
        yield backends
    finally:
        for process in processes:
            stop_server_process(process)


def test_flows_hop_between_processes(two_servers: list[str], platform_ca: PlatformCA) -> None:
    balancer = RoundRobinTransport(two_servers)
    phone = Device(ISSUER, platform_ca, transport=balancer)
    phone.register_app()
    rp_auth = base64.b64encode(f"{RP_ID}:{RP_SECRET}".encode()).decode()
    created = balancer.request(
        "POST",
        f"{ISSUER}/rp/enrollments",
        headers={"Authorization": f"Basic {rp_auth}"},
        json={"user_id": "alice", "display_name": "Alice"},
    ).json()
    phone.enroll(qr=base64.b64decode(created["qr_png"]), pin=PIN)
    for _ in range(3):
        phone.login(pin=PIN)
        assert phone.call_api("/api/me").status == 200
        phone.refresh()
        assert phone.call_api("/api/accounts").status == 200
    assert set(balancer.seen) == {urlsplit(b).netloc for b in two_servers}

    # Single use holds across processes: a refresh token replayed on the other process is reuse.
    spent = phone.storage.refresh_token
    phone.refresh()
    replay = phone.token_request({"grant_type": "refresh_token", "refresh_token": spent})
    assert (replay.status, replay.json()["error"]) == (400, "invalid_grant")

    # The PIN limit is counted in the shared database, whichever process answers.
    remaining = []
    for _ in range(4):
        with pytest.raises(ServerError) as wrong:
            phone.login(pin="97531")
        remaining.append(wrong.value.extra["attempts_remaining"])
    assert remaining == [4, 3, 2, 1]
