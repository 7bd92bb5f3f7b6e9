"""Property-based checks (hypothesis): signed bytes, single use, and no 5xx on junk input.

Every property runs a small, derandomized number of examples (config `max_examples`) without
shrinking, so a run is reproducible and a broken server is reported quickly with the example.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conformance.agent import Agent
from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import flip_byte, segment
from conformance.registry import check
from conformance.relying_party import enrollment_code
from conformance.results import CheckFailed

B64U_ALPHABET = string.ascii_letters + string.digits + "-_"
HEADER_ALPHABET = string.ascii_letters + string.digits + " -_.,=\"'/:;+*"


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _run(prop: Callable[..., None], strategy: st.SearchStrategy[Any], examples: int) -> None:
    """Run `prop` over `strategy`; a failure names the falsifying example."""
    last: list[Any] = []

    @_settings(examples)
    @given(strategy)
    def test(example: Any) -> None:
        last[:] = [example]
        prop(example)

    try:
        test()
    except CheckFailed as exc:
        raise CheckFailed(f"{exc.reason} [example: {last[0]!r}]") from None


FLIPS = st.tuples(st.integers(0, 2), st.integers(0, 4095), st.integers(1, 255))


def _flip_label(flip: tuple[int, int, int]) -> str:
    part, index, mask = flip
    return f"{('header', 'payload', 'signature')[part]} byte {index} ^ {mask:#04x}"


# --- any change to a signed byte is refused ------------------------------------------------------


@check(
    "PROP-FLIP-CLIENT-ASSERTION",
    section="3.2",
    title="Changing any byte of a client assertion gets it refused (property)",
)
def flip_client_assertion(ctx: Context) -> None:
    agent = ctx.shared_agent()

    def prop(flip: tuple[int, int, int]) -> None:
        token = flip_byte(agent.client_assertion(), *flip)
        expect_error(
            agent.post_challenge(token),
            "invalid_client",
            what=f"client assertion with {_flip_label(flip)}",
        )

    _run(prop, FLIPS, ctx.config.max_examples)


@check(
    "PROP-FLIP-DPOP-PROOF",
    section="6.2",
    title="Changing any byte of a DPoP proof gets it refused (property)",
)
def flip_dpop(ctx: Context) -> None:
    agent = ctx.shared_agent()

    def prop(flip: tuple[int, int, int]) -> None:
        proof = flip_byte(agent.dpop("POST", agent.token_url), *flip)
        form = agent.login_form(agent.auth_assertion(agent.challenge()))
        expect_error(
            agent.post_token(form, dpop=proof),
            "invalid_dpop_proof",
            what=f"DPoP proof with {_flip_label(flip)}",
        )

    _run(prop, FLIPS, ctx.config.max_examples)


ASSERTION_REFUSALS = {"invalid_grant", "pin_incorrect", "authenticator_locked"}


@check(
    "PROP-FLIP-AUTH-ASSERTION",
    section="5.3",
    title="Changing any byte of an authenticator assertion gets it refused (property)",
)
def flip_auth_assertion(ctx: Context) -> None:
    agents = [ctx.enrolled_agent()]

    def prop(flip: tuple[int, int, int]) -> None:
        agent = agents[-1]
        token = flip_byte(agent.auth_assertion(agent.challenge()), *flip)
        resp = agent.post_token(agent.login_form(token))
        what = f"authenticator assertion with {_flip_label(flip)}"
        try:
            error = resp.json().get("error")
        except ValueError:
            error = None
        if resp.status_code != 400 or error not in ASSERTION_REFUSALS:
            raise CheckFailed(
                f"{what}: expected 400 invalid_grant or pin_incorrect, got HTTP "
                f"{resp.status_code} {resp.text[:200]}"
            )
        if error == "pin_incorrect":
            expect_status(agent.login_response(), 200, "login resetting the failure counter")
        elif error == "authenticator_locked":
            agents.append(ctx.enrolled_agent())

    _run(prop, FLIPS, ctx.config.max_examples)


@check(
    "PROP-FLIP-ACCESS-TOKEN",
    section="9.2",
    title="Changing any byte of an access token gets it refused at the API (property)",
)
def flip_access_token(ctx: Context) -> None:
    agent = ctx.shared_agent()
    token = str(agent.login()["access_token"])

    def prop(flip: tuple[int, int, int]) -> None:
        forged = flip_byte(token, *flip)
        expect_error(
            agent.api("/api/me", forged),
            "invalid_token",
            401,
            what=f"access token with {_flip_label(flip)}",
        )

    _run(prop, FLIPS, ctx.config.max_examples)


# --- single-use values are never accepted twice ---------------------------------------------------

REUSE = st.tuples(st.integers(1, 3), st.booleans())  # (extra uses, by another client)


def _once_examples(ctx: Context) -> int:
    return max(1, min(ctx.config.max_examples, 8))


@check(
    "PROP-ONCE-NONCE",
    section="2.3",
    title="A registration nonce is never accepted twice (property)",
)
def once_nonce(ctx: Context) -> None:
    def prop(reuse: tuple[int, bool]) -> None:
        agent = ctx.new_agent()
        nonce = agent.nonce()
        expect_status(agent.post_register(agent.attestation(nonce)), 201, "first registration")
        for attempt in range(reuse[0]):
            other = ctx.new_agent() if reuse[1] else agent
            expect_error(
                other.post_register(other.attestation(nonce)),
                "invalid_nonce",
                what=f"registration #{attempt + 2} with the same nonce",
            )

    _run(prop, REUSE, _once_examples(ctx))


@check(
    "PROP-ONCE-CHALLENGE",
    section="5.2",
    title="A login challenge is never accepted twice (property)",
)
def once_challenge(ctx: Context) -> None:
    agent = ctx.shared_agent()

    def prop(reuse: tuple[int, bool]) -> None:
        challenge = agent.challenge()
        expect_status(
            agent.post_token(agent.login_form(agent.auth_assertion(challenge))),
            200,
            "first login with the challenge",
        )
        for attempt in range(reuse[0]):
            resp = agent.post_token(agent.login_form(agent.auth_assertion(challenge)))
            expect_error(resp, "invalid_grant", what=f"login #{attempt + 2} with the challenge")

    _run(prop, REUSE, _once_examples(ctx))


@check(
    "PROP-ONCE-CODE", section="4.3", title="An enrollment code is never accepted twice (property)"
)
def once_code(ctx: Context) -> None:
    agents: list[Agent] = [ctx.registered_agent(), ctx.registered_agent()]

    def prop(reuse: tuple[int, bool]) -> None:
        code = enrollment_code(ctx.new_enrollment()["enrollment_uri"])
        expect_status(agents[0].begin(code), 200, "first scan of the code")
        for attempt in range(reuse[0]):
            scanner = agents[1] if reuse[1] else agents[0]
            expect_error(
                scanner.begin(code),
                "invalid_enrollment_code",
                what=f"scan #{attempt + 2} of the code",
            )

    _run(prop, REUSE, _once_examples(ctx))


@check(
    "PROP-ONCE-REFRESH", section="7.2", title="A refresh token is never accepted twice (property)"
)
def once_refresh(ctx: Context) -> None:
    agent = ctx.shared_agent()

    def prop(reuse: tuple[int, bool]) -> None:
        refresh_token = str(agent.login()["refresh_token"])
        expect_status(agent.refresh_response(refresh_token), 200, "first refresh")
        for attempt in range(reuse[0]):
            expect_error(
                agent.refresh_response(refresh_token),
                "invalid_grant",
                what=f"refresh #{attempt + 2} with the same token",
            )

    _run(prop, REUSE, _once_examples(ctx))


# --- junk never crashes the server ------------------------------------------------------------

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
HEADER_NAMES = st.sampled_from(["alg", "typ", "kid", "jwk", "x5c", "crv"])
CLAIM_NAMES = st.sampled_from(
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "nonce",
        "challenge",
        "htm",
        "htu",
        "ath",
        "cnf",
        "amr",
        "app_integrity",
        "device_integrity",
        "attested_key",
    ]
)
JWS_LIKE = st.builds(
    lambda h, c, s: f"{segment(h)}.{segment(c)}.{s}",
    st.dictionaries(HEADER_NAMES, JSON_VALUES, max_size=4),
    st.dictionaries(CLAIM_NAMES, JSON_VALUES, max_size=5),
    st.text(alphabet=B64U_ALPHABET, max_size=90),
)
FIELDS = st.sampled_from(
    [
        "grant_type",
        "assertion",
        "client_assertion",
        "client_assertion_type",
        "code",
        "enrollment_session",
        "pin_public_key",
        "attestation",
        "refresh_token",
        "token",
        "token_type_hint",
        "resource",
        "scope",
        "user_id",
        "display_name",
    ]
)
FIELD_VALUES = st.one_of(st.text(max_size=40), JWS_LIKE, JSON_VALUES)
BODIES = st.one_of(
    st.tuples(st.just("json"), st.dictionaries(FIELDS, FIELD_VALUES, max_size=5)),
    st.tuples(st.just("json-any"), JSON_VALUES),
    st.tuples(
        st.just("form"),
        st.dictionaries(FIELDS, st.one_of(st.text(max_size=40), JWS_LIKE), max_size=5),
    ),
    st.tuples(st.just("raw"), st.binary(max_size=200)),
)
HEADER_VALUES = st.one_of(st.text(alphabet=HEADER_ALPHABET, max_size=60), JWS_LIKE)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "DPoP": HEADER_VALUES,
        "Authorization": st.one_of(
            st.builds(lambda v: f"DPoP {v}", HEADER_VALUES),
            st.builds(lambda v: f"Basic {v}", st.text(alphabet=B64U_ALPHABET + "=", max_size=40)),
            HEADER_VALUES,
        ),
        "Content-Type": st.sampled_from(
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
                "multipart/form-data",
                "application/jwt",
            ]
        ),
    },
)


@check(
    "ROB-FUZZ-NO-5XX",
    section="10.1",
    title="Junk bodies and headers to every endpoint never produce a 5xx (property)",
)
def fuzz_no_5xx(ctx: Context) -> None:
    agent = ctx.shared_agent()
    rp = ctx.rp
    endpoints = [
        ("POST", ctx.endpoint("mia_registration_nonce_endpoint", "/register/nonce")),
        ("POST", ctx.endpoint("registration_endpoint", "/register")),
        ("POST", ctx.endpoint("mia_enrollment_begin_endpoint", "/enroll/begin")),
        ("POST", ctx.endpoint("mia_enrollment_complete_endpoint", "/enroll/complete")),
        ("POST", ctx.endpoint("mia_challenge_endpoint", "/login/challenge")),
        ("POST", ctx.endpoint("token_endpoint", "/token")),
        ("POST", ctx.endpoint("introspection_endpoint", "/introspect")),
        ("POST", ctx.endpoint("revocation_endpoint", "/revoke")),
        ("POST", rp.enrollments_url),
        ("GET", rp.enrollments_url + "/unknown-enrollment"),
        ("GET", ctx.issuer + "/api/me"),
        ("GET", ctx.issuer + "/api/accounts"),
        ("GET", ctx.endpoint("jwks_uri", "/jwks.json")),
        ("GET", ctx.issuer + "/.well-known/oauth-authorization-server"),
    ]
    strategy = st.tuples(st.sampled_from(endpoints), BODIES, HEADERS, st.booleans())

    def prop(example: tuple[tuple[str, str], tuple[str, Any], dict[str, str], bool]) -> None:
        (method, url), (kind, body), headers, authenticated = example
        headers = dict(headers)
        kwargs: dict[str, Any] = {}
        if kind == "json" and authenticated and url != rp.enrollments_url:
            body = {**body, **agent.client_auth()}  # get past client authentication
        if authenticated and url.startswith(rp.enrollments_url):
            headers["Authorization"] = rp.basic()["Authorization"]
        if kind in ("json", "json-any"):
            kwargs["data"] = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif kind == "form":
            if authenticated:
                body = {**body, **agent.client_auth()}
            kwargs["data"] = body
        else:
            kwargs["data"] = body
        resp = ctx.http.request(
            method, url, headers=headers, timeout=ctx.config.timeout_s, **kwargs
        )
        if resp.status_code >= 500:
            raise CheckFailed(f"{method} {url} answered HTTP {resp.status_code}: {resp.text[:200]}")

    _run(prop, strategy, ctx.config.max_examples * 8)
