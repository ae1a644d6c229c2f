"""The OpenAPI schema at ``/api/hubstead/openapi.json``, made to describe what each endpoint really accepts.

FastAPI describes the bodies it parses itself; Hubstead reads many bodies by hand (capped, streamed, NDJSON, the
git-lfs media type) and routes repo types through path convertors FastAPI does not see. Without this, clients
and fuzzers would send ``repo_type=model`` where the URL wants ``models``, and no body at all to the endpoints
that need one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from hubstead.api.convertors import RepoPrefixConvertor, RepoTypesConvertor

LFS_JSON = "application/vnd.git-lfs+json"
_LFS_OBJECT = {
    "type": "object",
    "required": ["oid", "size"],
    "properties": {"oid": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "size": {"type": "integer", "minimum": 0}},
}
# bodies read by hand, by route name (see api/routes): what each one accepts, as far as a schema can say
HAND_READ_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "lfs_batch": (
        LFS_JSON,
        {
            "type": "object",
            "required": ["operation", "objects"],
            "properties": {
                "operation": {"enum": ["upload", "download"]},
                "transfers": {"type": "array", "items": {"type": "string"}},
                "objects": {"type": "array", "items": _LFS_OBJECT, "maxItems": 1000},
            },
        },
    ),
    "lfs_verify": (LFS_JSON, _LFS_OBJECT),
    "get_paths_info": (
        "application/json",
        {
            "type": "object",
            "properties": {
                "paths": {"type": "array", "items": {"type": "string"}, "maxItems": 1000},
                "expand": {"type": "boolean"},
            },
        },
    ),
    "create_commit": (
        "application/x-ndjson",
        {
            "type": "string",
            "description": "One JSON object a line: a header, then file, lfsFile, deletedFile, deletedFolder",
            "example": '{"key": "header", "value": {"summary": "Add a.txt"}}\n'
            '{"key": "file", "value": {"path": "a.txt", "content": "aGkK", "encoding": "base64"}}\n',
        },
    ),
    "create_xorb_grant": (
        "application/json",
        {
            "type": "object",
            "properties": {
                "length": {"type": "integer"},
                "checksum": {"type": "object", "properties": {"algo": {"type": "string"}, "value": {"type": "string"}}},
            },
        },
    ),
}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that fixes up FastAPI's schema (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for route in api_routes(app.routes):
                if route.include_in_schema:
                    _fix_route(schema, route)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (which FastAPI keeps behind a wrapper)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def _fix_route(schema: dict[str, Any], route: APIRoute) -> None:
    operations = schema["paths"].get(route.path_format, {})
    for method in route.methods or ():
        operation = operations.get(method.lower())
        if operation is None:
            continue
        for parameter in operation.get("parameters", []):
            convertor = route.param_convertors.get(parameter["name"]) if parameter["in"] == "path" else None
            if isinstance(convertor, RepoTypesConvertor | RepoPrefixConvertor):
                parameter["schema"] = {"type": "string", "enum": convertor.regex.split("|")}
        body = _hand_read_body(schema, route)
        if body is not None and "requestBody" not in operation:
            operation["requestBody"] = body


def _hand_read_body(schema: dict[str, Any], route: APIRoute) -> dict[str, Any] | None:
    name = route.name.removesuffix("_model")
    if name in HAND_READ_BODIES:
        media_type, body = HAND_READ_BODIES[name]
        return {"required": True, "content": {media_type: {"schema": body}}}
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        model = getattr(dependency.call, "json_model", None)
        if model is not None:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(model_schema.pop("$defs", {}))  # enums and nested models, named once each
            # inline: two modules have a CreateTokenBody (or a PasswordBody) of their own
            return {"required": True, "content": {"application/json": {"schema": model_schema}}}
        stack.extend(dependency.dependencies)
    return None
