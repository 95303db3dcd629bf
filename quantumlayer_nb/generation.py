"""What a call returns: ``Generation``, and how code is taken out of a reply."""

from __future__ import annotations

import ast
import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from quantumlayer_nb._format import usd

__all__ = ["Format", "Generation", "RouteAttempt", "extract_code"]

Format = Literal["code", "text", "markdown"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON_TAGS = {"", "python", "py", "python3", "ipython", "pycon"}


class RouteAttempt(BaseModel):
    """One attempt on one deployment, as the router saw it."""

    model_config = ConfigDict(frozen=True)

    deployment: str = Field(description="Deployment (or litellm model id) that was tried.")
    reason: str = Field(description="Why it was picked.")
    outcome: str = Field(description="'ok', 'cache_hit', or the error class name.")
    latency_ms: float = Field(description="Wall time of the attempt.")
    cost_usd: float | None = Field(default=None, description="What it cost; None if unknown.")


class Generation(BaseModel):
    """The result of one ``generate`` call."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The full reply.")
    code: str | None = Field(description="Python code from the reply's fences (format='code').")
    syntax_error: str | None = Field(
        default=None, description="Why ``code`` does not parse, when it does not."
    )
    format: Format = Field(description="The format that was asked for.")
    model: str = Field(description="The model, alias or route the caller asked for.")
    model_served: str = Field(description="The model that actually answered.")
    deployment: str | None = Field(default=None, description="The deployment that answered.")
    tokens_in: int | None = Field(default=None, description="Prompt tokens.")
    tokens_out: int | None = Field(default=None, description="Completion tokens.")
    cost_usd: float | None = Field(description="Cost in USD; None when the price is unknown.")
    cost_known: bool = Field(description="False when no price was found for the model.")
    latency_ms: float = Field(description="Wall time of the call, in milliseconds.")
    ttft_ms: float | None = Field(default=None, description="Time to first token (streaming).")
    cached: bool = Field(default=False, description="Answered from the cache or store.")
    cache_kind: Literal["exact", "semantic"] | None = Field(
        default=None,
        description="For a cache hit: 'exact' (the same request) or 'semantic' (a close "
        "paraphrase of a stored one, see similar_to); None when not answered from the cache.",
    )
    similar_to: str | None = Field(
        default=None,
        description="For a semantic hit: the stored request's last user message that was "
        "reused, redacted and cut to 200 characters; None otherwise.",
    )
    call_id: str = Field(description="The id of this call on the ledger.")
    prompt_hash: str = Field(description="sha256 of the request as sent.")
    finish_reason: str | None = Field(default=None)
    route_trace: tuple[RouteAttempt, ...] = Field(default=(), description="Every attempt made.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="What the caller passed.")
    tokens_estimated: bool = Field(
        default=False,
        description="True when the provider sent no usage and the tokens (and so the cost) "
        "were estimated.",
    )

    _shown: bool = PrivateAttr(default=False)

    def __str__(self) -> str:
        return self.code if self.format == "code" and self.code is not None else self.text

    def __repr__(self) -> str:
        if self.format == "code" and self.code is not None:
            count = len(self.code.splitlines())
            what = f"code, {count} line{'' if count == 1 else 's'}"
        else:
            what = f"{self.format}, {len(self.text):,} chars"
        return f"<Generation {self.call_id[:12]} · {what} · {self.footer()}>"

    def footer(self) -> str:
        """One line: model · tokens · cost · latency · cache (``~`` marks estimates)."""
        mark = "~" if self.tokens_estimated else ""
        tokens = (
            f"{mark}{self.tokens_in}→{self.tokens_out} tok"
            if self.tokens_in is not None and self.tokens_out is not None
            else "tokens unknown"
        )
        cost = "cost unknown" if self.cost_usd is None else f"{mark}{usd(self.cost_usd)}"
        if self.cached and self.cache_kind == "semantic":
            similar = (self.similar_to or "").replace("\n", " ").strip()
            similar = similar if len(similar) <= 60 else similar[:59] + "…"
            cache = f"semantic cache hit (similar to: {similar})"
        else:
            cache = "cache hit" if self.cached else "live"
        return f"{self.model_served} · {tokens} · {cost} · {self.latency_ms:.0f} ms · {cache}"

    def provenance(self) -> dict[str, Any]:
        """What a notebook output records about this call (its ``metadata.quantumlayer``)."""
        return {"quantumlayer": {"call_id": self.call_id, "model": self.model_served,
                                 "cost_usd": self.cost_usd, "prompt_hash": self.prompt_hash}}

    def mark_shown(self) -> None:
        """The footer is already on screen: the next display of this object shows nothing.

        The magics display the footer themselves and return the Generation as the cell's
        value; this keeps IPython from showing it a second time as ``Out``.
        """
        self._shown = True

    def _ipython_display_(self) -> None:
        if self._shown:
            self._shown = False
            return
        import html

        from IPython.display import display

        footer = self.footer()
        display({"text/plain": footer,  # type: ignore[no-untyped-call]
                 "text/html": f'<div class="qlayer-footer"><small>{html.escape(footer)}'
                              "</small></div>"},
                raw=True, metadata=self.provenance())


def extract_code(text: str) -> tuple[str | None, str | None]:
    """Take the Python code out of a reply.

    Fenced blocks tagged python (or untagged) are joined; a reply with no fence at all
    is taken as code when it parses as Python.

    Returns:
        ``(code, syntax_error)``: the code (None if there is none) and, when it does not
        parse, the parser's message with its line number.
    """
    blocks = [body for tag, body in _FENCE.findall(text) if tag.lower() in _PYTHON_TAGS]
    if blocks:
        code = "\n\n".join(block.strip("\n") for block in blocks).strip("\n") + "\n"
    elif "```" in text or not text.strip():
        return None, None
    else:
        code = text.strip("\n") + "\n"
        if _syntax_error(code) is not None:
            return None, None
    return code, _syntax_error(code)


@functools.lru_cache(maxsize=512)  # a cache hit or a replay parses the same answer again
def _syntax_error(code: str) -> str | None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    return None
