"""How a magic's call is made: the cost confirmation before, the stream while it arrives."""

from __future__ import annotations

import sys
import time
from typing import Any

from quantumlayer_nb.errors import RequestError

__all__ = ["CallNotConfirmed", "confirm_cost", "stream_to_output"]

_STREAM_REDRAW_S = 0.1


class CallNotConfirmed(RequestError):
    """A call estimated above ``confirm_above_usd`` was not confirmed, so it was not sent."""


def _in_kernel(ipython: Any) -> bool:
    return getattr(ipython, "kernel", None) is not None


def stream_to_output(ipython: Any, stream: Any) -> Any:
    """Show a stream as it arrives, then render it like the non-streamed path.

    In a kernel the answer grows in one output that is replaced, when the stream ends, by
    the rendered markdown, the plain text, or nothing (code goes to the next cell). In a
    terminal the deltas are written to stdout.
    """
    if not _in_kernel(ipython):
        for delta in stream:
            sys.stdout.write(delta)
            sys.stdout.flush()
        print()
        return stream.result()
    from IPython.display import Markdown, display

    handle = display({"text/plain": ""}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
    if handle is None:
        handle = _NoHandle()
    parts: list[str] = []
    last = 0.0
    for delta in stream:
        parts.append(delta)
        now = time.monotonic()
        if now - last >= _STREAM_REDRAW_S:
            last = now
            handle.update({"text/plain": "".join(parts)}, raw=True)
    generation = stream.result()
    if generation.format == "markdown":
        handle.update(Markdown(generation.text))  # type: ignore[no-untyped-call]
    elif generation.format == "text" or generation.code is None:
        handle.update({"text/plain": generation.text}, raw=True)
    else:  # the code becomes the next cell, as without --stream
        handle.update({"text/plain": ""}, raw=True)
    return generation


class _NoHandle:
    def update(self, *args: Any, **kwargs: Any) -> None:
        """Nowhere to draw (no display publisher): the footer still shows the result."""


def confirm_cost(prompt: str, kwargs: dict[str, Any]) -> None:
    """Ask before a call estimated above the ``confirm_above_usd`` setting.

    Raises:
        CallNotConfirmed: the answer was not yes, or nobody can answer (no stdin).
    """
    from quantumlayer_nb.config import get_settings

    limit = getattr(get_settings(), "confirm_above_usd", None)
    if limit is None:
        return
    from quantumlayer_nb._estimate import estimate
    from quantumlayer_nb._format import usd

    found = estimate(prompt, model=kwargs.get("model"), system=kwargs.get("system"),
                     context=kwargs.get("context"))
    high = found.high_usd
    if high is not None and high <= limit:
        return
    cost = "an unknown price" if high is None else f"up to {usd(high)}"
    question = (f"This call is estimated at {cost}, above confirm_above_usd = {usd(limit)}. "
                "Send it? [y/N] ")
    try:
        answer = input(question)
    except Exception as exc:  # StdinNotImplementedError: papermill, a frontend without stdin
        raise CallNotConfirmed(
            f"Not sent: the call is estimated at {cost}, above confirm_above_usd = "
            f"{usd(limit)}, and there is no one to confirm it here. Raise or unset "
            "confirm_above_usd (%qlayer config confirm_above_usd=...) to send it."
        ) from exc
    if answer.strip().lower() not in {"y", "yes"}:
        raise CallNotConfirmed(f"Not sent: the call estimated at {cost} was not confirmed.")
