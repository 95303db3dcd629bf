"""Turn the name a caller gives (alias, deployment, litellm id) into a deployment to call.

Checks that need no network happen here, before any call: that the model is known to
litellm, and that the environment variable holding its key is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from quantumlayer_nb.config import RECIPES_MODEL, Deployment, Settings
from quantumlayer_nb.errors import ConfigError, MissingCredentials, ModelNotFound
from quantumlayer_nb.llm._lazy import litellm_module

__all__ = ["Target", "check_credentials", "provider_of", "resolve"]

_MAX_ALIAS_DEPTH = 8
_OPENAI_COMPATIBLE = {"openai", "hosted_vllm", "text-completion-openai"}
_RECIPES = Deployment(model=RECIPES_MODEL, input_cost_per_token=0.0, output_cost_per_token=0.0)


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


def resolve(name: str | None, settings: Settings) -> Target:
    """Resolve ``name`` (or the default) through aliases and deployments.

    Raises:
        ModelNotFound: nothing matches and litellm knows no provider for the name.
        ConfigError: aliases form a loop.
    """
    requested = name if name is not None else settings.resolved_default()
    if not requested.strip():
        raise ModelNotFound("The model name is empty. Pass model='...' or set default_route.")
    current = requested.strip()
    seen = [current]
    while current in settings.aliases:
        current = settings.aliases[current].strip()
        if current in seen or len(seen) > _MAX_ALIAS_DEPTH:
            chain = " -> ".join([*seen, current])
            raise ConfigError(f"Aliases form a loop: {chain}. Point one of them at a real model.")
        seen.append(current)
    if current in settings.deployments:
        return Target(requested, current, settings.deployments[current])
    if current == RECIPES_MODEL:
        return Target(requested, current, _RECIPES)
    if _provider(current) is None:
        known = sorted({*settings.aliases, *settings.deployments, RECIPES_MODEL})
        raise ModelNotFound(
            f"Unknown model {current!r}: it is not an alias or deployment "
            f"({', '.join(known)}), and litellm knows no provider for it. Use a litellm id "
            "with its provider, like 'openai/gpt-4o-mini' or 'ollama/llama3', or add it to "
            "[aliases] or [deployments] in qlayer.toml."
        )
    return Target(requested, current, Deployment(model=current))


_provider_cache: dict[str, str | None] = {}


def provider_of(model: str) -> str | None:
    """The litellm provider of a model id (cached); None when litellm cannot place it."""
    return _provider(model)


def _provider(model: str) -> str | None:
    if model in _provider_cache:
        return _provider_cache[model]
    litellm = litellm_module()
    try:
        provider: str | None = litellm.get_llm_provider(model)[1]
    except Exception:  # litellm raises BadRequestError for names it cannot place
        provider = None
    _provider_cache[model] = provider
    return provider


_NOT_A_KEY_SUFFIXES = ("_API_BASE", "_API_VERSION", "_BASE_URL", "_REGION_NAME")
_credential_cache: dict[tuple[str, frozenset[str]], list[str]] = {}


def check_credentials(target: Target) -> None:
    """Raise before any network call when the deployment's key is not set.

    Raises:
        MissingCredentials: naming the environment variable(s) to set.
    """
    dep = target.deployment
    if target.is_recipes:
        return
    if dep.api_key_env:
        if not os.environ.get(dep.api_key_env):
            raise MissingCredentials(
                f"Deployment {target.name!r} reads its key from ${dep.api_key_env}, which is not "
                f"set. Set it (export {dep.api_key_env}=...) or change api_key_env in qlayer.toml.",
                env_vars=[dep.api_key_env],
            )
        return
    if dep.api_base:
        return  # a custom server: its key, if it needs one, is named by api_key_env
    present = frozenset(k for k, v in os.environ.items() if v and k.isupper() and "_" in k)
    key = (dep.model, present)
    missing = _credential_cache.get(key)
    if missing is None:
        report = litellm_module().validate_environment(dep.model)
        missing = [] if report.get("keys_in_environment") else list(report.get("missing_keys", []))
        missing = [m for m in missing if not m.endswith(_NOT_A_KEY_SUFFIXES)]
        _credential_cache[key] = missing
    if missing:
        names = " or ".join(f"${m}" for m in missing)
        raise MissingCredentials(
            f"No key for {dep.model!r}: set {names} (export {missing[0]}=...), or pick another "
            f"model: qlayer models lists what is configured. Without any key, "
            f"model='{RECIPES_MODEL}' works offline.",
            env_vars=missing,
        )
