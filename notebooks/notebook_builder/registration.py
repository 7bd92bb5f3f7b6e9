"""Notebook 01: app registration with platform attestation, client authentication."""

from __future__ import annotations

from .cells import Cell, code, md
from .shared import intro, outro, wire_trace

FILENAME = "01-registration-and-integrity.ipynb"


CELLS: list[Cell] = [
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
    *wire_trace(
        "App registration",
        """
        The exchanges recorded above, drawn as a sequence diagram (requests in blue, answers
        green for 2xx and red otherwise).
        """,
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
