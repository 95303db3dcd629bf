"""Batches: ``generate_many`` and ``agenerate_many``.

Every call goes through ``agenerate``, so routes, rate limits, budgets and the cache apply
to each item. Each finished item is appended to a journal (``data_dir/batches/<id>.jsonl``,
the id a hash of the prompts and arguments), so a batch killed midway and started again
answers what it already got from the journal and pays only for the rest.

litellm spends a few milliseconds of CPU per call, so one process saturates one core long
before 100 concurrent calls saturate a server: ``generate_many`` spreads large batches over
worker processes (``concurrent.futures``; any ``Executor``, e.g. a Dask client's
``get_executor()``, can be passed instead), each running an event loop with its share of
the concurrency and of each deployment's rate limits. Each of a process's ``concurrency``
slots takes the next item when its last one ends; workers this process forks take them from
one list shared at fork, so the one that gets more CPU does more. Starts are spaced by the
CPU one call takes (:class:`_Pacer`), so the calls do not travel in waves.

The workers are forked from this process after it has loaded everything a call needs
(litellm, the pipeline, the safety model): a child that had to import them itself would
spend seconds of CPU doing so, on the cores the batch needs. Their objects are frozen out
of the garbage collector first, so the children neither scan nor copy them. A forked child
starts with fresh locks in the routing state (``routing.resilience``), so a lock one of
this process's threads held at fork time cannot hang it.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import pickle
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Executor, Future, wait
from pathlib import Path
from typing import Any

from quantumlayer_nb.config import get_settings
from quantumlayer_nb.errors import QLayerError, RequestError
from quantumlayer_nb.generation import Generation
from quantumlayer_nb.jobs import tracked

__all__ = ["BatchCancelled", "BatchInterrupted", "ProgressCallback", "agenerate_many",
           "generate_many"]

ProgressCallback = Callable[[int, int, "Generation | Exception"], None]
Result = Generation | Exception
_PROCESS_THRESHOLD = 64
_WORKER_GC_THRESHOLD = 50_000
"""Young-generation threshold in a worker: a batch allocates fast and keeps little."""


def _batch_id(prompts: Sequence[str], kwargs: dict[str, Any]) -> str:
    plain = {k: v for k, v in sorted(kwargs.items()) if k not in ("check", "context")}
    text = json.dumps({"prompts": list(prompts), "kwargs": plain}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _journal_path(prompts: Sequence[str], kwargs: dict[str, Any]) -> Path:
    folder = get_settings().data_path / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_batch_id(prompts, kwargs)}.jsonl"


def _read_journal(path: Path, offset: int = 0) -> tuple[dict[int, Result], int]:
    """Entries appended since ``offset`` (a byte position), and the new offset."""
    found: dict[int, Result] = {}
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return found, offset
    end = data.rfind(b"\n") + 1  # a line still being written is read next time
    for line in data[:end].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "generation" in entry:
            found[entry["i"]] = Generation.model_validate(entry["generation"])
        else:
            found[entry["i"]] = QLayerError(entry.get("error", "failed"))
    return found, offset + end


def _open_journal(path: Path) -> int:
    """Open for appending; end a line cut short by a killed run so the next one is whole."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
    return fd


def _append(fd: int, index: int, result: Result) -> None:
    if isinstance(result, Generation):
        entry: dict[str, Any] = {"i": index, "generation": result.model_dump(mode="json")}
    else:
        entry = {"i": index, "error": f"{type(result).__name__}: {result}"}
    os.write(fd, (json.dumps(entry) + "\n").encode())  # one O_APPEND write per line


class BatchCancelled(QLayerError):
    """The batch was cancelled before this item started; run the batch again to finish it."""


