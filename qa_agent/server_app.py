"""The server's own HTTP app (`http.app` in langgraph.json): the same rules on the routes auth never sees.

langgraph-api calls the custom auth handler (`server_auth.authenticate`) for its resources
(threads, runs, assistants, store) only. Its meta routes (`/metrics`, `/openapi.json`, `/docs`,
`/info`) answer anyone, so a server with a token would still tell a stranger its version, its run
and worker counts and its whole API. A custom app's middleware runs before every route of the
server (langgraph.json's default `middleware_order`), so it applies the same checks to every
request but a CORS preflight (it carries no credentials, and the CORS settings answer it) and `/ok`
(health checks): a route a later langgraph-api adds is closed too. Resource routes are checked
twice, which costs microseconds.
"""

from __future__ import annotations

from langgraph_sdk import Auth
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from qa_agent.server_auth import authenticate

OPEN_ROUTES = frozenset({"/ok"})


class GuardAllRoutes:
    """Runs `authenticate` for every route but the open ones, answering its refusal as the server's own
    routes do."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS" and scope["path"].rstrip("/") not in OPEN_ROUTES:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            try:
                await authenticate(dict(scope), scope["method"], headers.get("authorization"))
            except Auth.exceptions.HTTPException as exc:
                await JSONResponse({"detail": exc.detail}, status_code=exc.status_code)(scope, receive, send)
                return
        await self.app(scope, receive, send)


app = Starlette()
app.add_middleware(GuardAllRoutes)
