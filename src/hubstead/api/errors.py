"""The one mapper from Hubstead errors to HTTP: a status table walked along the MRO, and the wire
shape huggingface_hub reads (``X-Error-Code``, ``X-Error-Message``, ``{"error": ...}``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from hubstead import errors
from hubstead.api.disconnect import ClientGoneError

log = logging.getLogger("hubstead.api")
CHALLENGE = 'Basic realm="Hubstead"'

STATUS: dict[type[errors.HubsteadError], int] = {
    errors.NotFoundError: 404,
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.ConflictError: 409,
    errors.PreconditionFailedError: 412,
    errors.InvalidInputError: 400,
    errors.InvalidPathError: 422,
    errors.UnprocessableError: 422,
    errors.RangeNotSatisfiableError: 416,
    errors.PayloadTooLargeError: 413,
    errors.RateLimitedError: 429,
    errors.InferenceError: 503,
    errors.ModelLoadingError: 503,
    errors.ModelNotRunnableError: 422,
    errors.UnsupportedTaskError: 400,
    errors.InferenceUnavailableError: 503,
    errors.InferenceTimeoutError: 504,
}


def status_for(exc: errors.HubsteadError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def header_safe(message: str) -> str:
    """One line of printable ASCII, as HTTP headers require (a control character makes the server drop
    the connection instead of answering)."""
    line = " ".join(message.split())
    return "".join(c if " " <= c <= "~" else "?" for c in line)[:1000]


def rate_limit_headers(policy: str, limit: int, window: int, remaining: int, reset: int) -> dict[str, str]:
    """The IETF draft's RateLimit and RateLimit-Policy fields, which huggingface_hub reads on a 429."""
    return {"RateLimit": f'"{policy}";r={remaining};t={reset}', "RateLimit-Policy": f'"{policy}";q={limit};w={window}'}


def base_url_of(request: Request) -> str:
    hub = getattr(request.app.state, "hub", None)
    public_url = hub.settings.public_url if hub is not None else None
    return (public_url or str(request.base_url)).rstrip("/")


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None, **body: Any
) -> Response:
    out = {"X-Error-Message": header_safe(message)} | (headers or {})
    if code:
        out["X-Error-Code"] = code
    return JSONResponse({"error": message} | body, status_code=status, headers=out)


async def handle_hubstead_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.HubsteadError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    commit = exc.extra.get("commit")
    if isinstance(commit, str):
        headers["X-Repo-Commit"] = commit  # lets clients cache "this file does not exist at this commit"
    if isinstance(exc, errors.RangeNotSatisfiableError):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, errors.CredentialsRequiredError):
        headers["WWW-Authenticate"] = CHALLENGE  # git and git-lfs send credentials only when asked
    if isinstance(exc, errors.RepoAlreadyExistsError) and "url" in exc.extra:
        extra["url"] = exc.extra["url"]
    message = exc.message
    if isinstance(exc, errors.GatedRepoError):
        message = exc.message_for(base_url_of(request))  # where to ask for access, on this hub
    if isinstance(exc, errors.ModelLoadingError):
        extra["estimated_time"] = round(exc.estimated_time, 1)  # huggingface.co's loading answer
    if isinstance(exc, errors.RateLimitedError):
        headers |= rate_limit_headers(exc.policy, exc.limit, exc.window, 0, exc.retry_after)
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(status, message, exc.code, headers, **extra)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"Not found: {request.method} {request.url.path}"
    # keep the framework's headers, e.g. the Allow header a 405 must carry
    return error_response(exc.status_code, message, headers=dict(exc.headers or {}))


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}" for err in exc.errors()]
    return error_response(422, "Invalid request: " + "; ".join(problems))


async def handle_client_gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)  # the client disconnected: nobody reads this


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientGoneError, handle_client_gone)
    app.add_exception_handler(errors.HubsteadError, handle_hubstead_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
