"""Cells every notebook shares.

Start the server, record the exchanges, pretty-print JWTs, draw the sequence, stop the server;
plus the bank backend's (relying party's) helper used by the enrollment and login notebooks.
"""

from __future__ import annotations

import textwrap

from .cells import Cell, code, md

SETUP = code(
    """
    import base64
    import json
    import logging
    import shutil
    import tempfile
    import threading
    from dataclasses import dataclass
    from pathlib import Path
    from typing import Any
    from urllib.parse import urlsplit

    import matplotlib.pyplot as plt
    import requests
    from IPython.display import Image, Markdown, display
    from werkzeug.serving import make_server

    from reference import create_app
    from reference.config import AppConfig
    from reference.core.jose import decode_unverified, jwk_thumbprint
    from simulator import AppBuild, Device, HttpTransport, PlatformCA, ServerError

    # A fresh data directory: database, policy (copied from the default), platform CA.
    data_dir = Path(tempfile.mkdtemp(prefix="mia-notebook-"))
    platform_ca = PlatformCA.load_or_create(data_dir / "platform-ca")

    # Bind first (port 0 = any free port), so the issuer URL is known before the app is made.
    _apps: dict[str, Any] = {}
    server = make_server(
        "127.0.0.1", 0, lambda environ, start: _apps["mia"](environ, start), threaded=True
    )
    ISSUER = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        AppConfig(
            issuer=ISSUER,
            database_url=f"sqlite:///{data_dir / 'mia.db'}",
            policy_file=data_dir / "policy.toml",
            data_dir=data_dir,
            trusted_roots=(data_dir / "platform-ca" / "root.pem",),  # the simulated platform
        )
    )
    _apps["mia"] = app
    logging.getLogger("mia").setLevel(logging.WARNING)  # no request log lines in the notebook
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    server_thread.start()
    print("MIA reference server on", ISSUER, "->", requests.get(f"{ISSUER}/healthz").json())
    """
)

HELPERS = code(
    '''
    @dataclass
    class Exchange:
        actor: str
        method: str
        path: str
        headers: dict[str, str]
        body: Any
        status: int
        response: Any


    TRACE: list[Exchange] = []


    class RecordingTransport(HttpTransport):
        """Real HTTP (requests), keeping every exchange so we can read the messages."""

        def __init__(self, actor: str = "App") -> None:
            super().__init__()
            self.actor = actor

        def request(self, method, url, *, headers=None, data=None, json=None):
            response = super().request(method, url, headers=headers, data=data, json=json)
            TRACE.append(
                Exchange(
                    self.actor,
                    method,
                    urlsplit(url).path,
                    dict(headers or {}),
                    json if json is not None else data,
                    response.status,
                    response.json_or_none() if response.body else None,
                )
            )
            return response


    def last(path: str, actor: str | None = None) -> Exchange:
        """The most recent exchange with `path` (optionally by `actor`)."""
        for exchange in reversed(TRACE):
            if exchange.path == path and (actor is None or exchange.actor == actor):
                return exchange
        raise LookupError(path)


    def _short(value: Any, limit: int = 72) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 12] + "…" + value[-10:]
        if isinstance(value, dict):
            return {k: _short(v, limit) for k, v in value.items()}
        if isinstance(value, list):
            return [_short(v, limit) for v in value]
        return value


    def show_json(title: str, value: Any) -> None:
        print(f"── {title}")
        print(json.dumps(_short(value), indent=2, ensure_ascii=False))


    def show_jwt(title: str, token: str) -> dict[str, Any]:
        """Decode (without verifying) and print a compact JWS; returns its claims."""
        decoded = decode_unverified(token)
        print(f"══ {title}  ({len(token)} characters, signature {len(decoded.signature)} bytes)")
        print("header:", json.dumps(_short(decoded.header), indent=2, ensure_ascii=False))
        print("claims:", json.dumps(_short(decoded.claims), indent=2, ensure_ascii=False))
        return decoded.claims


    def attempt(label: str, action) -> dict[str, Any]:
        """Run `action`; report the server error it raised (or that it succeeded)."""
        try:
            result = action()
        except ServerError as error:
            return {
                "case": label,
                "status": error.status,
                "error": error.code,
                "app screen": error.screen.value,
                "detail": error.description or error.extra,
            }
        return {"case": label, "status": "ok", "error": "", "app screen": "", "detail": result}


    def table(rows: list[dict[str, Any]]) -> None:
        names = list(rows[0])
        lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        for row in rows:
            lines.append("| " + " | ".join(str(row[name]) for name in names) + " |")
        display(Markdown("\\n".join(lines)))


    def draw_trace(exchanges: list[Exchange], title: str) -> None:
        """A sequence diagram of recorded HTTP exchanges, drawn with matplotlib."""
        actors = list(dict.fromkeys(exchange.actor for exchange in exchanges))
        lanes = [*actors, "MIA server"]
        x = {name: index * 4.0 for index, name in enumerate(lanes)}
        height = 1.2 * len(exchanges) + 0.4
        fig, ax = plt.subplots(figsize=(3.2 * len(lanes) + 2, 0.55 * height + 1))
        for name in lanes:
            ax.plot([x[name], x[name]], [0, -height], color="lightgrey", zorder=0)
            ax.text(x[name], 0.35, name, ha="center", va="bottom", weight="bold",
                    bbox={"boxstyle": "round", "fc": "whitesmoke", "ec": "grey"})
        y = -0.6
        server_x = x["MIA server"]
        for exchange in exchanges:
            start = x[exchange.actor]
            ax.annotate("", xy=(server_x, y), xytext=(start, y),
                        arrowprops={"arrowstyle": "->", "color": "tab:blue"})
            ax.text((start + server_x) / 2, y + 0.08, f"{exchange.method} {exchange.path}",
                    ha="center", va="bottom", fontsize=8)
            y -= 0.55
            error = exchange.response.get("error") if isinstance(exchange.response, dict) else None
            colour = "tab:green" if 200 <= exchange.status < 300 else "tab:red"
            ax.annotate("", xy=(start, y), xytext=(server_x, y),
                        arrowprops={"arrowstyle": "->", "color": colour, "linestyle": "--"})
            ax.text((start + server_x) / 2, y + 0.08,
                    f"{exchange.status}" + (f" {error}" if error else ""),
                    ha="center", va="bottom", fontsize=8, color=colour)
            y -= 0.65
        ax.set_xlim(-2.5, server_x + 2.5)
        ax.set_ylim(-height, 1.2)
        ax.axis("off")
        ax.set_title(title)
        plt.show()
    '''
)

