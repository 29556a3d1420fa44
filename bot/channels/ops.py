"""/metrics (Prometheus text format) and /healthz (JSON naming each check; 200 or 503)."""

from __future__ import annotations

from dataclasses import asdict

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.clock import Clock
from bot.metrics import Metrics
from storage.database import Database

log = structlog.get_logger(__name__)

METRICS_KEY = web.AppKey("metrics", Metrics)
_DATABASE_KEY = web.AppKey("ops_database", Database)
_CLOCK_KEY = web.AppKey("ops_clock", Clock)  # type: ignore[type-abstract]


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS_KEY]
    try:
        body = await registry.scrape(request.app[_DATABASE_KEY], request.app[_CLOCK_KEY].now())
    except Exception:
        # The scrape failing is itself the alert; say so rather than serve stale gauges.
        log.exception("metrics.scrape_failed")
        registry.error("metrics")
        return web.Response(status=503, text="database unreachable\n")
    response = web.Response(body=body)
    # CONTENT_TYPE_LATEST carries its own charset parameter, which aiohttp's content_type refuses.
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def healthz(request: web.Request) -> web.Response:
    checks = await request.app[METRICS_KEY].health(request.app[_DATABASE_KEY], request.app[_CLOCK_KEY].now())
    ok = all(check.ok for check in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        # Kept from the first /healthz: monitors and the Dockerfile's HEALTHCHECK may read it.
        "database": checks["database"].ok,
        "checks": {name: asdict(check) for name, check in checks.items()},
    }
    return web.json_response(body, status=200 if ok else 503)


def install(app: web.Application, registry: Metrics, database: Database, clock: Clock) -> None:
    app[METRICS_KEY] = registry
    app[_DATABASE_KEY] = database
    app[_CLOCK_KEY] = clock
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
