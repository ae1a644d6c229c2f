"""``create_app(settings)``: wires the hub's adapters, the routes and the one error mapper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hubstead import __version__, web
from hubstead.api.errors import install_error_handlers
from hubstead.api.middleware import RequestContextMiddleware
from hubstead.api.openapi import install_openapi
from hubstead.api.ratelimit import RateLimitMiddleware
from hubstead.api.routes import (
    access_requests,
    accounts,
    admin,
    commits,
    discussions,
    files,
    git,
    inference,
    jobs,
    lfs,
    likes,
    misc,
    orgs,
    refs,
    repos,
    search,
    sessions,
    signin,
    tokens,
    training,
    viewer,
    xet,
)
from hubstead.audit.retention import prune_periodically
from hubstead.config import Settings
from hubstead.hub import Hub

log = logging.getLogger("hubstead")


def create_app(settings: Settings, hub: Hub | None = None) -> FastAPI:
    """Build the ASGI app. ``hub`` may be given by tests that want their own adapters."""
    hub = hub or Hub.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for finding in await asyncio.to_thread(hub.reconcile):  # before the first request (repos/reconcile.py)
            log.warning("start-up check: %s", finding)
        retention = settings.audit_retention_days
        pruner = asyncio.create_task(prune_periodically(hub.sessions, retention)) if retention else None
        if settings.jobs.in_process_worker:
            hub.start_worker()  # background jobs run here too unless `serve --no-worker` (docs/jobs.md)
        yield
        if pruner is not None:
            pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruner  # a prune under way finishes before the engine goes
        await asyncio.to_thread(hub.stop_worker)  # running jobs finish, or are handed back
        if hub.inference_client is not None:
            await hub.inference_client.close()
            hub.inference_client = None
        hub.close()

    app = FastAPI(
        title="Hubstead",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/hubstead/docs",
        swagger_ui_oauth2_redirect_url="/api/hubstead/docs/oauth2-redirect",  # not /docs/...: a user's namespace
        redoc_url=None,
        openapi_url="/api/hubstead/openapi.json",
    )
    app.state.hub = hub
    install_error_handlers(app)
    install_openapi(app)
    # downloads (resolve) first, as the busiest routes, and as the app's own routes: behind an included router,
    # FastAPI matches every request twice more through it (a fifth of a HEAD's CPU); then LFS and misc, whose
    # literal paths must win over the catch-all patterns of the others
    app.router.routes.extend(files.DOWNLOAD_ROUTES)
    for module in (
        misc,
        accounts,
        signin,
        sessions,
        tokens,
        admin,
        jobs,
        viewer,
        training,
        orgs,
        search,
        inference,
        likes,
        lfs,
        xet,
        git,
        repos,
        access_requests,
        commits,
        discussions,
        refs,
        files,
    ):
        app.include_router(module.router)
    web.install(app, hub)  # last: the site's /{namespace}/{name} pages must not shadow the API
    app.add_middleware(RateLimitMiddleware, hub=hub)  # inside the request context: 429s carry request ids
    app.add_middleware(RequestContextMiddleware)
    return app
