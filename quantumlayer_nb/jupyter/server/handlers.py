"""The REST handlers under ``/qlayer/api/``: every method ``@tornado.web.authenticated``.

Each handler brings the ledger reader up to date (in a worker thread, so a large first read
does not stall the server's event loop), then answers from the aggregates. A bad query
parameter is a 400 ``{"error": ...}`` that says what is accepted.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from quantumlayer_nb.jupyter.server import views
from quantumlayer_nb.jupyter.server.openapi import openapi_document
from quantumlayer_nb.jupyter.server.readers import LedgerReader, utc_now
from quantumlayer_nb.jupyter.server.sources import (
    BudgetReader,
    JobsReader,
    SettingsSource,
    budget_rows,
)

__all__ = ["API_PREFIX", "ServerState", "handlers"]

API_PREFIX = "qlayer/api"
T = TypeVar("T")
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ServerState:
    """What the handlers share: the settings, the ledger reader, the budget and job readers.

    Args:
        root: The folder the project is found from (the server's root_dir).
        data_dir: A data folder that overrides the project's settings.
    """

    def __init__(self, root: Path, data_dir: Path | None = None) -> None:
        self.settings = SettingsSource(root, data_dir)
        self.budgets = BudgetReader()
        self.jobs = JobsReader()
        self._reader: LedgerReader | None = None
        self._lock = threading.Lock()

    @property
    def data_path(self) -> Path:
        """The project's data folder."""
        return self.settings.data_path()

    @property
    def reader(self) -> LedgerReader:
        """The ledger reader of the current data folder (a new one if the folder changed)."""
        path = self.data_path
        with self._lock:
            if self._reader is None or self._reader.data_dir != path:
                self._reader = LedgerReader(path)
            return self._reader

    def refresh(self) -> LedgerReader:
        """Read what was appended to the ledger since the last refresh."""
        reader = self.reader
        reader.refresh()
        return reader


class _Handler(APIHandler):
    """Shared plumbing: the state, JSON replies, parameter checks."""

    state: ServerState

    def initialize(self, state: ServerState) -> None:
        self.state = state

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler answers."""
        return [name.upper() for name in ("get", "post") if name in cls.__dict__]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code != 405:
            super().write_error(status_code, **kwargs)
            return
        allowed = ", ".join(self.allowed_methods())
        self.set_header("Allow", allowed)  # RFC 9110: a 405 lists what is supported
        self.finish(json.dumps({"error": f"{self.request.method} is not supported here; "
                                         f"use {allowed}."}))

    def reply(self, payload: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, allow_nan=False))

    def params(self, endpoint: str) -> dict[str, Any] | None:
        """The checked query parameters, or None after answering 400."""
        try:
            return views.parse(endpoint, self.request.query_arguments)
        except views.BadParameter as exc:
            self.reply({"error": str(exc)}, 400)
            return None

    async def answer(self, view: Callable[[LedgerReader], T]) -> T:
        """``view(reader)`` on the up-to-date reader, in a worker thread."""
        reader = self.state.reader
        return await asyncio.get_running_loop().run_in_executor(None, reader.answer, view)


class SummaryHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        if self.params("summary") is None:
            return
        settings = self.state.settings.get()
        budgets = budget_rows(settings, self.state.budgets) if settings is not None else []
        project = settings.project if settings is not None else self.state.settings.root.name
        user = settings.user if settings is not None else ""
        payload = await self.answer(
            lambda reader: views.summary_view(reader, project, user, budgets, utc_now()))
        payload["config_error"] = self.state.settings.error
        self.reply(payload)


class CallsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        params = self.params("calls")
        if params is None:
            return
        settings = self.state.settings.get()
        store_prompts = bool(settings is not None and settings.store_prompts)
        try:
            payload = await self.answer(
                lambda reader: views.calls_view(reader, params, store_prompts))
        except views.BadParameter as exc:
            self.reply({"error": str(exc)}, 400)
            return
        self.reply(payload)


class JobsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        if self.params("jobs") is None:
            return
        self.reply({"jobs": self.state.jobs.jobs(self.state.data_path)})


class CancelHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, job_id: str) -> None:
        record = (self.state.jobs.cancel(self.state.data_path, job_id)
                  if JOB_ID.fullmatch(job_id) else None)
        if record is None:
            self.reply({"error": f"No job {job_id[:80]!r}: GET /qlayer/api/jobs lists the "
                        "jobs (ids are letters, digits, '-' and '_')."}, 404)
            return
        if record["status"] != "running":
            self.reply({"error": f"Job {job_id!r} is {record['status']}, not running: there "
                        "is nothing to cancel.", "id": job_id, "status": record["status"]},
                       409)
            return
        self.reply({"id": job_id, "status": "cancelling"}, 202)


class ModelsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        params = self.params("models")
        if params is None:
            return
        settings = self.state.settings.get()
        configured = ({name: dep.model for name, dep in settings.deployments.items()}
                      if settings is not None else {})
        window_s = float(params["window_s"])
        self.reply(await self.answer(
            lambda reader: views.models_view(reader, window_s, configured, time.time())))


class EvaluationsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        params = self.params("evaluations")
        if params is None:
            return
        limit = int(params["limit"])
        self.reply(await self.answer(lambda reader: views.evaluations_view(reader, limit)))


class OpenAPIHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(openapi_document())


class NotFoundHandler(_Handler):
    """Anything else under the prefix: a JSON 404 naming the endpoints."""

    def _missing(self) -> None:
        self.reply({"error": f"No endpoint {self.request.path!r}. The endpoints are "
                    "summary, calls, jobs, jobs/{id}/cancel (POST), models, evaluations and "
                    "openapi.json under /qlayer/api/."}, 404)

    @tornado.web.authenticated
    async def get(self, _: str) -> None:
        self._missing()

    @tornado.web.authenticated
    async def post(self, _: str) -> None:
        self._missing()


def handlers(base_url: str, state: ServerState) -> list[tuple[str, type[_Handler],
                                                               dict[str, Any]]]:
    """The URL patterns of the API, under the server's ``base_url``."""
    routes: list[tuple[str, type[_Handler]]] = [
        ("summary", SummaryHandler),
        ("calls", CallsHandler),
        ("jobs", JobsHandler),
        (r"jobs/([^/]+)/cancel", CancelHandler),
        ("models", ModelsHandler),
        ("evaluations", EvaluationsHandler),
        ("openapi.json", OpenAPIHandler),
        ("(.*)", NotFoundHandler),
    ]
    return [(url_path_join(base_url, API_PREFIX, pattern), handler, {"state": state})
            for pattern, handler in routes]
