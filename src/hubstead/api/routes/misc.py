"""Health, and the small endpoints clients probe."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from hubstead import __version__
from hubstead.api.deps import SessionDep
from hubstead.api.limits import BoundedJsonRoute

router = APIRouter(route_class=BoundedJsonRoute)


@router.get("/api/health")
def get_health(session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/api/agent-harnesses")
def get_agent_harnesses() -> dict[str, Any]:
    return {"standardEnvVars": [], "harnesses": {}}