class BatchInterrupted(KeyboardInterrupt):
    """The stop button (Ctrl-C) stopped a batch: no new call started after it.

    The calls in flight finished and are in the batch's journal, so running the same batch
    again answers them from it at no cost and does only the rest. A notebook shows the
    one-line message instead of a traceback.

    Attributes:
        results: One :class:`Generation` or exception per prompt, in order; the items that
            never started are :class:`BatchCancelled`.
    """

    def __init__(self, results: list[Result]) -> None:
        self.results = results
        self.finished = sum(1 for r in results if isinstance(r, Generation))
        self.total = len(results)
        super().__init__(
            f"Batch interrupted: {self.finished} of {self.total} calls finished and are "
            "recorded; no new call was started. Run the same batch again to resume: the "
            "finished ones come from the batch journal at no cost. The results so far are "
            "on this exception's .results (sys.last_value.results in a notebook)."
        )

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


ItemSource = Callable[[], "tuple[int, str] | None"]
"""Hands out the next item to start (``None`` when there are no more)."""


def _from_list(items: list[tuple[int, str]]) -> ItemSource:
    pending = iter(items)
    return lambda: next(pending, None)


class _Pacer:
    """Spaces the starts of a batch's calls by the CPU time one call takes here.

    Started all at once, a batch's calls come back all at once, and the event loop works on
    the whole wave together: every call waits for the wave's CPU (litellm spends a few
    milliseconds per call) and the next wave leaves together, so the waves never spread
    and the CPU idles between them. Started one CPU-call apart, the calls come back spread
    over the latency and the loop finishes each before the next arrives. This rate is what
    the CPU can do anyway, so pacing costs no throughput; with provider latencies of
    seconds the gap (milliseconds) is lost in them.
    """

    PRIOR_S = 0.004
    """The gap before this batch has measured its own (about litellm's CPU per call)."""
    MAX_S = 0.05
    """Other work in this process counts as the batch's: never space calls wider than this."""
    MEASURE_AFTER = 8

    def __init__(self) -> None:
        self.cpu_at_start = time.process_time()
        self.started = 0
        self.finished = 0
        self.next_start = 0.0

    def gap_s(self) -> float:
        if self.finished < self.MEASURE_AFTER:
            return self.PRIOR_S
        # Calls in flight have spent about half their CPU: count them as half done.
        spent = time.process_time() - self.cpu_at_start
        return min(self.MAX_S, spent / (self.finished + (self.started - self.finished) / 2))

    async def turn(self) -> None:
        now = time.perf_counter()
        start = max(now, self.next_start)
        self.next_start = start + self.gap_s()
        self.started += 1
        if start > now:
            await asyncio.sleep(start - now)


async def _run_items(take: ItemSource, concurrency: int, journal: Path | None,
                     kwargs: dict[str, Any],
                     on_done: Callable[[int, Result], None] | None,
                     cancel: threading.Event | None = None) -> dict[int, Result]:
    """Run ``concurrency`` slots, each taking the next item as soon as its last one ends."""
    from quantumlayer_nb._api import agenerate

    results: dict[int, Result] = {}
    fd = _open_journal(journal) if journal else None

    def finish(index: int, result: Result, journalled: bool) -> None:
        results[index] = result
        if fd is not None and journalled:
            _append(fd, index, result)
        if on_done is not None:
            on_done(index, result)

    pacer = _Pacer()

    async def slot() -> None:
        while (item := take()) is not None:
            index, prompt = item
            if cancel is None or not cancel.is_set():
                await pacer.turn()
            if cancel is not None and cancel.is_set():
                # Not started, not journalled: running the same batch again does it.
                finish(index, BatchCancelled(
                    f"Item {index} was not started: the batch was cancelled. Run the same "
                    "batch again to finish it; finished items are not paid for twice."
                ), journalled=False)
                continue
            try:
                result: Result = await agenerate(prompt, **kwargs)
            except Exception as exc:  # one item's failure is that item's result
                result = exc
            pacer.finished += 1
            finish(index, result, journalled=True)

    try:
        await asyncio.gather(*(slot() for _ in range(max(1, concurrency))))
    finally:
        if fd is not None:
            os.close(fd)
    return results


