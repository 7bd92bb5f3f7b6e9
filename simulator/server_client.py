"""How the app talks to the MIA server: discovery, endpoints, authenticated requests, errors.

The raw requests (`post_json`, `post_form`, `token_request`, `api_request`) return the
`HttpResponse` whatever its status, so the conformance suite can build negative tests; `_check`
turns a non-2xx answer into a `ServerError` for the user flows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from reference.core.discovery import ENDPOINT_PATHS
from simulator.device_state import CLIENT_KEY
from simulator.errors import ServerError
from simulator.jws_builder import DEFAULT, Sentinel, drop_removed
from simulator.messages import MessageBuilder
from simulator.transport import HttpResponse

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: Default endpoint paths (spec §1), used only if discovery omits a member.
DEFAULT_ENDPOINTS: Final[dict[str, str]] = ENDPOINT_PATHS

_WWW_AUTH_ERROR = re.compile(r'error="([^"]*)"')
_WWW_AUTH_DESCRIPTION = re.compile(r'error_description="([^"]*)"')


def error_from_response(response: HttpResponse) -> ServerError:
    """Turn a non-2xx answer into a `ServerError` (body `error`, else `WWW-Authenticate`)."""
    body = response.json_or_none()
    code: str | None = None
    description: str | None = None
    extra: dict[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        description = body.get("error_description")
        extra = {k: v for k, v in body.items() if k not in ("error", "error_description")}
    if code is None:
        challenge = response.headers.get("WWW-Authenticate", "")
        match = _WWW_AUTH_ERROR.search(challenge)
        if match:
            code = match.group(1)
            found = _WWW_AUTH_DESCRIPTION.search(challenge)
            description = found.group(1) if found else None
    if code is None:
        if response.status >= 500:
            code = "server_error"
        elif response.status == 404:
            code = "not_found"
        elif response.status == 429:
            code = "rate_limited"
        elif response.status == 401:
            code = (
                "invalid_token"
                if "DPoP" in response.headers.get("WWW-Authenticate", "")
                else "invalid_client"
            )
        else:
            code = "invalid_request"
        description = description or response.text[:200] or f"HTTP {response.status}"
    return ServerError(code, response.status, description, extra)


class ServerClient(MessageBuilder):
    """Requests to the MIA server on behalf of the device, with its client authentication."""

    def _check(self, response: HttpResponse) -> Any:
        """JSON body of a 2xx answer, or raise `ServerError` (and show its screen)."""
        if not response.ok:
            raise self._fail(error_from_response(response))
        return response.json_or_none() if response.body else None

    # -- discovery (spec §1) -----------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """Authorization-server metadata, fetched once (RFC 8414)."""
        if self._metadata is None:
            self._metadata = self.discover()
        return self._metadata

    def discover(self) -> dict[str, Any]:
        self._step(f"Reading the server configuration from {self.issuer}")
        response = self.transport.request(
            "GET", self.url("/.well-known/oauth-authorization-server")
        )
        self.last_response = response
        body = self._check(response)
        if not isinstance(body, dict):
            raise self._fail(ServerError("server_error", response.status, "metadata not JSON"))
        self._metadata = body
        policy = body.get("mia_pin_policy")
        if isinstance(policy, dict):
            self.pin_policy = policy
        return body

    def endpoint(self, name: str) -> str:
        value = self.metadata.get(name)
        if isinstance(value, str) and value:
            return value
        return self.url(DEFAULT_ENDPOINTS[name])

    # -- raw requests (return HttpResponse, never raise on status) ----------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        response = self.transport.request(method, url, headers=headers, data=data, json=json_body)
        self.last_response = response
        return response

    def _client_auth_members(self) -> dict[str, Any]:
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
        }

    def _auto_client_auth(self, url: str) -> bool:
        if self.storage.client_id is None or CLIENT_KEY not in self.keystore:
            return False
        unauthenticated = {
            self.htu(self.endpoint("registration_endpoint")),
            self.htu(self.endpoint("mia_registration_nonce_endpoint")),
        }
        return self.htu(url) not in unauthenticated

    def post_json(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        client_auth: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST JSON to `path` (or a full URL); adds client authentication (§3) unless the body
        already has it, `client_auth=False`, or it is a registration endpoint. Members whose value
        is `REMOVE` are deleted after the defaults are added."""
        url = self.url(path)
        payload: dict[str, Any] = {}
        if client_auth if client_auth is not None else self._auto_client_auth(url):
            payload.update(self._client_auth_members())
        payload.update(body or {})
        drop_removed(payload)
        return self._request("POST", url, headers=headers, json_body=payload)

    def post_form(
        self,
        path: str,
        form: Mapping[str, Any] | None = None,
        *,
        client_auth: bool = True,
        dpop: str | Sentinel | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST a form to `path` (or a full URL) with client authentication and optional DPoP.
        `dpop=DEFAULT` makes a fresh proof; a string is sent as is; None sends none."""
        url = self.url(path)
        fields: dict[str, Any] = {}
        if client_auth:
            fields.update(self._client_auth_members())
        fields.update(form or {})
        drop_removed(fields)
        all_headers = dict(headers or {})
        if dpop is DEFAULT:
            all_headers["DPoP"] = self.dpop_proof("POST", url)
        elif isinstance(dpop, str):
            all_headers["DPoP"] = dpop
        return self._request(
            "POST", url, headers=all_headers, data={k: str(v) for k, v in fields.items()}
        )

    def token_request(
        self,
        form: Mapping[str, Any],
        *,
        dpop: str | Sentinel | None = DEFAULT,
        client_auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Raw POST to the token endpoint (§5): client auth added unless present or removed
        (`"client_assertion": REMOVE`), a fresh DPoP proof unless `dpop` is given (None: no
        header)."""
        return self.post_form(
            self.endpoint("token_endpoint"),
            form,
            client_auth=client_auth,
            dpop=dpop,
            headers=headers,
        )

    def api_request(
        self,
        path: str,
        *,
        method: str = "GET",
        access_token: str | Sentinel | None = DEFAULT,
        dpop: str | Sentinel | None = DEFAULT,
        authorization: str | Sentinel | None = DEFAULT,
        json_body: Any = None,
    ) -> HttpResponse:
        """Raw call of the protected API (§8) with `Authorization: DPoP <at>` and a proof with
        `ath`; each part can be replaced or left out (None)."""
        url = self.url(path)
        token: str | None
        if access_token is DEFAULT:
            token = self.tokens.access_token if self.tokens else None
        else:
            token = access_token if isinstance(access_token, str) else None
        headers: dict[str, str] = {}
        if authorization is DEFAULT:
            if token is not None:
                headers["Authorization"] = f"DPoP {token}"
        elif isinstance(authorization, str):
            headers["Authorization"] = authorization
        if dpop is DEFAULT:
            if token is not None:
                headers["DPoP"] = self.dpop_proof(method, url, access_token=token)
        elif isinstance(dpop, str):
            headers["DPoP"] = dpop
        return self._request(method, url, headers=headers, json_body=json_body)
