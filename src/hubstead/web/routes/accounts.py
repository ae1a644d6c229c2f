"""Accounts on the website: sign up (``/join``), sign in and out, tokens (``/settings/tokens``), and the page
of a user or organisation (``/{name}``) listing the repos the visitor may see."""

from __future__ import annotations

from starlette.responses import HTMLResponse, RedirectResponse, Response

from hubstead.accounts.models import AccountType
from hubstead.accounts.sessions import SESSION_LIFETIME
from hubstead.api.deps import SESSION_COOKIE, client_ip
from hubstead.errors import AuthenticationError, HubsteadError, InvalidInputError, NotFoundError
from hubstead.repos.models import RepoType
from hubstead.repos.search import RepoQuery
from hubstead.web.context import WebContext, WebContextDep
from hubstead.web.routing import web_router

router = web_router()
profile_router = web_router()  # /{name} goes last: every other one-segment address must win
PROFILE_REPOS = 30


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _signed_in(ctx: WebContext, secret: str, target: str) -> RedirectResponse:
    response = ctx.redirect(safe_next(target))
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=ctx.secure,
        path="/",
    )
    return response


@router.get("/login")
def show_login(ctx: WebContextDep) -> Response:
    target = safe_next(ctx.request.query_params.get("next"))
    if ctx.user is not None:
        return ctx.redirect(target)
    return ctx.render("accounts/login.html", next=target, error=None, username="")


@router.post("/login")
def log_in(ctx: WebContextDep) -> Response:
    """Failed attempts are counted and audited by the sign-in service; the page is returned, not raised, so
    that the unit of work keeps the failure's audit event."""
    username, target = ctx.field("username").strip(), safe_next(ctx.field("next"))
    result = ctx.signin.sign_in(username, ctx.field("password"), client_ip(ctx.request))
    if result.retry_after is not None:
        error = f"Too many failed sign-ins: try again in {result.retry_after} seconds."
        response = ctx.render("accounts/login.html", status=429, next=target, error=error, username=username)
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.secret is None:
        error = "Invalid username or password"
        return ctx.render("accounts/login.html", status=401, next=target, error=error, username=username)
    return _signed_in(ctx, result.secret, target)


@router.post("/logout")
def log_out(ctx: WebContextDep) -> Response:
    secret = ctx.request.cookies.get(SESSION_COOKIE)
    if secret:
        ctx.signin.sign_out(secret, client_ip(ctx.request))
    response = ctx.redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/join")
def show_join(ctx: WebContextDep) -> Response:
    if not ctx.site.signup_enabled:
        raise NotFoundError("Sign-up is closed on this hub: ask an administrator for an account.")
    if ctx.user is not None:
        return ctx.redirect("/")
    return ctx.render("accounts/join.html", error=None, username="", email="")


@router.post("/join")
def join(ctx: WebContextDep) -> Response:
    if not ctx.site.signup_enabled:
        raise NotFoundError("Sign-up is closed on this hub: ask an administrator for an account.")
    username, email = ctx.field("username").strip(), ctx.field("email").strip()
    try:
        if not email or "@" not in email:
            raise InvalidInputError("Give an email address")
        user = ctx.accounts.create_user(username, password=ctx.field("password"), email=email)
    except HubsteadError as exc:
        return ctx.render("accounts/join.html", status=400, error=exc.message, username=username, email=email)
    return _signed_in(ctx, ctx.sessions.create_session(user), "/")


# --- tokens ---------------------------------------------------------------------------------------


def _require_user(ctx: WebContext) -> None:
    if ctx.user is None:
        raise AuthenticationError("Sign in to manage your access tokens")


def _tokens_page(ctx: WebContext, new_token: str | None = None) -> HTMLResponse:
    return ctx.render("accounts/tokens.html", tokens=ctx.tokens.list_tokens(ctx.actor), new_token=new_token)


@router.get("/settings/tokens")
def show_tokens(ctx: WebContextDep) -> Response:
    if ctx.user is None:
        return ctx.redirect("/login?next=/settings/tokens")
    return _tokens_page(ctx)


@router.post("/settings/tokens")
def create_token_page(ctx: WebContextDep) -> HTMLResponse:
    """The new token is shown in this response only: it is stored as a hash and never shown again."""
    _require_user(ctx)
    name = ctx.field("name").strip()
    role = ctx.field("role", "read")
    if not name or len(name) > 100:
        raise InvalidInputError("A token needs a name of at most 100 characters")
    if role not in ("read", "write"):
        raise InvalidInputError("A token's role is read or write")
    _, clear = ctx.tokens.create_token(ctx.actor, name, role)
    return _tokens_page(ctx, new_token=clear)


@router.post("/settings/tokens/{token_id:int}/revoke")
def revoke_token_page(ctx: WebContextDep, token_id: int) -> Response:
    _require_user(ctx)
    ctx.tokens.revoke_token(ctx.actor, token_id)
    return ctx.redirect("/settings/tokens")


# --- profiles -------------------------------------------------------------------------------------


@profile_router.get("/{account_name:account}")
def show_account(ctx: WebContextDep, account_name: str) -> HTMLResponse:
    account = ctx.accounts.get_account(account_name)
    sections = []
    for repo_type, title in ((RepoType.MODEL, "Models"), (RepoType.DATASET, "Datasets"), (RepoType.SPACE, "Spaces")):
        query = RepoQuery(repo_type=repo_type, author=account.name, sort="lastModified", limit=PROFILE_REPOS)
        page = ctx.search.list_repos(query, ctx.actor)
        sections.append((repo_type, title, page.repos, page.next_cursor is not None))
    return ctx.render(
        "accounts/profile.html", account=account, is_org=account.type is AccountType.ORG, sections=sections
    )
