"""Liveness and readiness, at the root (not under /api/v1) where orchestrators look."""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import marshmallow as ma
from dependency_injector.wiring import Provide, inject
from flask import jsonify
from flask.views import MethodView

from marketlink.containers import Container
from marketlink.entrypoints.http.blueprint import Blueprint
from marketlink.entrypoints.http.errors import error_body
from marketlink.entrypoints.http.schemas import ErrorOut

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Operations")


class Probe(Protocol):
    name: str

    def __call__(self) -> None: ...


class HealthOut(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    checks = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Each dependency: ok or down (readiness only)"},
    )


class NotReadyOut(ErrorOut):
    """The error shape, and the state of each dependency."""

    message = ma.fields.String(required=True, metadata={"example": "Not ready: redis down."})
    error = ma.fields.String(required=True, metadata={"example": "not_ready"})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


@blp.route("/healthz")
class Liveness(MethodView):
    @blp.doc(operationId="checkLiveness")
    @blp.response(200, HealthOut)
    def get(self) -> dict[str, Any]:
        """The process is up"""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.doc(operationId="checkReadiness")
    @blp.response(200, HealthOut)
    @blp.alt_response(503, schema=NotReadyOut, description="Names what is down")
    @inject
    def get(self, probes: Sequence[Probe] = Provide[Container.readiness_probes]) -> Any:
        """The database (and Redis, when configured) answer"""
        checks: dict[str, str] = {}
        for probe in probes:
            try:
                probe()
            except Exception as exc:  # any failure means "not ready", whatever its type
                log.warning("readiness: %s is down: %s", probe.name, exc)
                checks[probe.name] = "down"
            else:
                checks[probe.name] = "ok"
        down = [name for name, state in checks.items() if state != "ok"]
        if down:
            body = error_body(503, f"Not ready: {', '.join(down)} down.", error="not_ready")
            response = jsonify({**body, "checks": checks})
            response.status_code = 503
            return response
        return {"status": "ok", "checks": checks}
