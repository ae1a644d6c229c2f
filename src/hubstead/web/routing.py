"""Routers of the website and the two address shapes of every repo page: ``/ns/name/...`` for models and
``/datasets/ns/name/...``, ``/spaces/ns/name/...`` for the others, as on huggingface.co."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import HTMLResponse

from hubstead.repos.models import RepoType
from hubstead.web.errors import WebRoute

F = TypeVar("F", bound=Callable[..., Any])


class AccountSegmentConvertor(Convertor[str]):
    """A user or organisation name in a page address: any segment but ``api``, so that an unknown API
    address still gets the API's JSON 404 rather than a page."""

    regex = "(?!api/)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("account", AccountSegmentConvertor())


def web_router() -> APIRouter:
    return APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


def repo_route(router: APIRouter, suffix: str = "", methods: tuple[str, ...] = ("GET",)) -> Callable[[F], F]:
    """Register a repo page under both address shapes; the ``datasets/``/``spaces/`` one first, so that a
    dataset never matches the model pattern with ``datasets`` taken as a namespace."""

    def decorator(func: F) -> F:
        for prefix in ("/{repo_type:repoprefix}/{namespace}/{name}", "/{namespace:account}/{name}"):
            router.add_api_route(prefix + suffix, func, methods=list(methods), name=func.__name__)
        return func

    return decorator


def path_repo_type(request: Request) -> RepoType:
    value = request.path_params.get("repo_type", RepoType.MODEL)
    return value if isinstance(value, RepoType) else RepoType.MODEL


RepoTypeDep = Annotated[RepoType, Depends(path_repo_type)]
