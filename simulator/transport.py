"""How the simulated app talks HTTP: over a real socket (requests) or straight into a WSGI app.

Both transports offer one method, `request(method, url, *, headers=None, data=None, json=None)`,
and return an `HttpResponse` (status, headers, body bytes, `.json()`). `WsgiTransport` lets tests
drive a Flask app in-process through werkzeug's test client, with no socket.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from werkzeug.test import Client

from simulator.errors import TransportError

DEFAULT_TIMEOUT = 10.0


class _CaseInsensitiveDict(dict[str, str]):
    """Header mapping with case-insensitive lookup (keys kept as received)."""

    def _find(self, key: str) -> str | None:
        lower = key.lower()
        for existing in self.keys():
            if existing.lower() == lower:
                return existing
        return None

    def __getitem__(self, key: str) -> str:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return super().__getitem__(found)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        found = self._find(key)
        return default if found is None else super().__getitem__(found)


@dataclass
class HttpResponse:
    """A received HTTP answer."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        self.headers = _CaseInsensitiveDict(self.headers)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError if it is not JSON)."""
        return _json.loads(self.body)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ValueError:
            return None


class Transport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json: Any = None,
    ) -> HttpResponse: ...


class HttpTransport:
    """Real HTTP via a `requests.Session`, with timeouts."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, verify: bool | str = True) -> None:
        self.session = requests.Session()
        self.timeout = timeout
        self.verify = verify

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json: Any = None,
    ) -> HttpResponse:
        try:
            response = self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                data=data,
                json=json,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TransportError(f"{method} {url} failed: {exc}") from exc
        return HttpResponse(response.status_code, dict(response.headers), response.content)

    def close(self) -> None:
        self.session.close()


class WsgiTransport:
    """In-process HTTP into a WSGI application (a Flask app or any WSGI callable).

    The scheme and host of the URL become the WSGI environ's `wsgi.url_scheme` and `HTTP_HOST`,
    so a server that builds URLs from the request sees the issuer the device uses.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = Client(app)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json: Any = None,
    ) -> HttpResponse:
        parts = urlsplit(url)
        base_url = f"{parts.scheme or 'http'}://{parts.netloc or 'localhost'}"
        path = parts.path or "/"
        kwargs: dict[str, Any] = {
            "method": method.upper(),
            "headers": list((headers or {}).items()),
            "base_url": base_url,
            "query_string": parts.query or None,
        }
        if json is not None:
            kwargs["json"] = json
        elif isinstance(data, Mapping):
            kwargs["data"] = dict(data)
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            kwargs["data"] = data
        response = self.client.open(path, **kwargs)
        try:
            return HttpResponse(
                response.status_code, dict(response.headers.items()), response.get_data()
            )
        finally:
            response.close()
