"""The reply portal: agencies answer their status request through a secure link, no account needed.

Routes: `/r/{token}` (the whole request on one page, saved as a draft or submitted),
`/r/{token}/receipt` (what was recorded), `/cycles/{slug}` (the secretariat's overview and review
queue, behind the secretariat token; `POST /cycles/{slug}/review` accepts or returns an answer;
`/cycles/{slug}/reports/{file}` downloads its stock-take reports), the evidence files' downloads
(`portal.evidence_routes`), `/healthz`; the read API under
`/api/v1/` (`portal.api`). Every page is rendered on the server and works without JavaScript; every
form carries a CSRF token; every error is a plain page without internals.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from domain.ports import Clock
from portal.api import create_api
from portal.evidence_routes import evidence_routes
from portal.reply_routes import reply_routes
from portal.secretariat_routes import secretariat_routes
from portal.security import MAX_BODY_BYTES, NO_STORE, BodyLimitMiddleware, SecurityHeadersMiddleware
from portal.web import STATIC, NotifierFactory, Portal, install_error_pages
from workflows import bootstrap
from workflows.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, notifier: NotifierFactory | None = None
) -> FastAPI:
    """Build the portal application (settings from the environment unless given)."""
    portal = Portal(settings or get_settings(), clock or bootstrap.SystemClock(), notifier)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Few threads for the (blocking) routes: many threads waiting to take the GIL back after their
        # database calls slow each other down (measured on PostgreSQL at 20 clients: p95 186 ms with
        # anyio's default 40 threads, 107 ms with 4). Renders are not serialised either: with a lock
        # around them a process rendered a third of the pages a second on PostgreSQL (its waits on
        # the database no longer overlapped) and fewer on SQLite.
        anyio.to_thread.current_default_thread_limiter().total_tokens = portal.settings.portal_threads
        yield

    app = FastAPI(
        title="Follow-up reply portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.portal = portal
    limits = portal.settings.evidence_limits
    app.add_middleware(BodyLimitMiddleware, upload_limit=limits.max_files * limits.max_bytes + MAX_BODY_BYTES)
    # Pure ASGI, not `@app.middleware("http")`: that wrapper costs about a millisecond a request.
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(
        "/api/v1",
        create_api(portal.uow, portal.clock, requests_per_minute=portal.settings.api_requests_per_minute),
    )
    install_error_pages(app, portal)

    @app.get("/healthz")
    def healthz() -> PlainTextResponse:
        """Liveness and database reachability."""
        with portal.uow() as uow:
            uow.session.execute(text("SELECT 1"))
        return PlainTextResponse("ok\n", headers={"Cache-Control": NO_STORE})

    app.include_router(reply_routes(portal))
    app.include_router(evidence_routes(portal))
    app.include_router(secretariat_routes(portal))
    return app
