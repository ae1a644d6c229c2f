"""The website: server-rendered pages (Jinja2 and a little JavaScript) over the same services as the API.

``install(app)`` adds its routes after the API's, so that no page address shadows an API one, and makes
unknown addresses and errors pages for browsers while API clients keep the API's error shape."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

import hubstead.api.routes  # noqa: F401  (registers the repo-type path convertors)
from hubstead.hub import Hub
from hubstead.web.errors import handle_http_exception
from hubstead.web.routes import accounts, admin, browse, files, publish, repo, static, training
from hubstead.web.site import Site


def install(app: FastAPI, hub: Hub) -> None:
    app.state.site = Site.build(hub.settings.resolved_secret_key(), hub.settings.signup_enabled)
    # literal addresses first, then repo pages, then /{name} (a user or organisation) last of all
    for router in (
        static.router,
        browse.router,
        accounts.router,
        admin.router,
        training.router,
        publish.router,
        files.router,
        repo.router,
    ):
        app.include_router(router)
    app.include_router(accounts.profile_router)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
