"""Generate the teaching notebooks with outputs stripped.

    python notebooks/build_notebooks.py          # rewrite notebooks/*.ipynb
    python notebooks/build_notebooks.py --check  # exit 1 if a notebook differs from this script

The notebooks are written from this script so that a review reads plain Python and Markdown. Each
notebook starts the reference server in-process (werkzeug `make_server` on a free port, SQLite in
a temporary directory), drives the device simulator over real HTTP, shows the real messages, draws
the sequence of the exchanges it made and stops the server at the end.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

Cell = tuple[str, str]


def md(text: str) -> Cell:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> Cell:
    return ("code", textwrap.dedent(text).strip("\n"))


# --------------------------------------------------------------------------------------------
# Shared cells: start the server, record the exchanges, pretty-print JWTs, draw the sequence.
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# 01: registration and integrity
# --------------------------------------------------------------------------------------------

NOTEBOOK_01: list[Cell] = [
    *intro(
        "01 · App registration with platform attestation",
        """
        Each installation of the bank app registers itself once: it creates a key in the phone's
        secure hardware, asks the platform (Play Integrity / App Attest, simulated here) for an
        attestation over a fresh server nonce, and sends it to the server, which checks app
        integrity, device integrity and the versions allowed by policy
        (`docs/spec/02-registration.md`). From then on the app proves who it is on every call with
        a `private_key_jwt` client assertion (`docs/spec/03-client-authentication.md`).

        ```mermaid
        sequenceDiagram
            participant App as App (simulator)
            participant Platform as Platform attestation (simulated)
            participant MIA as MIA server
            App->>MIA: GET /.well-known/oauth-authorization-server
            MIA-->>App: metadata (endpoints, algorithms, PIN policy)
            App->>MIA: POST /register/nonce
            MIA-->>App: 201 {nonce, expires_in: 120}
            App->>App: generate client key in the keystore
            App->>Platform: attest(nonce, client public key)
            Platform-->>App: platform-attestation+jwt (x5c chain)
            App->>MIA: POST /register {attestation}
            MIA->>MIA: chain, signature, nonce (single use), app, version, OS, verdict
            MIA-->>App: 201 {client_id, token_endpoint_auth_method: private_key_jwt}
        ```
        """,
    ),
    md(
        """
        ## Discovery (§1.1)

        The app reads the authorization-server metadata (RFC 8414). Every endpoint it uses comes
        from here; the PIN policy it enforces while enrolling does too.
        """
    ),
    code(
        """
        phone = Device(
            issuer=ISSUER,
            platform_ca=platform_ca,
            app=AppBuild.genuine(),          # com.example.bank 2.0.0, genuine signing certificate
            os_name="android",
            os_version="14",
            transport=RecordingTransport("App"),
        )
        metadata = phone.metadata
        show_json("metadata (selected members)", {
            k: metadata[k] for k in (
                "issuer", "registration_endpoint", "mia_registration_nonce_endpoint",
                "token_endpoint", "token_endpoint_auth_methods_supported",
                "mia_attestation_formats_supported", "mia_pin_policy",
            ) if k in metadata
        })
        show_json("JWKS (§1.2): the server's signing keys, random key ids",
                  requests.get(metadata["jwks_uri"]).json())
        """
    ),
    md(
        """
        ## Registration (§2.3 – §2.6)

        `register_app()` asks for a nonce, creates the client key in the simulated keystore (the
        private key can never be read out), has the platform attest it and posts the attestation.
        """
    ),
    code(
        """
        client_id = phone.register_app()
        print("client_id:", client_id)
        show_json("POST /register/nonce → " + str(last("/register/nonce").status),
                  last("/register/nonce").response)
        """
    ),
    md(
        """
        ### The platform attestation (§2.4.1)

        A JWS with `typ: platform-attestation+jwt`, signed by a leaf key whose certificate chain
        (`x5c`) ends at the platform root the server trusts. Its claims bind the server's nonce
        to the app (id, version, signing-certificate digest), the device verdict, the OS and the
        attested public key — the key the app will sign its client assertions with.
        """
    ),
    code(
        """
        registration = last("/register")
        attestation = registration.body["attestation"]
        claims = show_jwt("platform attestation", attestation)

        from cryptography import x509
        header = decode_unverified(attestation).header
        for index, der in enumerate(header["x5c"]):
            cert = x509.load_der_x509_certificate(base64.b64decode(der))
            print(f"x5c[{index}]: subject={cert.subject.rfc4514_string()}  "
                  f"issuer={cert.issuer.rfc4514_string()}")
        print("attested key = keystore client key:",
              claims["attested_key"] == phone.keystore.public_jwk("client"))
        """
    ),
    code(
        """
        show_json("POST /register → " + str(registration.status), registration.response)
        """
    ),
    md(
        """
        ## Client authentication (§3.2)

        Every later call from the app carries a fresh client assertion (RFC 7523 `private_key_jwt`)
        signed with the attested key: `iss = sub = client_id`, `aud` = the issuer, a single-use
        `jti` and a short lifetime. Here is one, as the app would send it.
        """
    ),
    code(
        """
        _ = show_jwt("client assertion", phone.client_assertion())
        """
    ),
    md(
        """
        ## What went over the wire

        The exchanges recorded above, drawn as a sequence diagram (requests in blue, answers
        green for 2xx and red otherwise).
        """
    ),
    code(
        """
        draw_trace(TRACE, "App registration")
        """
    ),
    md(
        """
        ## Negative cases (§2.4.2, §2.5)

        The server checks the attestation in a fixed order and answers each failure with its own
        error code (`docs/spec/10-errors.md`), which the app maps to a screen. Each case below
        changes exactly one thing about the phone:

        * a **tampered** (repackaged) build — same app id and version, different signing
          certificate → `app_integrity_failed`;
        * a **rooted** phone — verdict `MEETS_BASIC_INTEGRITY` only → `device_integrity_failed`;
        * an **emulator** — empty verdict → `device_integrity_failed`;
        * an **old OS** (Android 9, policy minimum 12) → `os_update_required`;
        * a **disabled app version** (1.0.0) → `app_update_required`;
        * a **replayed nonce** — an attestation over a nonce already used → `invalid_nonce`.
        """
    ),
    code(
        """
        from simulator.device import error_from_response


        def new_phone(**switches) -> Device:
            options = {"app": AppBuild.genuine(), "os_version": "14", **switches}
            return Device(issuer=ISSUER, platform_ca=platform_ca, transport=HttpTransport(),
                          **options)


        def replayed_nonce() -> str:
            attacker = new_phone()
            nonce = attacker.request_registration_nonce()
            attacker.keystore.generate("client")
            first = attacker.post_json(phone.endpoint("registration_endpoint"),
                                       {"attestation": attacker.attestation(nonce)})
            assert first.status == 201
            second = attacker.post_json(phone.endpoint("registration_endpoint"),
                                        {"attestation": attacker.attestation(nonce)})
            raise error_from_response(second)  # the ServerError the app would raise


        rows = [
            attempt("genuine app, genuine phone", lambda: new_phone().register_app()),
            attempt("tampered app", lambda: new_phone(app=AppBuild.tampered()).register_app()),
            attempt("rooted phone", lambda: new_phone(rooted=True).register_app()),
            attempt("emulator", lambda: new_phone(emulator=True).register_app()),
            attempt("Android 9", lambda: new_phone(os_version="9").register_app()),
            attempt("app 1.0.0 (disabled)",
                    lambda: new_phone(app=AppBuild.genuine(version="1.0.0")).register_app()),
            attempt("nonce used twice", replayed_nonce),
        ]
        table(rows)
        """
    ),
    md(
        """
        The genuine case answers with a fresh `client_id`; every other case is refused with the
        specific error, and the simulator shows the matching screen (e.g. "update the app").
        """
    ),
    *outro(),
]

# --------------------------------------------------------------------------------------------
# 02: enrollment by QR
# --------------------------------------------------------------------------------------------

NOTEBOOK_02: list[Cell] = [
    *intro(
        "02 · Enrollment by QR code",
        """
        A user signed in to the bank's web site adds their phone. The bank's backend asks MIA for
        an enrollment; the page shows a QR code with a single-use, five-minute code bound to that
        user. The registered app scans it, the user chooses a PIN (policy from the server), and
        the app registers the public key of a new PIN key pair. The web page learns that the
        enrollment finished (`docs/spec/04-enrollment.md`). On the phone, the PIN key is kept
        only in camouflaged form (`docs/spec/05-pin-login.md` §5.1).

        ```mermaid
        sequenceDiagram
            participant Web as Bank backend (web page)
            participant App as App (simulator)
            participant MIA as MIA server
            Web->>MIA: POST /rp/enrollments (client_secret_basic) {user_id, display_name}
            MIA-->>Web: 201 {enrollment_id, enrollment_uri, qr_png, status_url}
            Note over Web,App: the page shows the QR code; the user scans it
            App->>MIA: POST /enroll/begin {client_assertion, code}
            MIA-->>App: 200 {enrollment_session, user, pin_policy}
            App->>App: user chooses PIN; create PIN key pair
            App->>MIA: POST /enroll/complete {client_assertion, session, pin_public_key}
            MIA-->>App: 201 {authenticator_id, user_id}
            App->>App: keep only salt + masked scalar (camouflage)
            Web->>MIA: GET /rp/enrollments/{id}
            MIA-->>Web: {status: completed}
        ```
        """,
    ),
    md(
        """
        ## A registered app

        Enrollment needs a registered app (notebook 01), so we register one first.
        """
    ),
    RP_HELPER,
    code(
        """
        PIN = "24681"  # five digits, no sequence, no repeat, not on the blocklist (§4.1)
        phone = Device(issuer=ISSUER, platform_ca=platform_ca, transport=RecordingTransport("App"))
        print("registered as", phone.register_app())
        TRACE.clear()  # from here on, record only the enrollment
        """
    ),
    md(
        """
        ## The bank's backend creates the enrollment (§4.2)

        The relying party authenticates with `client_secret_basic` (§3.3). The answer carries the
        enrollment URI and the same URI as a QR code (PNG and SVG). Only the SHA-256 of the code
        is stored by the server.
        """
    ),
    code(
        """
        enrollment = create_enrollment("alice", "Alice Doe")
        show_json("POST /rp/enrollments → 201", enrollment)
        qr_png = base64.b64decode(enrollment["qr_png"])
        display(Image(data=qr_png, width=220))
        """
    ),
    code(
        """
        from simulator import qr
        print("the QR code decodes (zxing-cpp) to:", qr.decode(qr_png))
        show_json("status before scanning", enrollment_status(enrollment))
        """
    ),
    md(
        """
        ## The phone scans the code and enrolls (§4.3, §4.4)

        `enroll()` decodes the PNG, checks the chosen PIN against the policy *before* spending the
        single-use code, begins the enrollment, creates the PIN key pair, completes the enrollment
        with its public key, and then keeps only the camouflaged private scalar.
        """
    ),
    code(
        """
        authenticator_id = phone.enroll(qr=qr_png, pin=PIN)
        print("authenticator_id:", authenticator_id)
        begin = last("/enroll/begin")
        show_jwt("client assertion sent with /enroll/begin", begin.body["client_assertion"])
        show_json("POST /enroll/begin request (without the assertion)",
                  {k: v for k, v in begin.body.items() if k != "client_assertion"})
        show_json(f"POST /enroll/begin → {begin.status}", begin.response)
        """
    ),
    code(
        """
        complete = last("/enroll/complete")
        show_json("POST /enroll/complete request (without the assertion)",
                  {k: v for k, v in complete.body.items() if k != "client_assertion"})
        show_json(f"POST /enroll/complete → {complete.status}", complete.response)
        show_json("status after enrolling (the web page polls this)", enrollment_status(enrollment))
        """
    ),
    md(
        """
        ## What the phone keeps (§5.1: cryptographic camouflage)

        App storage — the part an attacker can copy — holds the `authenticator_id`, a salt and the
        masked scalar `(d + k) mod n` with `k` derived from the PIN. It holds neither the public
        key nor anything signed with it, so a copy cannot test PIN guesses offline: **every** PIN
        unmasks a valid-looking P-256 key, and only the server can tell which one is right.
        """
    ),
    code(
        """
        show_json("app storage", json.loads(phone.storage.to_json()))

        from reference.core.jose import b64u_decode, public_jwk
        from simulator import pin_camouflage
        salt = b64u_decode(phone.storage.pin_salt)
        masked = b64u_decode(phone.storage.pin_masked_key)
        registered = complete.body["pin_public_key"]
        for guess in (PIN, "97531", "86420"):
            key = pin_camouflage.recover(salt, masked, guess)
            matches = public_jwk(key.public_key()) == registered
            print(f"PIN {guess}: valid P-256 key, x={public_jwk(key.public_key())['x'][:16]}…, "
                  f"matches the registered key: {matches}")
        """
    ),
    md("## What went over the wire"),
    code(
        """
        draw_trace(TRACE, "Enrollment by QR code")
        """
    ),
    md(
        """
        ## Negative cases (§4.1, §4.3)

        * the same QR code scanned again by **another phone** → `invalid_enrollment_code` (single
          use, §4.3);
        * an **unknown code** → `invalid_enrollment_code`;
        * a PIN that breaks the **policy** (a sequence, a repeat, a blocklisted PIN) is refused by
          the app before the code is spent (`PinPolicyViolation`).
        """
    ),
    code(
        """
        other = Device(issuer=ISSUER, platform_ca=platform_ca, transport=HttpTransport())
        other.register_app()
        rows = [
            attempt("same QR code, second phone", lambda: other.enroll(qr=qr_png, pin="36912")),
            attempt("unknown code",
                    lambda: other.enroll(qr=f"mia://enroll?issuer={ISSUER}&code=bm9wZQ",
                                         pin="36912")),
        ]
        table(rows)

        from simulator import PinPolicyViolation
        fresh = create_enrollment("bob", "Bob Smith")
        for bad_pin in ("12345", "77777", "24680", "1234"):
            try:
                other.enroll(qr=fresh["enrollment_uri"], pin=bad_pin)
            except PinPolicyViolation as error:
                print(f"PIN {bad_pin!r} refused by the app: {error}")
        print("status of Bob's enrollment (code not spent):", enrollment_status(fresh)["status"])
        print("Bob enrolls with a good PIN:", other.enroll(qr=fresh["enrollment_uri"], pin="36912"))
        """
    ),
    *outro(),
]

# --------------------------------------------------------------------------------------------
# 03: PIN login and tokens
# --------------------------------------------------------------------------------------------

NOTEBOOK_03: list[Cell] = [
    *intro(
        "03 · Login with PIN, DPoP-bound tokens, refresh and the protected API",
        """
        The enrolled app logs the user in: it asks for a challenge, unlocks the PIN key with the
        PIN the user typed, signs the challenge (the *authenticator assertion*) and exchanges it
        at the token endpoint for a JWT access token bound to the app's DPoP key, plus a rotating
        refresh token (`docs/spec/05-pin-login.md`, `06-dpop.md`, `07-refresh-tokens.md`). The
        sample API checks the token and a DPoP proof on every call (`09-protected-api.md`). A
        wrong PIN still yields a valid-looking signature — only the server can tell, and it counts
        every failure (§5.4).

        ```mermaid
        sequenceDiagram
            participant App as App (simulator)
            participant MIA as MIA server
            participant API as Sample API
            App->>MIA: POST /login/challenge {client_assertion}
            MIA-->>App: 201 {challenge, expires_in: 60}
            App->>App: PIN unmasks PIN key; sign authenticator assertion
            App->>MIA: POST /token (DPoP proof) authenticator-assertion grant
            MIA->>MIA: client auth, DPoP, assertion, challenge, signature or failure count
            MIA-->>App: 200 {access_token (at+jwt, cnf.jkt), refresh_token, token_type: DPoP}
            App->>API: GET /api/me  Authorization: DPoP at, DPoP: proof(ath)
            API-->>App: 200 {sub, client_id, scope, amr}
            App->>MIA: POST /token (DPoP proof) grant=refresh_token
            MIA-->>App: 200 new tokens (old refresh token spent)
        ```
        """,
    ),
    RP_HELPER,
    code(
        """
        PIN = "24681"
        phone = Device(issuer=ISSUER, platform_ca=platform_ca, transport=RecordingTransport("App"))
        phone.register_app()
        phone.enroll(qr=create_enrollment("alice", "Alice Doe")["enrollment_uri"], pin=PIN)
        print("registered and enrolled:", phone.client_id, phone.authenticator_id)
        TRACE.clear()  # from here on, record only the login
        """
    ),
    md(
        """
        ## Log in (§5.2, §5.3)
        """
    ),
    code(
        """
        tokens = phone.login(pin=PIN)
        challenge = last("/login/challenge")
        show_jwt("client assertion at /login/challenge", challenge.body["client_assertion"])
        show_json(f"POST /login/challenge → {challenge.status}", challenge.response)
        """
    ),
    md(
        """
        ### The token request (§5.3.1)

        A form post with the grant type, the authenticator assertion (`typ:
        authenticator-assertion+jwt`, `kid` = the authenticator id, the challenge, `amr: ["pin"]`),
        the client assertion — and a `DPoP` header: a proof signed by the app's DPoP key, whose
        public key travels in the proof's header (§6.1.1).
        """
    ),
    code(
        """
        token_call = last("/token")
        show_json("form fields", {k: v for k, v in token_call.body.items()})
        show_jwt("authenticator assertion", token_call.body["assertion"])
        dpop_claims = show_jwt("DPoP proof (header DPoP)", token_call.headers["DPoP"])
        """
    ),
    md(
        """
        ### The token response and the access token (§5.5, RFC 9068)

        The access token is a JWT with `typ: at+jwt`, signed by the server key named by `kid`
        (published in the JWKS). `cnf.jkt` is the RFC 7638 thumbprint of the DPoP key: the token
        is useless without that key.
        """
    ),
    code(
        """
        show_json(f"POST /token → {token_call.status}", token_call.response)
        at_claims = show_jwt("access token", tokens.access_token)
        dpop_jwk = decode_unverified(token_call.headers["DPoP"]).header["jwk"]
        print("cnf.jkt == thumbprint of the DPoP key:",
              at_claims["cnf"]["jkt"] == jwk_thumbprint(dpop_jwk))
        """
    ),
    md(
        """
        ## Call the protected API (§9.1)

        `Authorization: DPoP <access token>` plus a fresh proof for this method and URL with
        `ath`, the hash of the access token.
        """
    ),
    code(
        """
        me = phone.call_api("/api/me")
        show_jwt("DPoP proof for GET /api/me", last("/api/me").headers["DPoP"])
        show_json(f"GET /api/me → {me.status}", me.json)
        show_json("GET /api/accounts", phone.call_api("/api/accounts").json)
        """
    ),
    md(
        """
        ## Refresh (§7.2)

        The refresh grant needs a DPoP proof with the same key. Each use rotates the refresh
        token; the old one is spent.
        """
    ),
    code(
        """
        old_refresh = phone.storage.refresh_token
        refreshed = phone.refresh()
        print("new refresh token differs:", refreshed.refresh_token != old_refresh)
        show_json("refresh form", last("/token").body)
        """
    ),
    md("## What went over the wire"),
    code(
        """
        draw_trace(TRACE, "PIN login, API call, refresh")
        """
    ),
    md(
        """
        ## Negative cases

        * **DPoP replay** (§6.2): the same proof sent twice — the second is refused (`jti` seen).
        * **Refresh-token reuse** (§7.3): presenting the spent refresh token revokes the whole
          family, so even the newest refresh token stops working.
        * **Stolen access token** (§6.3): a token presented with a proof from another key is
          refused.
        """
    ),
    code(
        """
        proof = phone.dpop_proof("GET", f"{ISSUER}/api/me", access_token=phone.tokens.access_token)
        first = phone.api_request("/api/me", dpop=proof)
        second = phone.api_request("/api/me", dpop=proof)
        print("first use of the proof :", first.status)
        print("second use of the proof:", second.status, second.headers.get("WWW-Authenticate"))

        reuse = phone.token_request({"grant_type": "refresh_token", "refresh_token": old_refresh})
        print("spent refresh token    :", reuse.status, reuse.json())
        rows = [attempt("newest refresh token after reuse", phone.refresh)]

        from cryptography.hazmat.primitives.asymmetric import ec
        thief_key = ec.generate_private_key(ec.SECP256R1())
        phone.login(pin=PIN)
        from reference.core.jose import public_jwk
        stolen = phone.api_request(
            "/api/me",
            dpop=phone.dpop_proof("GET", f"{ISSUER}/api/me", access_token=phone.tokens.access_token,
                                  sign_with=thief_key, jwk=public_jwk(thief_key.public_key())),
        )
        print("token with thief's proof:", stolen.status, stolen.headers.get("WWW-Authenticate"))
        table(rows)
        """
    ),
    md(
        """
        ## Wrong PIN, counting down to lockout (§5.4)

        A wrong PIN unmasks a *different* valid key, so the assertion's signature does not verify.
        The server increments the failure counter atomically and answers `pin_incorrect` with
        `attempts_remaining`; at the policy's limit (5) it deregisters the authenticator and
        answers `authenticator_locked`. The app then forgets the useless PIN key and sends the
        user to re-enrollment.
        """
    ),
    code(
        """
        rows = []
        for attempt_number in range(1, 6):
            try:
                phone.login(pin="97531")
            except ServerError as error:
                rows.append({"attempt": attempt_number, "status": error.status, "error": error.code,
                             "attempts_remaining": error.attempts_remaining,
                             "app screen": error.screen.value})
        table(rows)
        print("still enrolled on the phone:", phone.storage.enrolled)
        """
    ),
    code(
        """
        from simulator import DeviceStateError
        try:
            phone.login(pin=PIN)
        except DeviceStateError as error:
            print("the right PIN no longer helps:", error)
        print("recovery: re-enroll with a new QR code ->",
              phone.enroll(qr=create_enrollment("alice", "Alice Doe")["enrollment_uri"], pin=PIN))
        print("login works again, scope:", phone.login(pin=PIN).scope)
        phone.logout()
        print("logged out; refresh token revoked")
        """
    ),
    *outro(),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01-registration-and-integrity.ipynb": NOTEBOOK_01,
    "02-enrollment-by-qr.ipynb": NOTEBOOK_02,
    "03-pin-login-and-tokens.ipynb": NOTEBOOK_03,
}


def build(cells: list[Cell]) -> nbformat.NotebookNode:
    notebook = new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        cell["id"] = f"cell-{index:02d}"  # stable ids keep diffs small
        notebook.cells.append(cell)
    return notebook


def render(cells: list[Cell]) -> str:
    return str(nbformat.writes(build(cells)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the notebooks")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = args.out / name
        text = render(cells) + "\n"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        path.write_text(text)
        print("wrote", path)
    if stale:
        print("out of date (run notebooks/build_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
