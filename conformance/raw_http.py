"""An HTTP request with exactly the given header lines (repeated names stay repeated)."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from reference.core.jose import b64u_decode as b64u_decode
from reference.core.jose import b64u_encode as b64u_encode
from reference.core.jose import jwk_thumbprint as jwk_thumbprint
from reference.core.jose import public_jwk as public_jwk


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    method: str, url: str, body: bytes, headers: list[tuple[str, str]], timeout: float = 10.0
) -> RawResponse:
    """One HTTP request with exactly these header lines (repeated names stay repeated)."""
    import http.client

    parts = urllib.parse.urlsplit(url)
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(parts.netloc, timeout=timeout)
    try:
        conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""))
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return RawResponse(resp.status, resp.read())
    finally:
        conn.close()
