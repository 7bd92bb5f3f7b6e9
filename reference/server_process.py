"""The reference server as a child process, for harnesses: `make run`, the load smoke, tests.

Settings travel as `MIA_*` environment variables (`reference.config.AppConfig.from_env`); the
child inherits none of the parent's own `MIA_*` variables, so a harness always says what it runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO

import requests

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server_process(
    port: int, settings: Mapping[str, str], log: IO[bytes] | IO[str] | int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """Start `python -m reference serve` on 127.0.0.1:`port` without waiting for it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MIA_")}
    env.update({"PORT": str(port), **settings})
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[bytes], timeout: float = STARTUP_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException as error:
            last_error = str(error)
        time.sleep(0.1)
    raise RuntimeError(f"{base_url}/healthz did not answer within {timeout:.0f} s ({last_error})")


def stop_server_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def server_process(
    port: int, settings: Mapping[str, str], log: IO[bytes] | IO[str] | int = subprocess.DEVNULL
) -> Iterator[subprocess.Popen[bytes]]:
    """A running reference server on 127.0.0.1:`port`, stopped when the block ends."""
    process = start_server_process(port, settings, log)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        yield process
    finally:
        stop_server_process(process)
