"""`POST /slack/events` (events, interactivity and commands) through Bolt's Starlette request mapping,
mounted by the API factory when PLINTH_SLACK_SIGNING_SECRET and PLINTH_SLACK_BOT_TOKEN (or, for OAuth
mode, PLINTH_SLACK_CLIENT_ID and PLINTH_SLACK_CLIENT_SECRET) are set. A bad or stale signature is
refused with 401 before anything is read or stored, and audited. In OAuth mode Bolt's install flow also
answers `GET /slack/install` (a fresh state, then Slack's consent page) and `GET /slack/oauth_redirect`
(the state checked and consumed, the code exchanged, the installation stored)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier

from app.core.settings import get_settings
from app.domains.principals import service as principals
from integrations.slack.bolt_app import create_bolt_app

PATH = "/slack/events"
MAX_CLOCK_SKEW_S = 300  # Slack's own rule: older requests may be replays


def signature_problem(
    verifier: SignatureVerifier, body: bytes, timestamp: str | None, signature: str | None
) -> str | None:
    if not timestamp or not signature:
        return "missing Slack signature headers"
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        return "malformed Slack request timestamp"
    if skew > MAX_CLOCK_SKEW_S:
        return f"stale Slack request timestamp ({int(skew)} s off)"
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return "bad Slack request signature"
    return None


def _audit_refusal(reason: str) -> None:
    principals.record_failed_authentication(channel="slack", reason=reason)


def mount(api: FastAPI) -> None:
    settings = get_settings().slack
    if not settings.http_enabled or settings.signing_secret is None:
        return
    bolt = create_bolt_app()
    verifier = SignatureVerifier(settings.signing_secret.get_secret_value())

    @api.post(PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        problem = signature_problem(
            verifier,
            body,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
        )
        if problem is not None:
            await run_in_threadpool(_audit_refusal, problem)
            return JSONResponse(
                status_code=401, content={"error": {"code": "unauthenticated", "message": problem}}
            )
        # Bolt's adapter dispatches on the event loop; the listeners block on the database and the
        # broker, so they run in the thread pool instead.
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    flow = bolt.oauth_flow
    if flow is None:
        return

    @api.get(flow.install_path, include_in_schema=False)
    async def slack_install(request: Request) -> Response:
        bolt_request = to_bolt_request(request, b"")
        return to_starlette_response(await run_in_threadpool(flow.handle_installation, bolt_request))

    @api.get(flow.redirect_uri_path, include_in_schema=False)
    async def slack_oauth_redirect(request: Request) -> Response:
        bolt_request = to_bolt_request(request, b"")
        return to_starlette_response(await run_in_threadpool(flow.handle_callback, bolt_request))
