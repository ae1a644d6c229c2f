"""The one dependency of every web route: who is asking (from the session cookie), the services, the CSRF
check of every form, and rendering pages in the site's look."""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import FormParser, MultiPartException
from starlette.responses import HTMLResponse, RedirectResponse

from hubstead.accounts.models import Account
from hubstead.accounts.permissions import ANONYMOUS, Actor
from hubstead.accounts.services import AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.accounts.signin import SignInService
from hubstead.accounts.tokens import TokenService
from hubstead.api.deps import SESSION_COOKIE, SessionDep, client_ip, get_hub, get_stats_service
from hubstead.api.limits import read_body
from hubstead.errors import InvalidInputError, PermissionDeniedError
from hubstead.hub import Hub
from hubstead.repos.commits import CommitService
from hubstead.repos.files import FileService
from hubstead.repos.gating import AccessRequestService
from hubstead.repos.lfs import LfsService
from hubstead.repos.search import SearchService
from hubstead.repos.services import RepoService
from hubstead.repos.stats import StatsService
from hubstead.scanning.services import ScanService
from hubstead.web.site import Site

CSRF_COOKIE = "hubstead_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_FILES = 100
MAX_FORM_FIELDS = 32  # besides files: no form of the site has half as many
MAX_FORM_FIELD_BYTES = 8 * 1024 * 1024  # a card edited in the browser: a whole form, as sent (percent-encoded)
MAX_UPLOAD_FIELD_BYTES = 1024 * 1024  # a field beside the upload form's files: its summary, its description


class CsrfError(PermissionDeniedError):
    """A form that did not come from one of our pages (or a page older than its cookie)."""


class PageResponse(Exception):
    """Ends a web route with ``response``, a page rendered while its unit of work was still open (the gate of a
    gated repo); ``WebRoute`` returns it."""

    def __init__(self, response: HTMLResponse) -> None:
        super().__init__("page response")
        self.response = response


@dataclass
class WebContext:
    request: Request
    hub: Hub
    db: Session
    site: Site
    actor: Actor
    stats: StatsService
    csrf_cookie: str
    new_csrf_cookie: bool
    form: FormData = field(default_factory=FormData)

    # --- who ----------------------------------------------------------------------------------

    @property
    def user(self) -> Account | None:
        return self.actor.account

    # --- services -----------------------------------------------------------------------------

    @cached_property
    def repos(self) -> RepoService:
        return RepoService(self.db, self.hub.git, self.hub.blobs)

    @cached_property
    def files(self) -> FileService:
        return FileService(self.repos, self.hub.blobs)

    @cached_property
    def scans(self) -> ScanService:
        return ScanService(self.files, self.hub.settings.scanning, self.hub.jobs)

    @cached_property
    def access_requests(self) -> AccessRequestService:
        return AccessRequestService(self.repos)

    @cached_property
    def search(self) -> SearchService:
        return SearchService(self.db)

    @cached_property
    def accounts(self) -> AccountService:
        return AccountService(self.db)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.db)

    @cached_property
    def signin(self) -> SignInService:
        return SignInService(self.db, self.hub.rate_limiter, self.hub.settings.rate_limit)

    @cached_property
    def tokens(self) -> TokenService:
        return TokenService(self.db)

    @cached_property
    def lfs(self) -> LfsService:
        return LfsService(self.db, self.hub.blobs, self.hub.signer, self.hub.lfs_limits)

    @cached_property
    def commits(self) -> CommitService:
        return CommitService(self.repos, self.lfs, self.hub.settings.lfs_size_threshold)

    # --- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The address clients reach this hub at (for the snippets people copy)."""
        if self.hub.settings.public_url:
            return self.hub.settings.public_url.rstrip("/")
        return str(self.request.base_url).rstrip("/")

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")

    # --- forms --------------------------------------------------------------------------------

    @property
    def csrf_token(self) -> str:
        return self.site.csrf_token(self.csrf_cookie)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else default

    # --- responses ----------------------------------------------------------------------------

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self.site.templates.get_template(template).render(ctx=self, request=self.request, **context)
        response = HTMLResponse(page, status_code=status)
        self.finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self.finish(response)
        return response

    def finish(self, response: HTMLResponse | RedirectResponse) -> None:
        if self.new_csrf_cookie:
            response.set_cookie(
                CSRF_COOKIE, self.csrf_cookie, httponly=True, samesite="lax", secure=self.secure, path="/"
            )
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: http: data:; media-src 'self' data:; script-src 'self'; "
            "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )


def get_site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


async def get_web_context(request: Request, db: SessionDep) -> WebContext:
    """Checks every form's CSRF token before the route runs: no POST route can forget it."""
    hub = await get_hub(request)
    site = get_site(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    new_cookie = not cookie or len(cookie) > 100
    if new_cookie:
        cookie = secrets.token_urlsafe(32)
    assert cookie is not None
    session_token = request.cookies.get(SESSION_COOKIE)
    actor = ANONYMOUS
    if session_token:
        actor = await run_in_threadpool(SessionService(db).actor_for_session, session_token)
        if actor.account is not None:
            actor = replace(actor, ip=client_ip(request))
    ctx = WebContext(
        request=request,
        hub=hub,
        db=db,
        site=site,
        actor=actor,
        stats=await get_stats_service(db, hub),
        csrf_cookie=cookie,
        new_csrf_cookie=new_cookie,
    )
    request.state.web = ctx  # error pages show who is signed in
    if request.method not in SAFE_METHODS:
        ctx.form = await read_form(request)
        _check_csrf(ctx)
    return ctx


async def read_form(request: Request) -> FormData:
    """A form, held to a size: a plain one (every form but the upload's) as a whole, as the card editor needs
    it; the upload form's files go to disk as they come, and its other fields are held to a small size each."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        return await request.form(
            max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_UPLOAD_FIELD_BYTES
        )
    if not kind.startswith("application/x-www-form-urlencoded"):
        return FormData()
    body = bytes(await read_body(request, MAX_FORM_FIELD_BYTES))

    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    parser = FormParser(request.headers, once(), max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_FIELD_BYTES)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise InvalidInputError(exc.message) from None


def _check_csrf(ctx: WebContext) -> None:
    request = ctx.request
    origin = request.headers.get("origin")
    if origin and origin != "null":
        allowed = {request.headers.get("host", ""), urlsplit(ctx.base_url).netloc}
        if urlsplit(origin).netloc not in allowed:
            raise CsrfError("This form was sent from another site")
    token = request.headers.get(CSRF_HEADER) or ctx.field(CSRF_FIELD)
    if ctx.new_csrf_cookie or not ctx.site.csrf_ok(ctx.csrf_cookie, token):
        raise CsrfError("This form has expired or did not come from this site: reload the page and try again")


WebContextDep = Annotated[WebContext, Depends(get_web_context)]
