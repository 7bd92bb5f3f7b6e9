"""Notebook 03: PIN login, DPoP-bound tokens, refresh, the protected API and lockout."""

from __future__ import annotations

from .cells import Cell, code, md
from .shared import RP_HELPER, intro, outro, wire_trace

FILENAME = "03-pin-login-and-tokens.ipynb"


CELLS: list[Cell] = [
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
    *wire_trace("PIN login, API call, refresh"),
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
