"""The site's own CSS, JavaScript and icons, shipped inside the package (nothing from a CDN)."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from hubstead.errors import NotFoundError
from hubstead.web.routing import web_router
from hubstead.web.site import STATIC

router = web_router()
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in TYPES} if STATIC.is_dir() else {}


@router.get("/static/{name}")
def get_static_file(name: str) -> Response:
    path = FILES.get(name)
    if path is None:
        raise NotFoundError(f"No static file {name}")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=TYPES[path.suffix], headers=headers)


@router.get("/favicon.ico")
def get_favicon() -> Response:
    return get_static_file("favicon.svg")
