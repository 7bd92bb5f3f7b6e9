"""Spec chapter 5: login challenge, authenticator assertion, PIN failure counting, tokens."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.agent import Agent
from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import new_key, resign_unsigned, split
from conformance.registry import check
from conformance.results import CheckFailed, CheckSkipped

PARALLEL_WRONG_PINS = 50


@check(
    "LOGIN-HAPPY",
    section="5.5",
    title="PIN login returns a DPoP-bound RFC 9068 access token and a refresh token",
)
def login_happy(ctx: Context) -> None:
    device, _ = ctx.enrolled_device()
    tokens = device.login(pin=ctx.valid_pin)
    if not tokens.access_token or not tokens.refresh_token:
        raise CheckFailed("simulator login returned no tokens")
    agent = ctx.shared_agent()
    challenge = expect_status(agent.post_challenge(), 201, "POST /login/challenge")
    if not isinstance(challenge.get("challenge"), str) or not isinstance(
        challenge.get("expires_in"), int
    ):
        raise CheckFailed(f"challenge answer must have challenge and expires_in: {challenge!r}")
    resp = agent.post_token(agent.login_form(agent.auth_assertion(challenge["challenge"])))
    data = expect_status(resp, 200, "POST /token (login)")
    problems = []
    if data.get("token_type") != "DPoP":
        problems.append(f"token_type is {data.get('token_type')!r}, expected DPoP")
    if not isinstance(data.get("expires_in"), int):
        problems.append("expires_in must be an integer")
    if "no-store" not in resp.headers.get("Cache-Control", ""):
        problems.append("Cache-Control: no-store is missing")
    header, claims, _ = split(data["access_token"])
    if header.get("typ") != "at+jwt" or header.get("alg") != "ES256" or "kid" not in header:
        problems.append(f"access token header must be ES256 at+jwt with kid: {header!r}")
    expected = {"iss": ctx.issuer, "client_id": agent.client_id, "sub": agent.user_id}
    for name, value in expected.items():
        if claims.get(name) != value:
            problems.append(f"access token {name} is {claims.get(name)!r}, expected {value!r}")
    aud = claims.get("aud")
    if ctx.resources[0] not in (aud if isinstance(aud, list) else [aud]):
        problems.append(f"access token aud {aud!r} lacks the default resource")
    if claims.get("cnf") != {"jkt": agent.dpop_jkt}:
        problems.append("access token cnf.jkt is not the thumbprint of the DPoP key")
    for name in ("iat", "exp", "jti", "scope", "auth_time", "amr"):
        if name not in claims:
            problems.append(f"access token lacks {name}")
    if problems:
        raise CheckFailed("; ".join(problems))


@check(
    "LOGIN-CHALLENGE-REUSE",
    section="5.2",
    title="A login challenge is accepted only once: invalid_grant",
)
def challenge_reuse(ctx: Context) -> None:
    agent = ctx.shared_agent()
    challenge = agent.challenge()
    expect_status(
        agent.post_token(agent.login_form(agent.auth_assertion(challenge))),
        200,
        "first login with the challenge",
    )
    expect_error(
        agent.post_token(agent.login_form(agent.auth_assertion(challenge))),
        "invalid_grant",
        what="second login with the same challenge",
    )


@check(
    "LOGIN-CHALLENGE-OTHER-CLIENT",
    section="5.2",
    title="A challenge issued to another client is refused: invalid_grant",
)
def challenge_other_client(ctx: Context) -> None:
    agent = ctx.shared_agent()
    other = ctx.registered_agent()
    challenge = other.challenge()
    expect_error(
        agent.post_token(agent.login_form(agent.auth_assertion(challenge))),
        "invalid_grant",
        what="login with another client's challenge",
    )


@check(
    "LOGIN-CHALLENGE-EXPIRED",
    section="5.2",
    title="An expired login challenge is refused: invalid_grant",
)
def challenge_expired(ctx: Context) -> None:
    agent = ctx.shared_agent()
    body = expect_status(agent.post_challenge(), 201, "POST /login/challenge")
    ctx.wait_for_expiry(body.get("expires_in"), "the login challenge")
    expect_error(
        agent.post_token(agent.login_form(agent.auth_assertion(body["challenge"]))),
        "invalid_grant",
        what="login with an expired challenge",
    )


@check(
    "LOGIN-ASSERTION-TYP",
    section="5.3",
    title="An authenticator assertion without typ authenticator-assertion+jwt is refused",
)
def assertion_typ(ctx: Context) -> None:
    agent = ctx.shared_agent()
    assertion = agent.auth_assertion(agent.challenge(), header={"typ": "JWT"})
    expect_error(
        agent.post_token(agent.login_form(assertion)),
        "invalid_grant",
        what="assertion with typ JWT",
    )


@check(
    "LOGIN-ASSERTION-AUDIENCE",
    section="5.3",
    title="An authenticator assertion for another audience is refused: invalid_grant",
)
def assertion_audience(ctx: Context) -> None:
    agent = ctx.shared_agent()
    assertion = agent.auth_assertion(
        agent.challenge(), claims={"aud": "https://other-issuer.example"}
    )
    expect_error(
        agent.post_token(agent.login_form(assertion)),
        "invalid_grant",
        what="assertion with aud of another server",
    )


@check(
    "LOGIN-ASSERTION-ALG-NONE",
    section="1.3",
    title="An unsigned authenticator assertion (alg none) is refused: invalid_grant",
)
def assertion_alg_none(ctx: Context) -> None:
    agent = ctx.shared_agent()
    assertion = resign_unsigned(agent.auth_assertion(agent.challenge()), {"alg": "none"})
    expect_error(
        agent.post_token(agent.login_form(assertion)),
        "invalid_grant",
        what="assertion with alg none",
    )


def _wrong_pin(agent: Agent) -> requests.Response:
    assertion = agent.auth_assertion(agent.challenge(), key=new_key())
    return agent.post_token(agent.login_form(assertion))


@check(
    "LOGIN-PIN-COUNTDOWN",
    section="5.4",
    title="Wrong PINs count down attempts_remaining, lock at the limit, then refuse even "
    "the right PIN",
)
def pin_countdown(ctx: Context) -> None:
    agent = ctx.enrolled_agent()
    limit = ctx.config.pin_limit
    for attempt in range(1, limit):
        body = expect_error(_wrong_pin(agent), "pin_incorrect", what=f"wrong PIN #{attempt}")
        if body.get("attempts_remaining") != limit - attempt:
            raise CheckFailed(
                f"wrong PIN #{attempt}: attempts_remaining is "
                f"{body.get('attempts_remaining')!r}, expected {limit - attempt}"
            )
    body = expect_error(_wrong_pin(agent), "authenticator_locked", what=f"wrong PIN #{limit}")
    if body.get("attempts_remaining") != 0:
        raise CheckFailed(
            f"authenticator_locked must carry attempts_remaining 0, got "
            f"{body.get('attempts_remaining')!r}"
        )
    expect_error(
        agent.login_response(), "invalid_grant", what="right PIN after the authenticator was locked"
    )


@check("LOGIN-PIN-RESET", section="5.4", title="A successful login resets the failure counter")
def pin_reset(ctx: Context) -> None:
    agent = ctx.enrolled_agent()
    limit = ctx.config.pin_limit
    if limit < 2:
        raise CheckSkipped("needs a PIN limit of at least 2")
    expect_error(_wrong_pin(agent), "pin_incorrect", what="first wrong PIN")
    expect_status(agent.login_response(), 200, "login with the right PIN")
    body = expect_error(_wrong_pin(agent), "pin_incorrect", what="wrong PIN after a success")
    if body.get("attempts_remaining") != limit - 1:
        raise CheckFailed(
            f"after a successful login attempts_remaining must restart at "
            f"{limit - 1}, got {body.get('attempts_remaining')!r}"
        )


@check(
    "LOGIN-PIN-PARALLEL",
    section="5.4",
    title=f"{PARALLEL_WRONG_PINS} concurrent wrong PINs never get more than the limit of "
    "counted answers and lock the authenticator",
)
def pin_parallel(ctx: Context) -> None:
    agent = ctx.enrolled_agent()
    limit = ctx.config.pin_limit
    forms = [
        agent.login_form(agent.auth_assertion(agent.challenge(), key=new_key()))
        for _ in range(PARALLEL_WRONG_PINS)
    ]
    proofs = [agent.dpop("POST", agent.token_url) for _ in forms]
    barrier = threading.Barrier(PARALLEL_WRONG_PINS)

    def attempt(index: int) -> tuple[int, str]:
        session = requests.Session()
        try:
            barrier.wait(timeout=30)
            resp = session.post(
                agent.token_url,
                data=forms[index],
                headers={"DPoP": proofs[index]},
                timeout=ctx.config.timeout_s,
            )
            try:
                error = str(resp.json().get("error"))
            except ValueError:
                error = "<not JSON>"
            return resp.status_code, error
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=PARALLEL_WRONG_PINS) as pool:
        answers = list(pool.map(attempt, range(PARALLEL_WRONG_PINS)))
    tally = Counter(f"{status} {error}" for status, error in answers)
    counted = tally["400 pin_incorrect"] + tally["400 authenticator_locked"]
    problems = []
    if any(status == 200 for status, _ in answers):
        problems.append("a wrong PIN was accepted")
    if any(status >= 500 for status, _ in answers):
        problems.append("the server failed (5xx)")
    if counted > limit:
        problems.append(f"{counted} answers counted a wrong PIN, the limit is {limit}")
    if tally["400 authenticator_locked"] > 1:
        problems.append("authenticator_locked was answered more than once")
    if problems:
        raise CheckFailed(f"{'; '.join(problems)} (answers: {dict(tally)})")
    expect_error(
        agent.login_response(),
        "invalid_grant",
        what=f"right PIN after {PARALLEL_WRONG_PINS} concurrent wrong PINs",
    )


@check(
    "LOGIN-APP-DISABLED",
    section="5.2",
    title="A registered client whose app version was disabled since gets app_update_required",
)
def app_disabled_after_registration(ctx: Context) -> None:
    # Needs a policy change after registration, which a black-box suite cannot make. The
    # fixture names such a client: {"client_id": ..., "client_key": "<PEM private key file>"}.
    fixture = ctx.config.fixtures.get("disabled_registered_client")
    if not isinstance(fixture, dict):
        raise CheckSkipped(
            "needs a client registered before its app version was disabled; "
            "configure fixtures.disabled_registered_client to run it"
        )
    agent = ctx.new_agent()
    agent.client_id = str(fixture["client_id"])
    key = serialization.load_pem_private_key(
        ctx.config.resolve(str(fixture["client_key"])).read_bytes(), password=None
    )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CheckSkipped("fixtures.disabled_registered_client.client_key is not an EC key")
    agent.client_key = key
    expect_error(
        agent.post_challenge(),
        "app_update_required",
        what="challenge for a client whose app version is disabled",
    )
