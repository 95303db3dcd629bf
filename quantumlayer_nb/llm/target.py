"""A deployment chosen for a request: what the transport (``llm.client``) is given.

It lives below the router (``routing.resolve`` builds it from the settings), so the
transport depends on the settings only, never on the router.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from quantumlayer_nb.config import RECIPES_MODEL, Deployment
from quantumlayer_nb.llm._lazy import litellm_module

__all__ = ["Target"]

_OPENAI_COMPATIBLE = {"openai", "hosted_vllm", "text-completion-openai"}


@dataclass(frozen=True)
class Target:
    """A deployment chosen for a request, with the name it was asked for."""

    requested: str
    name: str
    deployment: Deployment

    @property
    def is_recipes(self) -> bool:
        return self.deployment.model == RECIPES_MODEL

    def litellm_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``litellm.completion`` that identify this deployment."""
        dep = self.deployment
        kwargs: dict[str, Any] = {"model": dep.model, **dep.params}
        if dep.api_base:
            kwargs["api_base"] = dep.api_base
        if dep.api_version:
            kwargs["api_version"] = dep.api_version
        if dep.api_key_env:
            kwargs["api_key"] = os.environ[dep.api_key_env]
        elif dep.api_base and _provider(dep.model) in _OPENAI_COMPATIBLE:
            # A custom server with no key of its own must not receive OPENAI_API_KEY.
            kwargs["api_key"] = "no-key"
        return kwargs


_provider_cache: dict[str, str | None] = {}


# Providers litellm names by the prefix of a model id: placed here without importing litellm
# (seconds), so that resolving "openai/gpt-4o-mini" in a replayed run loads nothing. Any other
# name is litellm's to place.
_PREFIXES = frozenset({
    "openai", "azure", "azure_ai", "anthropic", "ollama", "ollama_chat", "gemini", "vertex_ai",
    "bedrock", "groq", "mistral", "together_ai", "deepseek", "openrouter", "cohere",
    "huggingface", "fireworks_ai", "xai", "perplexity", "hosted_vllm", "vllm", "lm_studio",
    "databricks", "watsonx", "cerebras", "sambanova", "nvidia_nim", "deepinfra", "replicate",
    "cloudflare", "sagemaker", "github", "llamafile", "openai_like", "custom_openai",
})


def _provider(model: str) -> str | None:
    if model in _provider_cache:
        return _provider_cache[model]
    prefix, slash, rest = model.partition("/")
    if slash and rest.strip() and prefix in _PREFIXES:
        _provider_cache[model] = prefix
        return prefix
    litellm = litellm_module()
    try:
        provider: str | None = litellm.get_llm_provider(model)[1]
    except Exception:  # litellm raises BadRequestError for names it cannot place
        provider = None
    _provider_cache[model] = provider
    return provider
