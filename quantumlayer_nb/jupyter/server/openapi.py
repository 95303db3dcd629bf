"""The OpenAPI 3 document of ``/qlayer/api/``, built from the parameter table of ``views``.

Served at ``/qlayer/api/openapi.json`` and kept in ``docs/openapi.json`` (a test checks the
two agree). Responses allow extra properties: fields may be added, never renamed.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from quantumlayer_nb.jupyter.server.views import PARAMETERS, Param

__all__ = ["openapi_document", "openapi_text"]

VERSION = "1.0.0"


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **extra}


def _object(required: dict[str, dict[str, Any]], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": sorted(required),
                              "properties": required, "additionalProperties": True}
    if description:
        schema["description"] = description
    return schema


_NUM = {"type": "number"}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}

ERROR = _object({"error": {"type": "string", "description": "What was wrong and what is "
                                                           "accepted."}})

JOB = _object({
    "id": _STR, "kind": {"type": "string", "enum": ["batch", "eval", "run"]},
    "title": _STR, "pid": _INT, "started": {"type": "number", "description": "Unix seconds."},
    "updated": {"type": "number", "description": "Unix seconds of the last record write."},
    "done": _INT, "total": _nullable("integer"), "passed": _INT, "failed": _INT,
    "cost_usd": _NUM,
    "status": {"type": "string",
               "enum": ["running", "done", "cancelled", "failed", "stopped"],
               "description": "stopped: the record says running but its process is gone."},
    "eta_s": _nullable("number"),
}, "A batch, evaluation or notebook run, from its job record.")

BUDGET = _object({
    "name": _STR, "scope": {"type": "string", "enum": ["project", "user", "route"]},
    "period": {"type": "string", "enum": ["day", "month", "total"]},
    "spent_usd": _NUM, "reserved_usd": _NUM, "limit_usd": _NUM,
    "soft_limit_usd": _nullable("number"), "hard": _BOOL,
    "resets": _nullable("string", description="ISO date the period ends; null for total."),
    "fraction": {"type": "number", "description": "(spent + reserved) / limit."},
})

SUMMARY = _object({
    "project": _STR, "user": _STR, "now": {"type": "string", "format": "date-time"},
    "spend": _object({"today_usd": _NUM, "month_usd": _NUM}),
    "calls_today": _INT, "cache_hits_today": _INT, "cache_saved_usd_today": _NUM,
    "estimated_cost_today": {"type": "boolean",
                             "description": "Some of today's token counts are estimated."},
    "budgets": {"type": "array", "items": BUDGET},
    "cost_by_model": {"type": "array", "items": _object({
        "model": _STR, "day": {"type": "string", "format": "date"}, "cost_usd": _NUM,
        "calls": _INT})},
}, "Spend (UTC days) and budgets (their own periods).")

TRACE = _object({"deployment": _STR, "reason": _nullable("string"),
                 "outcome": _nullable("string"), "latency_ms": _nullable("number"),
                 "cost_usd": _nullable("number")})

CALL = _object({
    "call_id": _STR, "ts": {"type": "string", "format": "date-time"},
    "project": _nullable("string"), "user": _nullable("string"),
    "model_requested": _nullable("string"), "deployment": _nullable("string"),
    "model_served": _nullable("string"), "outcome": _nullable("string"), "cached": _BOOL,
    "cache_kind": _nullable("string"), "similar_to": _nullable("string"),
    "tokens_in": _nullable("integer"), "tokens_out": _nullable("integer"),
    "tokens_estimated": _BOOL, "cost_usd": _nullable("number"),
    "latency_ms": _nullable("number"), "notebook": _nullable("string"),
    "cell": _nullable("string"), "run_id": _nullable("string"),
    "route_trace": {"type": "array", "items": TRACE},
    "error_message": _nullable("string"),
})

CALLS = _object({"total": _INT, "offset": _INT, "limit": _INT,
                 "calls": {"type": "array", "items": CALL}})

MODELS = _object({"models": {"type": "array", "items": _object({
    "deployment": _STR, "model": _nullable("string"), "calls": _INT,
    "p50_ms": _nullable("number"), "p90_ms": _nullable("number"), "error_rate": _NUM,
    "rate_limited": _INT, "last_error": _nullable("string"),
    "last_error_hint": _nullable("string"),
    "circuit": {"type": "string", "enum": ["closed", "open", "half_open", "unknown"]},
})}})

EVALUATIONS = _object({"evaluations": {"type": "array", "items": _object({
    "eval_id": _STR, "suite": _nullable("string"),
    "started": {"type": "string", "format": "date-time"},
    "models": {"type": "array", "items": _object({
        "model": _STR,
        "pass_at": {"type": "object", "additionalProperties": {"type": "number"},
                    "description": 'pass@k by k, e.g. {"1": 0.9, "5": 1.0}.'},
        "cost_usd": _NUM, "samples": _INT})},
})}})

JOBS = _object({"jobs": {"type": "array", "items": JOB}})
CANCELLING = _object({"id": _STR, "status": {"type": "string", "enum": ["cancelling"]}})


def _parameter(param: Param) -> dict[str, Any]:
    schema: dict[str, Any]
    if param.kind == "int":
        schema = {"type": "integer", "minimum": param.minimum, "maximum": param.maximum,
                  "default": param.default}
    elif param.kind == "number":
        schema = {"type": "number", "minimum": param.minimum, "maximum": param.maximum,
                  "default": param.default}
    elif param.kind == "time":
        schema = {"type": "string", "format": "date-time",
                  "example": "2026-11-01T12:00:00+00:00"}
    else:
        schema = {"type": "string", "maxLength": param.max_length,
                  "pattern": r"^[^\u0000]*$"}  # a NUL character is a 400
    return {"name": param.name, "in": "query", "required": False,
            "description": param.description + " An empty value means not given.",
            "schema": schema}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_FORBIDDEN = {"description": "No valid token or session: log in, or send "
                             "Authorization: token <token>."}


def _get(endpoint: str, summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json(schema, summary), "403": _FORBIDDEN}
    if PARAMETERS[endpoint] or endpoint in ("summary", "jobs"):
        responses["400"] = _json(ERROR, "A bad query parameter: the message says what is "
                                        "accepted.")
    return {"get": {"operationId": endpoint, "summary": summary,
                    "parameters": [_parameter(p) for p in PARAMETERS[endpoint]],
                    "responses": responses}}


@functools.lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    paths = {
        "/qlayer/api/summary": _get("summary", "Spend today and this month, calls and cache "
                                    "hits today, budgets, cost per model (30 days).", SUMMARY),
        "/qlayer/api/calls": _get("calls", "Calls, newest first, one page, filtered.", CALLS),
        "/qlayer/api/jobs": _get("jobs", "Running and recent batches, evaluations and runs.",
                                 JOBS),
        "/qlayer/api/jobs/{id}/cancel": {"post": {
            "operationId": "cancel_job",
            "summary": "Ask a running job to stop starting calls (its calls in flight "
                       "finish and are recorded).",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}],
            "responses": {"202": _json(CANCELLING, "The cancel flag is set."),
                          "404": _json(ERROR, "No such job."),
                          "409": _json(ERROR, "The job is not running."),
                          "403": _FORBIDDEN}}},
        "/qlayer/api/models": _get("models", "Per deployment: latency, errors, rate limits, "
                                   "last error, circuit, over a recent window.", MODELS),
        "/qlayer/api/evaluations": _get("evaluations", "Evaluation runs with pass@k and cost "
                                        "per model.", EVALUATIONS),
        "/qlayer/api/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document.",
            "responses": {"200": {"description": "The OpenAPI 3 document.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}},
                          "403": _FORBIDDEN}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "quantumlayer_nb sidebar API", "version": VERSION,
                 "description": "Read-only views of a project's ledger, budgets and jobs, "
                                "served by the quantumlayer_nb Jupyter server extension. "
                                "Every endpoint needs the server's token or login."},
        "components": {"securitySchemes": {"token": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "token <the Jupyter server's token>"}}},
        "security": [{"token": []}],
        "paths": paths,
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 document (a fresh copy)."""
    return copy.deepcopy(_document())


def openapi_text() -> str:
    """The document as the JSON text kept in docs/openapi.json."""
    return json.dumps(_document(), indent=2, sort_keys=False) + "\n"
