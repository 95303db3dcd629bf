"""Turn the name a caller gives (alias, deployment, litellm id) into a deployment to call.

Checks that need no network happen here, before any call: that the model is known to
litellm, and that the environment variable holding its key is set.
"""

from __future__ import annotations

import os

from quantumlayer_nb.config import RECIPES_MODEL, Deployment, Settings
from quantumlayer_nb.errors import ConfigError, MissingCredentials, ModelNotFound
from quantumlayer_nb.llm._lazy import litellm_module
from quantumlayer_nb.llm.target import Target, _provider
from quantumlayer_nb.safety.secrets import redact_text

__all__ = ["Target", "check_credentials", "provider_of", "resolve"]

_MAX_ALIAS_DEPTH = 8
_RECIPES = Deployment(model=RECIPES_MODEL, input_cost_per_token=0.0, output_cost_per_token=0.0)


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
            chain = redact_text(" -> ".join([*seen, current]))
            raise ConfigError(f"Aliases form a loop: {chain}. Point one of them at a real model.")
        seen.append(current)
    if current in settings.deployments:
        return Target(requested, current, settings.deployments[current])
    if current == RECIPES_MODEL:
        return Target(requested, current, _RECIPES)
    if _provider(current) is None:
        known = sorted({*settings.aliases, *settings.deployments, RECIPES_MODEL})
        # The name is user input: a key pasted into --model must not come back in the error.
        raise ModelNotFound(
            f"Unknown model {redact_text(repr(current[:200]))}: it is not an alias or "
            f"deployment ({redact_text(', '.join(known))}), and litellm knows no provider for "
            "it. Use a litellm id "
            "with its provider, like 'openai/gpt-4o-mini' or 'ollama/llama3', or add it to "
            "[aliases] or [deployments] in qlayer.toml."
        )
    return Target(requested, current, Deployment(model=current))


def provider_of(model: str) -> str | None:
    """The litellm provider of a model id (cached); None when litellm cannot place it."""
    return _provider(model)


def _shown_base(api_base: str) -> str:
    """The api_base as it may be shown: a password in the URL replaced by its placeholder."""
    from quantumlayer_nb.safety import redact_text

    return redact_text(api_base)


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
            where = f" at {_shown_base(dep.api_base)}" if dep.api_base else ""
            raise MissingCredentials(
                f"Deployment {target.name!r} ({dep.model}{where}) reads its key from "
                f"${dep.api_key_env}, which is not set. Set it to that server's key "
                f"(export {dep.api_key_env}=...) or change api_key_env in qlayer.toml.",
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
