"""What a request would cost, before it is sent: tokens counted with the model's tokenizer.

``estimate(prompt, model=...)`` resolves the model, alias or route to its deployments,
counts the prompt's tokens for each with litellm's ``token_counter``, prices them from the
deployment's price overrides or litellm's cost map, and gives a range: the cheapest
deployment with no output at the low end, the dearest with ``max_output_tokens`` of output
at the high end. Nothing is sent. The offline model ``qlayer/recipes`` costs $0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantumlayer_nb._format import usd

__all__ = ["CostEstimate", "DeploymentEstimate", "estimate"]

DEFAULT_MAX_OUTPUT_TOKENS = 1000
"""Output tokens assumed at the high end when neither the call nor the deployment caps them."""


@dataclass(frozen=True)
class DeploymentEstimate:
    """One deployment's share of an estimate."""

    deployment: str
    model: str
    tokens_in: int
    max_tokens_out: int
    low_usd: float | None
    high_usd: float | None


@dataclass(frozen=True)
class CostEstimate:
    """The estimated cost range of one request over the deployments of its route."""

    requested: str
    deployments: list[DeploymentEstimate] = field(default_factory=list)

    @property
    def low_usd(self) -> float | None:
        """The cheapest outcome (None when a price is unknown)."""
        values = [d.low_usd for d in self.deployments]
        return None if not values or None in values else min(v for v in values if v is not None)

    @property
    def high_usd(self) -> float | None:
        """The dearest outcome (None when a price is unknown)."""
        values = [d.high_usd for d in self.deployments]
        return None if not values or None in values else max(v for v in values if v is not None)

    def line(self) -> str:
        """``estimate for fast: $0.0001–$0.0007 (120 prompt tokens, up to 1,000 out)``."""
        low, high = self.low_usd, self.high_usd
        if low is None or high is None:
            cost = "price unknown for " + ", ".join(
                d.deployment for d in self.deployments if d.high_usd is None)
        elif high == low:
            cost = usd(high)
        else:
            cost = f"{usd(low)}–{usd(high)}"
        tokens = sorted({d.tokens_in for d in self.deployments})
        count = (f"{tokens[0]:,}" if len(tokens) == 1
                 else f"{tokens[0]:,}–{tokens[-1]:,}") if tokens else "?"
        out = max((d.max_tokens_out for d in self.deployments), default=0)
        return (f"estimate for {self.requested}: {cost} ({count} prompt tokens, up to "
                f"{out:,} out) · not sent")

    def __repr__(self) -> str:
        return self.line()


def _messages(prompt: str, system: str | None, context: str | None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    user = f"{context}\n\n{prompt}" if context else prompt
    messages.append({"role": "user", "content": user})
    return messages


def _price(litellm: Any, deployment: Any) -> tuple[float | None, float | None, int | None]:
    """(input, output) USD per token and the model's max output tokens, where known."""
    info: dict[str, Any] = {}
    try:
        info = dict(litellm.get_model_info(deployment.model))
    except Exception:  # litellm raises a bare Exception for a model it does not map
        info = {}
    price_in = deployment.input_cost_per_token
    price_out = deployment.output_cost_per_token
    if price_in is None:
        price_in = info.get("input_cost_per_token")
    if price_out is None:
        price_out = info.get("output_cost_per_token")
    limit = info.get("max_output_tokens")
    return price_in, price_out, int(limit) if isinstance(limit, int) else None


def estimate(prompt: str, *, model: str | None = None, system: str | None = None,
             context: str | None = None, max_tokens: int | None = None) -> CostEstimate:
    """Estimate what ``generate(prompt, model=model, ...)`` would cost; sends nothing.

    Args:
        prompt: The request as it would be sent.
        model: Model, alias, deployment or route (default: the configured default).
        system: The system prompt, if any.
        context: The context text that would be added to the prompt.
        max_tokens: The output cap to price at the high end (default: the deployment's
            ``max_tokens`` parameter, else 1,000).

    Returns:
        A :class:`CostEstimate` over every deployment the request could land on.
    """
    from quantumlayer_nb.config import get_settings
    from quantumlayer_nb.routing.resolve import resolve

    settings = get_settings()
    requested = model if model is not None else settings.resolved_default()
    route = settings.routes.get(requested)
    names = list(route.deployments) if route is not None else [requested]
    messages = _messages(prompt, system, context)
    found: list[DeploymentEstimate] = []
    for name in names:
        target = resolve(name, settings)
        dep = target.deployment
        cap = max_tokens or dep.params.get("max_tokens") or DEFAULT_MAX_OUTPUT_TOKENS
        if target.is_recipes:
            found.append(DeploymentEstimate(target.name, dep.model, _rough_tokens(messages),
                                            int(cap), 0.0, 0.0))
            continue
        from quantumlayer_nb.llm._lazy import litellm_module

        litellm = litellm_module()
        try:
            tokens_in = int(litellm.token_counter(model=dep.model, messages=messages))
        except Exception:  # an unknown tokenizer: litellm's default one is close enough
            tokens_in = int(litellm.token_counter(messages=messages))
        price_in, price_out, limit = _price(litellm, dep)
        cap = min(int(cap), limit) if limit else int(cap)
        if price_in is None or price_out is None:
            found.append(DeploymentEstimate(target.name, dep.model, tokens_in, cap, None, None))
            continue
        low = tokens_in * price_in
        found.append(DeploymentEstimate(target.name, dep.model, tokens_in, cap, low,
                                        low + cap * price_out))
    return CostEstimate(requested, found)


def _rough_tokens(messages: list[dict[str, str]]) -> int:
    # The offline model has no tokenizer and costs nothing: words are a fair count.
    return sum(len(m["content"].split()) for m in messages)
