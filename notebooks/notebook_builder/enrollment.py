"""Notebook 02: enrollment by QR code, the PIN key and its camouflage."""

from __future__ import annotations

from .cells import Cell, code, md
from .shared import RP_HELPER, intro, outro, wire_trace

FILENAME = "02-enrollment-by-qr.ipynb"


CELLS: list[Cell] = [
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
    *wire_trace("Enrollment by QR code"),
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
