"""What every repo page shares: its header, and the gate of a gated repo.

A gated repo's card, file list and history are public; its files are not. Every page that shows file content
(a file's page, its raw text, a commit's diff, the editor) reads the repo through
``RepoService.get_repo_for_download``, the check ``resolve`` makes. A caller it refuses gets the gate page
(``get_repo_for_files``): 401 when anonymous, 403 when signed in, with the way to ask for access. The card page shows
the same gate as a panel above the card."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import HTMLResponse

from hubstead.accounts.permissions import repo_access
from hubstead.api.errors import status_for
from hubstead.errors import GatedRepoAuthRequiredError, GatedRepoError, InvalidInputError
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import access_to
from hubstead.web.context import PageResponse, WebContext
from hubstead.web.site import repo_path

FIELD_PREFIX = "gate."  # form names of the gate's own fields, apart from csrf_token and next
MAX_FIELDS = 20
MAX_FIELD_NAME = 200
MAX_FIELD_VALUE = 1000


@dataclass(frozen=True)
class GateField:
    """One field of a gate's form, from the card's ``extra_gated_fields`` as on huggingface.co."""

    name: str
    kind: str  # text | checkbox | date | select
    options: tuple[str, ...] = ()

    @property
    def form_name(self) -> str:
        return FIELD_PREFIX + self.name


@dataclass(frozen=True)
class Gate:
    """A gated repo as the visitor meets it."""

    mode: str  # auto (access given on asking) | manual (the authors decide)
    open: bool  # the visitor may read the files
    member: bool  # owner, member or site admin: no gate applies to them
    status: str | None  # the visitor's access request: pending | accepted | rejected; None if they made none
    prompt: str | None  # the card's extra_gated_prompt
    fields: tuple[GateField, ...]


def page_context(ctx: WebContext, repo: Repo, tab: str) -> dict[str, Any]:
    """What the header of every repo page shows."""
    return {
        "repo": repo,
        "tab": tab,
        "can_write": repo_access(ctx.actor, repo.namespace, repo.private).write,
        "liked": ctx.user is not None and ctx.stats.has_liked(ctx.user, repo),
        "path": repo_path(repo.type, repo.repo_id),
        "gate": gate_for(ctx, repo),
    }


def gate_for(ctx: WebContext, repo: Repo) -> Gate | None:
    """The gate of ``repo`` as ``ctx``'s visitor meets it; None if the repo is not gated."""
    if repo.gated is None:
        return None
    member = access_to(ctx.actor, repo).member
    request = None if member else ctx.access_requests.find_own_request(ctx.actor, repo)
    card = repo.card_data or {}
    prompt = card.get("extra_gated_prompt")
    return Gate(
        mode=repo.gated,
        open=member or ctx.repos.may_download(repo, ctx.actor),
        member=member,
        status=request.status.value if request is not None else None,
        prompt=prompt if isinstance(prompt, str) and prompt.strip() else None,
        fields=gate_fields(card),
    )


def gate_fields(card: Mapping[str, Any]) -> tuple[GateField, ...]:
    """The fields the gate's form asks for: ``extra_gated_fields`` maps a label to ``text``, ``checkbox``,
    ``date_picker``, ``country`` or ``{"type": "select", "options": [...]}``; anything else is a text field."""
    declared = card.get("extra_gated_fields")
    if not isinstance(declared, dict):
        return ()
    out = []
    for name, kind in list(declared.items())[:MAX_FIELDS]:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_FIELD_NAME:
            continue
        if kind == "checkbox":
            out.append(GateField(name, "checkbox"))
        elif kind == "date_picker":
            out.append(GateField(name, "date"))
        elif isinstance(kind, dict) and kind.get("type") == "select" and isinstance(kind.get("options"), list):
            options = tuple(_option(o) for o in kind["options"][:100] if _option(o))
            out.append(GateField(name, "select", options) if options else GateField(name, "text"))
        else:
            out.append(GateField(name, "text"))
    return tuple(out)


def _option(value: Any) -> str:
    if isinstance(value, dict):  # {"label": ..., "value": ...}
        value = value.get("value", value.get("label"))
    return value.strip()[:MAX_FIELD_VALUE] if isinstance(value, str) else ""


def asked_fields(repo: Repo, form: Mapping[str, Any]) -> dict[str, str] | None:
    """What the visitor filled in the gate's form; every field is required, as on huggingface.co."""
    fields = gate_fields(repo.card_data or {})
    answers: dict[str, str] = {}
    for field in fields:
        value = form.get(field.form_name)
        value = value.strip() if isinstance(value, str) else ""
        if not value or len(value) > MAX_FIELD_VALUE or (field.options and value not in field.options):
            raise InvalidInputError(f"Fill in “{field.name}” to ask for access")
        answers[field.name] = value
    return answers or None


def get_repo_for_files(ctx: WebContext, repo_type: RepoType, repo_id: str) -> Repo:
    """The repo, if the visitor may see its files: the check ``resolve`` makes (a private repo they may not read
    is missing). A gated repo's visitor without access ends the route with the gate page."""
    try:
        return ctx.repos.get_repo_for_download(repo_type, repo_id, ctx.actor)
    except (GatedRepoError, GatedRepoAuthRequiredError) as exc:
        raise PageResponse(render_gate(ctx, exc)) from None


def render_gate(ctx: WebContext, exc: GatedRepoError | GatedRepoAuthRequiredError) -> HTMLResponse:
    """The page a caller gets instead of a gated repo's file content: what is restricted and how to ask, with
    the status ``resolve`` answers (401 anonymous, 403 signed in) and its error code."""
    repo = ctx.repos.get_repo(RepoType(exc.repo_type), exc.repo_id, ctx.actor)
    response = ctx.render("repo/gated.html", status=status_for(exc), **page_context(ctx, repo, "files"))
    response.headers["X-Error-Code"] = "GatedRepo"
    return response
