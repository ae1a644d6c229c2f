"""Errors as pages in the site's look: our errors raised by web routes, unknown addresses, and the rare
unexpected failure (logged with its request id, shown without internals)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from hubstead import errors
from hubstead.api.errors import handle_http_exception as api_http_exception
from hubstead.api.errors import status_for
from hubstead.web.context import CsrfError, PageResponse, WebContext, get_site

log = logging.getLogger("hubstead.web")

TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Out of date",
    413: "Too large",
    422: "Invalid input",
    500: "Something went wrong",
}


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    """An error page; the header still shows who is signed in when the route got that far."""
    ctx: WebContext | None = getattr(request.state, "web", None)
    template = get_site(request).templates.get_template("error.html")
    page = template.render(
        ctx=ctx,
        request=request,
        status=status,
        title=TITLES.get(status, "Error"),
        message=message,
        request_id=getattr(request.state, "request_id", None) or request.scope.get("state", {}).get("request_id"),
    )
    response = HTMLResponse(page, status_code=status)
    if ctx is not None:
        ctx.finish(response)
    return response


def _message(exc: errors.HubsteadError, status: int) -> str:
    if isinstance(exc, errors.RepoNotFoundError):
        return "This repository does not exist, or you do not have access to it."
    if isinstance(exc, errors.AuthenticationError):
        return "Sign in to do this."
    if isinstance(exc, CsrfError):
        return exc.message
    return exc.message if status < 500 else "Something went wrong."


class WebRoute(APIRoute):
    """A route whose errors are pages: our errors keep their status, anything else is a logged 500. A route may
    also end early with a page of its own (``PageResponse``: a gated repo's gate)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PageResponse as page:
                return page.response
            except errors.HubsteadError as exc:
                status = status_for(exc)
                return render_error(request, status, _message(exc, status))
            except StarletteHTTPException:
                raise
            except Exception:
                request_id = request.scope.get("state", {}).get("request_id", "")
                log.exception("unhandled error in a web page (request id %s)", request_id)
                return render_error(request, 500, "Something went wrong on our side.")

        return handle


def wants_html(request: Request) -> bool:
    """A browser asking for a page (API clients and git never ask for text/html)."""
    path = request.url.path
    if path.startswith("/api/") or path == "/api" or ".git/" in path:
        return False
    return "text/html" in request.headers.get("accept", "")


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Unknown addresses and wrong methods: a page for browsers, the API's error shape for everyone else."""
    assert isinstance(exc, StarletteHTTPException)
    if wants_html(request) and exc.status_code in TITLES:
        message = "There is nothing at this address." if exc.status_code == 404 else str(exc.detail)
        response = render_error(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
    return await api_http_exception(request, exc)