STOP = code(
    """
    server.shutdown()
    server_thread.join(timeout=5)
    server.server_close()
    shutil.rmtree(data_dir, ignore_errors=True)
    print("server stopped:", not server_thread.is_alive())
    """
)

RP_HELPER = code(
    '''
    RP_ID, RP_SECRET = "demo-bank-backend", "demo-bank-backend-secret"  # default demo policy
    bank = RecordingTransport("Bank backend")
    basic = "Basic " + base64.b64encode(f"{RP_ID}:{RP_SECRET}".encode()).decode()


    def create_enrollment(user_id: str, display_name: str) -> dict[str, Any]:
        """The bank's backend asks MIA for an enrollment QR code for a signed-in web user."""
        response = bank.request(
            "POST",
            f"{ISSUER}/rp/enrollments",
            headers={"Authorization": basic},
            json={"user_id": user_id, "display_name": display_name},
        )
        assert response.status == 201, response.text
        return response.json()


    def enrollment_status(enrollment: dict[str, Any]) -> dict[str, Any]:
        response = bank.request(
            "GET", enrollment["status_url"], headers={"Authorization": basic}
        )
        return response.json()
    '''
)


def intro(title: str, text: str) -> list[Cell]:
    return [
        md(f"# {title}\n\n{textwrap.dedent(text).strip()}"),
        md(
            """
            ## Start the reference server

            The notebook runs its own reference server in a background thread (werkzeug on a free
            port of 127.0.0.1, SQLite in a temporary directory, the default policy). The simulated
            platform attestation CA is created in the same directory, and the server is configured
            to trust its root — as a real deployment trusts Google's or Apple's attestation roots
            (`docs/spec/02-registration.md` §2.4.2).
            """
        ),
        SETUP,
        md(
            """
            A few helpers: a transport that records every HTTP exchange the simulated phone (or the
            bank's backend) makes, a JWT pretty-printer (decoding only — verification is the
            server's job), a table of error cases and a matplotlib sequence diagram of recorded
            exchanges.
            """
        ),
        HELPERS,
    ]


def outro() -> list[Cell]:
    return [md("## Stop the server"), STOP]


def wire_trace(title: str, text: str = "") -> list[Cell]:
    """Heading (with optional text) and a sequence diagram of every exchange recorded so far."""
    heading = "## What went over the wire"
    if text:
        heading += f"\n\n{textwrap.dedent(text).strip()}"
    return [md(heading), code(f'draw_trace(TRACE, "{title}")')]
