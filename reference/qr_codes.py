"""QR code images for enrollment URIs (PNG and SVG), rendered with `qrcode`."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _qr(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    _qr(data).make_image().save(buffer)
    return buffer.getvalue()


def qr_png_base64(data: str) -> str:
    return base64.b64encode(qr_png(data)).decode("ascii")


def qr_svg(data: str) -> str:
    image = _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return str(image.to_string(encoding="unicode"))
