"""The demo web site: sign-in, CSRF, and "add your phone" in a real browser with a real QR scan."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from simulator import Device, HttpTransport, PlatformCA
from tests.conftest import PIN, RunningServer, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def test_sign_in_requires_the_right_password_and_a_csrf_token(sqlite_server: RunningServer) -> None:
    browser = sqlite_server.app.test_client()
    csrf = _csrf(browser.get("/demo/login").get_data(as_text=True))
    no_csrf = browser.post("/demo/login", data={"username": "alice", "password": "alice-password"})
    assert no_csrf.status_code == 400
    wrong = browser.post(
        "/demo/login", data={"csrf": csrf, "username": "alice", "password": "nope"}
    )
    assert "wrong password" in wrong.get_data(as_text=True)
    unknown = browser.post(
        "/demo/login", data={"csrf": csrf, "username": "eve", "password": "nope"}
    )
    assert "wrong password" in unknown.get_data(as_text=True)  # same answer: no enumeration
    signed_in = browser.post(
        "/demo/login", data={"csrf": csrf, "username": "alice", "password": "alice-password"}
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/demo/devices")


def test_enrollment_status_is_private_to_the_session(sqlite_server: RunningServer) -> None:
    owner = sqlite_server.app.test_client()
    csrf = _csrf(owner.get("/demo/login").get_data(as_text=True))
    owner.post(
        "/demo/login", data={"csrf": csrf, "username": "alice", "password": "alice-password"}
    )
    csrf = _csrf(owner.get("/demo/devices").get_data(as_text=True))  # a new session, a new token
    response = owner.post("/demo/enrollments", data={"csrf": csrf})
    assert response.headers["X-Frame-Options"] == "DENY"  # the QR code cannot be framed
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    status_path = re.search(r'fetch\("([^"]+/status)"\)', page)
    assert status_path
    assert owner.get(status_path.group(1)).json == {"status": "pending"}
    stranger = sqlite_server.app.test_client()
    assert stranger.get(status_path.group(1)).status_code == 404


@pytest.fixture
def live_server(tmp_path: Path, platform_ca: PlatformCA) -> Iterator[tuple[str, RunningServer]]:
    probe = make_server("127.0.0.1", 0, lambda environ, start: [])
    port = probe.server_port
    probe.server_close()
    issuer = f"http://127.0.0.1:{port}"
    running = start_server(
        tmp_path, platform_ca, f"sqlite:///{tmp_path / 'live.db'}", issuer=issuer
    )
    http = make_server("127.0.0.1", port, running.app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield issuer, running
    http.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_add_your_phone_in_a_real_browser(
    live_server: tuple[str, RunningServer], tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    issuer, running = live_server
    phone = Device(issuer, running.platform_ca, transport=HttpTransport())
    phone.register_app()
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(f"{issuer}/demo/")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "alice-password")
            page.click("button[type=submit]")
            page.click("#add-phone")
            page.wait_for_selector("#qr-image")
            assert page.text_content("#status") == "Waiting for your phone\u2026"
            # The phone's camera: a screenshot of what the browser shows, decoded by zxing-cpp.
            shot = tmp_path / "qr.png"
            page.locator("#qr-image").screenshot(path=str(shot))
            phone.enroll(qr=shot, pin=PIN)
            page.wait_for_selector("#status[data-status=completed]", timeout=10_000)
            assert "Your phone was added" in (page.text_content("#status") or "")
            page.screenshot(path=str(tmp_path / "enrolled.png"))
        finally:
            browser.close()
    assert phone.login(pin=PIN).access_token
