"""QR scanning with zxing-cpp and the screen model."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import qrcode

from reference.core.errors import CATALOGUE
from simulator import qr
from simulator.screens import SCREEN_TEXTS, Screen, describe, screen_for_error

URI = "mia://enroll?issuer=http%3A%2F%2F127.0.0.1%3A8000&code=Zm9vYmFyX2Jhei0xMjM0NTY3ODkwYWJjZGVmZ2hpams"


def _png(text: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text).save(buffer)
    return buffer.getvalue()


def test_decode_png_made_with_qrcode() -> None:
    assert qr.decode(_png(URI)) == URI


def test_decode_file_and_parse(tmp_path: Path) -> None:
    path = tmp_path / "qr.png"
    path.write_bytes(_png(URI))
    issuer, code = qr.parse_enrollment_uri(qr.decode_file(path))
    assert issuer == "http://127.0.0.1:8000"
    assert code == "Zm9vYmFyX2Jhei0xMjM0NTY3ODkwYWJjZGVmZ2hpams"


def test_no_qr_code_and_not_an_image() -> None:
    from PIL import Image

    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, format="PNG")
    with pytest.raises(qr.QrError):
        qr.decode(blank.getvalue())
    with pytest.raises(qr.QrError):
        qr.decode(b"not a png")


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/enroll?issuer=x&code=y",
        "mia://login?issuer=x&code=y",
        "mia://enroll?issuer=x",
        "mia://enroll?code=y",
        "mia://enroll?issuer=x&issuer=z&code=y",
    ],
)
def test_bad_enrollment_uris(uri: str) -> None:
    with pytest.raises(qr.QrError):
        qr.parse_enrollment_uri(uri)


def test_every_catalogue_screen_exists_and_has_text() -> None:
    for code, entry in CATALOGUE.items():
        screen = screen_for_error(code)
        assert screen.value == entry.app_screen, code
        assert screen.is_error
    assert set(SCREEN_TEXTS) == set(Screen)
    for screen in Screen:
        assert screen.title and screen.text


def test_unknown_code_falls_back_to_generic() -> None:
    assert screen_for_error("no_such_error") is Screen.ERROR_GENERIC
    assert "Something went wrong" in describe(Screen.ERROR_GENERIC, "x")


def test_named_screens() -> None:
    names = {
        "welcome",
        "register_app",
        "scan_qr",
        "choose_pin",
        "confirm_pin",
        "enable_biometrics",
        "enrolled",
        "pin_login",
        "home",
        "accounts",
        "logged_out",
    }
    assert names <= {screen.value for screen in Screen}