def _check(prompts: Sequence[str], concurrency: int) -> None:
    if isinstance(prompts, str):
        raise RequestError("generate_many takes a list of prompts, not one string. "
                           "Use generate() for a single prompt.")
    if concurrency < 1:
        raise RequestError(f"concurrency={concurrency} must be at least 1.")


@tracked("batch")  # a job record the sidebar follows, and its cancel flag
async def agenerate_many(
    prompts: Sequence[str],
    *,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
    resume: bool = True,
    cancel_event: threading.Event | None = None,
    **generate_kwargs: Any,
) -> list[Result]:
    """Generate for every prompt on the running event loop, ``concurrency`` at a time.

    Args:
        prompts: One request per item.
        concurrency: Calls in flight at once.
        on_progress: Called as ``on_progress(done, total, last)`` as each item finishes.
        resume: Answer items already in this batch's journal from it.
        cancel_event: When set, items not yet started end as :class:`BatchCancelled`; the
            calls in flight finish and are kept. Default: ``on_progress.cancel_event`` when
            the callback has one (a ``ProgressWidget``'s Cancel button).
        **generate_kwargs: Passed to every ``agenerate`` call (``model=``, ``format=``...).

    Returns:
        One :class:`Generation` or exception per prompt, in order.
    """
    _check(prompts, concurrency)
    journal = _journal_path(prompts, generate_kwargs)
    done = _finished(journal) if resume else {}
    total, count = len(prompts), 0
    for result in done.values():
        count += 1
        if on_progress is not None:
            on_progress(count, total, result)

    def tick(_: int, result: Result) -> None:
        nonlocal count
        if isinstance(result, BatchCancelled):
            return  # never started: not done, not failed; a re-run does it
        count += 1
        if on_progress is not None:
            on_progress(count, total, result)

    _announce_job(on_progress)
    cancel = cancel_event or getattr(on_progress, "cancel_event", None)
    todo = [(i, p) for i, p in enumerate(prompts) if i not in done]
    done.update(await _run_items(_from_list(todo), concurrency, journal, generate_kwargs, tick,
                                 cancel))
    if cancel is not None and cancel.is_set():
        _finish(on_progress, "cancelled")  # a widget stops saying "running"
    return [done[i] for i in range(total)]


def _announce_job(on_progress: Any) -> None:
    """Tell a progress widget its job record's id, so its Cancel can go through the server."""
    job_id = getattr(getattr(on_progress, "job", None), "id", None)
    attach = getattr(on_progress, "attach_job", None)
    if isinstance(job_id, str) and callable(attach):
        attach(job_id)


def _finished(journal: Path) -> dict[int, Result]:
    entries, _ = _read_journal(journal)
    return {i: r for i, r in entries.items() if isinstance(r, Generation)}


# Set in this process just before it forks its own workers, which inherit it: a shared
# position in the list of items to do, so a worker that gets more CPU takes more items and
# both finish together (a fixed half each left one idle while the other still had work).
_shared: tuple[Any, list[tuple[int, str]]] | None = None
_fork_lock = threading.Lock()


def _shared_source() -> ItemSource:
    assert _shared is not None, "set by _spread before the workers are forked"
    position, todo = _shared

    def take() -> tuple[int, str] | None:
        with position.get_lock():  # uncontended: no system call, the GIL is kept
            taken = int(position.value)
            position.value = taken + 1
        return todo[taken] if taken < len(todo) else None

    return take


def _worker(items: list[tuple[int, str]] | None, concurrency: int, journal: str, share: float,
            kwargs: dict[str, Any]) -> dict[int, Result]:
    """Run a share of a batch; ``items=None``: take items from the list shared at fork."""
    from quantumlayer_nb.routing.resilience import set_process_share

    set_process_share(share)
    if items is None:
        # One of our own forked workers: the stop button signals the whole process group,
        # and the parent stops the batch by ending the shared list; the calls in flight
        # here must finish and be journalled, not die with a KeyboardInterrupt.
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    take = _from_list(items) if items is not None else _shared_source()
    thresholds = gc.get_threshold()
    gc.set_threshold(_WORKER_GC_THRESHOLD, *thresholds[1:])
    try:
        results = asyncio.run(_run_items(take, concurrency, Path(journal), kwargs, None))
    finally:
        gc.set_threshold(*thresholds)
    return {i: r if isinstance(r, Generation) or _picklable(r)
            else QLayerError(f"{type(r).__name__}: {r}") for i, r in results.items()}


