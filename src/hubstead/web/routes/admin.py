"""Site administration on the website: ``/admin/jobs`` lists background jobs (by state, kind and repo, newest
first) with their progress; ``/admin/jobs/{id}`` shows one with its log, and cancels or retries it. Site admins
only: anyone else signed in gets a 403 page, anonymous visitors the sign-in page."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from hubstead.admin.services import AdminService
from hubstead.api.routes.jobs import parse_repo, parse_states
from hubstead.errors import ConflictError, InvalidInputError
from hubstead.jobs.models import JobState
from hubstead.web.context import WebContext, WebContextDep
from hubstead.web.routing import web_router

router = web_router()
PAGE_SIZE = 50


def _admin(ctx: WebContext) -> AdminService:
    return AdminService(ctx.db, ctx.actor, ctx.hub.jobs)


def _sign_in(ctx: WebContext) -> Response | None:
    if ctx.user is None:
        url = ctx.request.url
        return ctx.redirect("/login?next=" + quote(url.path + (f"?{url.query}" if url.query else ""), safe="/"))
    return None


@router.get("/admin/jobs")
def show_jobs(ctx: WebContextDep) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    params = ctx.request.query_params
    filters = {key: params.get(key, "")[:200] for key in ("state", "kind", "repo")}
    admin = _admin(ctx)
    counts = admin.count_jobs()
    try:
        before = int(params["before"]) if params.get("before", "").isdigit() else None
        jobs = admin.list_jobs(
            states=parse_states(filters["state"]),
            kind=filters["kind"] or None,
            repo=parse_repo(filters["repo"], None),
            before=before,
            limit=PAGE_SIZE,
        )
        error = None
    except InvalidInputError as exc:
        jobs, error = [], exc.message
    older = jobs[-1].id if len(jobs) == PAGE_SIZE else None
    return ctx.render(
        "admin/jobs.html",
        jobs=jobs,
        subjects=admin.job_subjects(jobs),
        counts=counts,
        states=list(JobState),
        filters=filters,
        older=older,
        error=error,
        refresh=any(not j.state.finished for j in jobs),
    )


@router.get("/admin/jobs/{job_id:int}")
def show_job(ctx: WebContextDep, job_id: int) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    admin = _admin(ctx)
    job = admin.get_job(job_id)
    return ctx.render("admin/job.html", job=job, subjects=admin.job_subjects([job]), message=None)


@router.post("/admin/jobs/{job_id:int}/cancel")
def cancel_job_page(ctx: WebContextDep, job_id: int) -> Response:
    return _act(ctx, job_id, "cancel")


@router.post("/admin/jobs/{job_id:int}/retry")
def retry_job_page(ctx: WebContextDep, job_id: int) -> Response:
    return _act(ctx, job_id, "retry")


def _act(ctx: WebContext, job_id: int, action: str) -> Response:
    admin = _admin(ctx)
    try:
        job = admin.cancel_job(job_id) if action == "cancel" else admin.retry_job(job_id)
    except ConflictError as exc:  # finished meanwhile, or the same work is queued already
        job = admin.get_job(job_id)
        return ctx.render(
            "admin/job.html", status=409, job=job, subjects=admin.job_subjects([job]), message=exc.message
        )
    return ctx.redirect(f"/admin/jobs/{job.id}")
