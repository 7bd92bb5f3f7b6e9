"""Scanning a QR code the way the phone camera does: decode a real image with zxing-cpp."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image

ENROLL_SCHEME = "mia"
ENROLL_HOST = "enroll"


class QrError(ValueError):
    """No QR code in the image, or it does not carry a MIA enrollment URI."""


def decode(png_bytes: bytes) -> str:
    """The text of the (first) QR code in an image (PNG, or any format Pillow reads)."""
    try:
        with Image.open(io.BytesIO(png_bytes)) as opened:
            image = opened.convert("L")
    except OSError as exc:
        raise QrError("the picture could not be read as an image") from exc
    results = zxingcpp.read_barcodes(image)
    if not results:
        raise QrError("no QR code found in the picture")
    return str(results[0].text)


def decode_file(path: str | os.PathLike[str]) -> str:
    return decode(Path(path).read_bytes())


def parse_enrollment_uri(uri: str) -> tuple[str, str]:
    """Split `mia://enroll?issuer=<urlencoded ISSUER>&code=<code>` (spec §4.2)."""
    parts = urlsplit(uri.strip())
    if parts.scheme != ENROLL_SCHEME or parts.netloc != ENROLL_HOST:
        raise QrError("this QR code is not a MIA enrollment code")
    query = parse_qs(parts.query, keep_blank_values=False, strict_parsing=False)
    issuers, codes = query.get("issuer", []), query.get("code", [])
    if len(issuers) != 1 or len(codes) != 1:
        raise QrError("the enrollment code must carry exactly one issuer and one code")
    return issuers[0], codes[0]
