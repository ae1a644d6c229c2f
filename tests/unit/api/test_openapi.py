"""The OpenAPI schema describes what the endpoints accept (the fuzzer in tests/fuzz relies on it), and every
route that parses a body does it with bounds."""

from __future__ import annotations

from typing import Any

from hubstead.api.limits import BoundedJsonRoute
from hubstead.api.openapi import api_routes


def test_every_api_route_reads_bodies_with_bounds(app: Any) -> None:
    routes = [r for r in api_routes(app.routes) if r.include_in_schema]  # the website's pages read forms

    assert len(routes) > 90
    assert [r.path_format for r in routes if not isinstance(r, BoundedJsonRoute)] == []


def test_repo_type_path_parameters_list_what_the_urls_take(app: Any) -> None:
    paths = app.openapi()["paths"]

    like = paths["/api/{repo_type}/{namespace}/{name}/like"]["post"]["parameters"][0]
    batch = paths["/{repo_type}/{namespace}/{name}.git/info/lfs/objects/batch"]["post"]["parameters"][0]
    assert like["schema"]["enum"] == ["models", "datasets", "spaces"]
    assert batch["schema"]["enum"] == ["datasets", "spaces"]


def test_bodies_read_by_hand_are_described(app: Any) -> None:
    paths = app.openapi()["paths"]

    tokens = paths["/api/hubstead/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    batch = paths["/{namespace}/{name}.git/info/lfs/objects/batch"]["post"]["requestBody"]["content"]
    commit = paths["/api/{repo_type}/{namespace}/{name}/commit/{revision}"]["post"]["requestBody"]["content"]
    assert "displayName" in tokens["properties"]
    assert batch["application/vnd.git-lfs+json"]["schema"]["required"] == ["operation", "objects"]
    assert "example" in commit["application/x-ndjson"]["schema"]


def test_operation_ids_are_unique(app: Any) -> None:
    ids = [op["operationId"] for ops in app.openapi()["paths"].values() for op in ops.values()]

    assert len(ids) == len(set(ids))
