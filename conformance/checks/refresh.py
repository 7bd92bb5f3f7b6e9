"""Spec chapter 7: refresh token rotation (RFC 6749 §6) and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from conformance.agent import Agent
from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import new_key, split
from conformance.registry import check
from conformance.results import CheckFailed

PARALLEL_REFRESHES = 20


def _fresh_tokens(ctx: Context) -> tuple[Agent, dict[str, object]]:
    agent = ctx.shared_agent()
    return agent, agent.login()


@check(
    "REFRESH-HAPPY", section="7.2", title="A refresh token is exchanged for new tokens and rotated"
)
def refresh_happy(ctx: Context) -> None:
    device, _ = ctx.enrolled_device()
    first = device.login(pin=ctx.valid_pin)
    second = device.refresh()
    if second.refresh_token == first.refresh_token:
        raise CheckFailed("simulator refresh: the refresh token was not rotated")
    agent, tokens = _fresh_tokens(ctx)
    data = expect_status(
        agent.refresh_response(str(tokens["refresh_token"])), 200, "POST /token (refresh)"
    )
    problems = []
    if data.get("refresh_token") in (None, tokens["refresh_token"]):
        problems.append("the answer must carry a new refresh token")
    if data.get("token_type") != "DPoP":
        problems.append("token_type must be DPoP")
    access = data.get("access_token")
    if not isinstance(access, str):
        problems.append("no access token")
    else:
        _, claims, _ = split(access)
        if claims.get("cnf") != {"jkt": agent.dpop_jkt}:
            problems.append("the refreshed access token is not bound to the same DPoP key")
    if problems:
        raise CheckFailed("; ".join(problems))


@check(
    "REFRESH-PARALLEL",
    section="7.2",
    title=f"{PARALLEL_REFRESHES} concurrent uses of one refresh token rotate it exactly once",
)
def refresh_parallel(ctx: Context) -> None:
    agent, tokens = _fresh_tokens(ctx)
    refresh_token = str(tokens["refresh_token"])
    forms = [
        {"grant_type": "refresh_token", "refresh_token": refresh_token, **agent.client_auth()}
        for _ in range(PARALLEL_REFRESHES)
    ]
    proofs = [agent.dpop("POST", agent.token_url) for _ in forms]
    barrier = threading.Barrier(PARALLEL_REFRESHES)

    def attempt(index: int) -> int:
        session = requests.Session()
        try:
            barrier.wait(timeout=30)
            return session.post(
                agent.token_url,
                data=forms[index],
                headers={"DPoP": proofs[index]},
                timeout=ctx.config.timeout_s,
            ).status_code
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=PARALLEL_REFRESHES) as pool:
        statuses = Counter(pool.map(attempt, range(PARALLEL_REFRESHES)))
    if statuses[200] != 1 or any(s >= 500 for s in statuses):
        raise CheckFailed(f"expected exactly one 200 and no 5xx, got {dict(statuses)}")


@check(
    "REFRESH-REUSE-REVOKES-FAMILY",
    section="7.3",
    title="Reusing a rotated refresh token is refused and revokes the whole family",
)
def reuse_revokes_family(ctx: Context) -> None:
    agent, tokens = _fresh_tokens(ctx)
    old = str(tokens["refresh_token"])
    newer = expect_status(agent.refresh_response(old), 200, "first refresh")["refresh_token"]
    expect_error(
        agent.refresh_response(old), "invalid_grant", what="second use of the rotated refresh token"
    )
    expect_error(
        agent.refresh_response(str(newer)),
        "invalid_grant",
        what="the newest refresh token after reuse was detected",
    )


@check(
    "REFRESH-OTHER-DPOP-KEY",
    section="7.2",
    title="A refresh with a DPoP proof by another key is refused: invalid_dpop_proof",
)
def other_dpop_key(ctx: Context) -> None:
    agent, tokens = _fresh_tokens(ctx)
    expect_error(
        agent.refresh_response(str(tokens["refresh_token"]), key=new_key()),
        "invalid_dpop_proof",
        what="refresh with another DPoP key",
    )


@check(
    "REFRESH-OTHER-CLIENT",
    section="7.2",
    title="A refresh token presented by another client is refused: invalid_grant",
)
def other_client(ctx: Context) -> None:
    victim, tokens = _fresh_tokens(ctx)
    thief = ctx.registered_agent()
    # The thief has the DPoP key too, so only the binding to the client can refuse it.
    expect_error(
        thief.refresh_response(str(tokens["refresh_token"]), key=victim.dpop_key),
        "invalid_grant",
        what="refresh by another client",
    )
