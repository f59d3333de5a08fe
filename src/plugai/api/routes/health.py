"""Liveness, readiness and Prometheus metrics; no auth."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from plugai.api.deps import DatabaseDep, MetricsDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", summary="The database answers", responses={503: {"description": "Not ready"}}
)
async def readyz(db: DatabaseDep) -> Response:
    if await db.ping():
        return JSONResponse({"status": "ready", "database": "ok"})
    return JSONResponse({"status": "not_ready", "database": "unreachable"}, status_code=503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(m: MetricsDep) -> Response:
    return Response(m.render(), media_type=m.content_type)
