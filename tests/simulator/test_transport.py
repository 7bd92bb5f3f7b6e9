"""Transports: in-process WSGI and real HTTP over a socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from simulator import HttpTransport, TransportError, WsgiTransport
from simulator.transport import HttpResponse


def _echo_app() -> Flask:
    app = Flask("echo")

    @app.route("/echo", methods=["GET", "POST"])
    def echo():  # type: ignore[no-untyped-def]
        return (
            jsonify(
                method=request.method,
                url=request.url,
                host=request.host,
                args=request.args.to_dict(),
                form=request.form.to_dict(),
                json=request.get_json(silent=True),
                dpop=request.headers.get("DPoP"),
                content_type=request.content_type,
            ),
            201,
            {"X-Test": "yes"},
        )

    return app


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _echo_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def _check_echo(transport: WsgiTransport | HttpTransport, base: str) -> None:
    response = transport.request(
        "POST", f"{base}/echo?q=1", headers={"DPoP": "proof"}, data={"a": "b c"}
    )
    assert response.status == 201 and response.ok
    assert response.headers["x-test"] == "yes" and "X-TEST" in response.headers
    body = response.json()
    assert body["method"] == "POST"
    assert body["args"] == {"q": "1"}
    assert body["form"] == {"a": "b c"}
    assert body["dpop"] == "proof"
    assert body["url"] == f"{base}/echo?q=1"
    response = transport.request("POST", f"{base}/echo", json={"k": [1, 2]})
    assert response.json()["json"] == {"k": [1, 2]}
    assert response.json()["content_type"] == "application/json"
    missing = transport.request("GET", f"{base}/nope")
    assert missing.status == 404 and not missing.ok
    assert missing.json_or_none() is None


def test_wsgi_transport_keeps_scheme_and_host() -> None:
    _check_echo(WsgiTransport(_echo_app()), "https://mia.example:8443")


def test_http_transport(live_url: str) -> None:
    transport = HttpTransport(timeout=5)
    try:
        _check_echo(transport, live_url)
    finally:
        transport.close()


def test_http_transport_connection_error() -> None:
    with pytest.raises(TransportError):
        HttpTransport(timeout=1).request("GET", "http://127.0.0.1:9/unreachable")


def test_response_helpers() -> None:
    response = HttpResponse(200, {"Content-Type": "text/plain"}, b"hello")
    assert response.text == "hello"
    assert response.headers.get("content-type") == "text/plain"
    assert response.headers.get("missing", "d") == "d"
    with pytest.raises(ValueError):
        response.json()
