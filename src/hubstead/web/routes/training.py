"""Training jobs on the website: ``/training/new`` (the form), ``/training`` (the caller's jobs),
``/jobs/{owner}/{id}`` (a job: state, step and epoch, the loss and evaluation curves drawn live, the log, Cancel).
A job is its owner's (and site admins'); anyone else gets the not-found page, anonymous visitors the sign-in page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from hubstead.errors import HubsteadError, JobNotFoundError
from hubstead.training.config import TrainingTask
from hubstead.training.services import TrainingJob, TrainingService
from hubstead.web.context import WebContext, WebContextDep
from hubstead.web.routing import web_router

router = web_router()
TEXT_FIELDS = (
    "base_model", "dataset", "dataset_config", "train_split", "eval_split", "text_column", "label_column",
    "image_column", "output_repo",
)  # fmt: skip
NUMBER_FIELDS = ("epochs", "learning_rate", "batch_size", "max_steps", "early_stopping_patience")
DEFAULTS = {
    "task": "text-classification", "train_split": "train", "eval_split": "test", "text_column": "text",
    "label_column": "label", "image_column": "image", "epochs": "3", "learning_rate": "5e-5", "batch_size": "8",
    "max_steps": "-1", "private": "on",
}  # fmt: skip
CHART_WIDTH, CHART_HEIGHT = 600, 200


def _training(ctx: WebContext) -> TrainingService:
    return TrainingService(ctx.db, ctx.hub.git, ctx.hub.jobs)


def _sign_in(ctx: WebContext) -> Response | None:
    if ctx.user is None:
        return ctx.redirect("/login?next=" + quote(ctx.request.url.path, safe="/"))
    return None


def form_config(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as a configuration: empty fields take their defaults."""
    config: dict[str, Any] = {"task": form.get("task", ""), "private": form.get("private") == "on"}
    for name in TEXT_FIELDS:
        if form.get(name, "").strip():
            config[name] = form[name].strip()
    if config.get("eval_split") is None:
        config["eval_split"] = None
    for name in NUMBER_FIELDS:
        value = form.get(name, "").strip()
        if value:
            config[name] = value  # pydantic reads numbers from strings, and names the field when it cannot
    if config.get("task") == TrainingTask.CAUSAL_LM.value:
        config["merge_adapter"] = form.get("merge_adapter") == "on"
    return config


@router.get("/training/new")
def show_new_training(ctx: WebContextDep) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    return ctx.render("training/new.html", form=DEFAULTS, tasks=list(TrainingTask), message=None)


@router.post("/training/new")
def submit_training_page(ctx: WebContextDep) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    fields = ("task", "private", "merge_adapter", *TEXT_FIELDS, *NUMBER_FIELDS)
    form = {name: ctx.field(name) for name in fields}
    try:
        found = _training(ctx).submit(ctx.actor, form_config(form))
    except HubsteadError as exc:
        return ctx.render("training/new.html", status=400, form=form, tasks=list(TrainingTask), message=exc.message)
    return ctx.redirect(f"/jobs/{found.owner}/{found.job.id}")


@router.get("/training")
def show_training_jobs(ctx: WebContextDep) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    jobs = _training(ctx).list_jobs(ctx.actor, limit=100)
    return ctx.render("training/jobs.html", jobs=jobs, refresh=any(not j.job.state.finished for j in jobs))


def _owned(ctx: WebContext, owner: str, job_id: int) -> TrainingJob:
    found = _training(ctx).get_job(ctx.actor, job_id)
    if found.owner.lower() != owner.lower():
        raise JobNotFoundError(f"No job {job_id}")
    return found


@router.get("/jobs/{owner}/{job_id:int}")
def show_training_job(ctx: WebContextDep, owner: str, job_id: int) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    found = _owned(ctx, owner, job_id)
    return ctx.render("training/job.html", found=found, job=found.job, chart=chart(found.metrics()), message=None)


@router.post("/jobs/{owner}/{job_id:int}/cancel")
def cancel_training_page(ctx: WebContextDep, owner: str, job_id: int) -> Response:
    if (redirect := _sign_in(ctx)) is not None:
        return redirect
    found = _owned(ctx, owner, job_id)
    try:
        found = _training(ctx).cancel(ctx.actor, job_id)
    except HubsteadError as exc:  # finished meanwhile
        return ctx.render(
            "training/job.html", status=409, found=found, job=found.job, chart=chart(found.metrics()),
            message=exc.message,
        )  # fmt: skip
    return ctx.redirect(f"/jobs/{found.owner}/{job_id}")


def chart(points: list[dict[str, Any]]) -> dict[str, str]:
    """SVG polylines of the training loss and the evaluation loss by step (the page's script redraws them)."""
    series = {
        name: [
            (float(p["step"]), float(p[name])) for p in points if isinstance(p.get(name), int | float) and "step" in p
        ]
        for name in ("loss", "eval_loss")
    }
    values = [v for line in series.values() for _, v in line]
    steps = [s for line in series.values() for s, _ in line]
    if not values:
        return {"loss": "", "eval_loss": ""}
    top, bottom = max(values), min(0.0, min(values))
    last = max(steps) or 1.0

    def xy(step: float, value: float) -> str:
        x = step / last * CHART_WIDTH
        y = CHART_HEIGHT - (value - bottom) / ((top - bottom) or 1.0) * CHART_HEIGHT
        return f"{x:.1f},{y:.1f}"

    return {name: " ".join(xy(s, v) for s, v in line) for name, line in series.items()}
