"""``create_app(settings)``: wires the hub's adapters, the routes and the one error mapper."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hubstead import __version__
from hubstead.api.errors import install_error_handlers
from hubstead.api.middleware import RequestContextMiddleware
from hubstead.api.routes import accounts, commits, files, git, lfs, likes, misc, refs, repos, search
from hubstead.config import Settings
from hubstead.hub import Hub

log = logging.getLogger("hubstead")


def create_app(settings: Settings, hub: Hub | None = None) -> FastAPI:
    """Build the ASGI app. ``hub`` may be given by tests that want their own adapters."""
    hub = hub or Hub.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        hub.close()

    app = FastAPI(
        title="Hubstead",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/hubstead/docs",
        redoc_url=None,
        openapi_url="/api/hubstead/openapi.json",
    )
    app.state.hub = hub
    install_error_handlers(app)
    # LFS and misc first: their literal paths must win over the catch-all resolve patterns
    for module in (misc, accounts, search, likes, lfs, git, repos, commits, refs, files):
        app.include_router(module.router)
    app.add_middleware(RequestContextMiddleware)
    return app