def _prepare_parent(kwargs: dict[str, Any]) -> None:
    """Load here what every call needs, once, before workers are forked from this process."""
    from quantumlayer_nb import _api  # noqa: F401  (the pipeline, routing and ledger)
    from quantumlayer_nb.llm._lazy import litellm_module

    litellm_module()
    settings = get_settings()
    if settings.safety.hap != "off":
        from quantumlayer_nb.safety.hap import load_hap_model

        load_hap_model()
    if settings.cache.semantic and (kwargs.get("cache", True) is not False
                                    or settings.cache.mode == "replay"):
        from quantumlayer_nb.cache import cache_for

        # The embedder and the entries other processes stored, read once here: otherwise
        # every worker loads the one and reads all of the other after the fork.
        cache = cache_for(settings)
        cache.refresh()
        cache.embedder.embed(["a batch of requests"])


def _picklable(value: object) -> bool:
    try:
        pickle.loads(pickle.dumps(value))
    except Exception:
        return False
    return True


@tracked("batch")
def generate_many(
    prompts: Sequence[str],
    *,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    resume: bool = True,
    cancel_event: threading.Event | None = None,
    **generate_kwargs: Any,
) -> list[Result]:
    """Generate for every prompt, ``concurrency`` calls at a time, over worker processes.

    Args:
        prompts: One request per item.
        concurrency: Calls in flight at once, over all workers.
        on_progress: Called as ``on_progress(done, total, last)`` as items finish.
        workers: Processes to spread the calls over (default: 1 for small batches, else
            up to 2, one per core). ``1`` runs everything on an event loop here.
        executor: Run the workers on this executor (e.g. ``dask_client.get_executor()``).
        resume: Answer items already in this batch's journal from it.
        cancel_event: As in :func:`agenerate_many`. A cancellable batch runs on one event
            loop here: worker processes cannot see the event.
        **generate_kwargs: Passed to every call (``model=``, ``format=``, ``max_tokens=``...).

    Returns:
        One :class:`Generation` or exception per prompt, in order.
    """
    _check(prompts, concurrency)
    cancel = cancel_event or getattr(on_progress, "cancel_event", None)
    if cancel is not None:
        workers = 1
    if workers is None:
        big = len(prompts) >= _PROCESS_THRESHOLD and concurrency >= 16
        workers = min(2, os.cpu_count() or 1) if big else 1
    if workers > 1 and not _picklable(generate_kwargs):
        workers = 1  # a lambda check= cannot travel to another process
    if workers <= 1 and executor is None:
        cancel = cancel if cancel is not None else threading.Event()  # the stop button's
        results = _run_interruptible(agenerate_many(
            prompts, concurrency=concurrency, on_progress=on_progress, resume=resume,
            cancel_event=cancel, **generate_kwargs), cancel, on_progress)
        if cancel.is_set():
            _finish(on_progress, "cancelled")
        return results
    return _spread(prompts, concurrency, on_progress, max(1, workers), executor, resume,
                   generate_kwargs)


def _finish(on_progress: Any, status: str) -> None:
    finish = getattr(on_progress, "finish", None)
    if callable(finish):
        finish(status)


def _run_interruptible(coroutine: Coroutine[Any, Any, list[Result]], cancel: threading.Event,
                       on_progress: Any) -> list[Result]:
    """Run a batch on its own thread's event loop; the stop button stops it cleanly.

    A KeyboardInterrupt (the stop button, Ctrl-C) reaches this thread, never the batch's:
    it sets ``cancel``, so no new call starts, waits for the calls in flight to finish and
    be journalled, and raises :class:`BatchInterrupted` with the results. A second one
    stops waiting (the calls in flight still finish and are recorded in the background).
    """
    outcome: Future[list[Result]] = Future()

    def run() -> None:
        try:
            outcome.set_result(asyncio.run(coroutine))
        except BaseException as exc:  # handed to the waiting thread as it is
            outcome.set_exception(exc)

    thread = threading.Thread(target=run, name="qlayer-batch", daemon=True)
    thread.start()
    try:
        return outcome.result()
    except KeyboardInterrupt:
        cancel.set()
        _finish(on_progress, "cancelled")
    results = outcome.result()  # the calls in flight finish; a second interrupt abandons
    raise BatchInterrupted(results) from None


def _spread(prompts: Sequence[str], concurrency: int, on_progress: ProgressCallback | None,
            workers: int, executor: Executor | None, resume: bool,
            kwargs: dict[str, Any]) -> list[Result]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if executor is None:  # our own workers are forked from this process
        _prepare_parent(kwargs)
    journal = _journal_path(prompts, kwargs)
    done = _finished(journal) if resume else {}
    _, offset = _read_journal(journal)
    total, count = len(prompts), 0
    reported: set[int] = set()

    def report(index: int, result: Result) -> None:
        nonlocal count
        if index in reported:
            return
        reported.add(index)
        count += 1
        if on_progress is not None:
            on_progress(count, total, result)

    for index, result in done.items():
        report(index, result)
    global _shared
    todo = [(i, p) for i, p in enumerate(prompts) if i not in done]
    share = max(1, concurrency // workers)
    own = executor is None
    fork = multiprocessing.get_context("fork")
    parts: list[list[tuple[int, str]] | None]
    # Our children take items from one shared list as they go (its position lives in shared
    # memory, held here until the batch ends); another machine's workers get a fixed share.
    position = fork.Value("q", 0) if own else None
    if own:
        parts = [None] * min(workers, len(todo))
    else:
        parts = [part for part in (todo[w::workers] for w in range(workers)) if part]
    pool = executor or ProcessPoolExecutor(workers, mp_context=fork)
    gc.freeze()  # the children inherit these objects: keep the collector off their pages
    try:
        with _fork_lock:  # another thread's batch must not swap the list under this fork
            _shared = (position, todo) if own else None
            try:
                futures: list[Future[dict[int, Result]]] = [
                    pool.submit(_worker, part, share, str(journal), 1 / workers, kwargs)
                    for part in parts
                ]  # the pool forks all its workers on the first submit: they have the list
            finally:
                _shared = None
        gc.unfreeze()
        interrupted = False
        # A cancel from the sidebar or a widget (the job record's flag file): the shared list
        # ends, the calls in flight finish; items not started come back as BatchCancelled.
        flag = getattr(getattr(on_progress, "job", None), "cancel_flag", None)
        try:
            while on_progress is not None and not all(f.done() for f in futures):
                time.sleep(0.05)  # progress comes from the journal the workers append to
                fresh, offset = _read_journal(journal, offset)
                for index, result in fresh.items():
                    report(index, result)
                if flag is not None and position is not None and flag.is_set():
                    with position.get_lock():
                        position.value = len(todo)
                    flag = None
            wait(futures)
        except KeyboardInterrupt:
            if position is None:  # another machine's workers: nothing to tell them
                raise
            with position.get_lock():  # the shared list ends here: no worker starts more
                position.value = len(todo)
            interrupted = True
            _finish(on_progress, "cancelled")
            wait(futures)  # the calls in flight finish and are journalled
        for future in futures:
            for index, result in future.result().items():
                done[index] = result
                report(index, result)
    finally:
        gc.unfreeze()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    results = [done.get(i) or BatchCancelled(
        f"Item {i} was not started: the batch was interrupted. Run the same batch again to "
        "finish it; finished items are not paid for twice.") for i in range(total)]
    if interrupted:
        raise BatchInterrupted(results)
    return results
