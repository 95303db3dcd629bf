"""The safety policy: what may go out to a model and what may come back.

``check_outgoing`` runs on every prompt (and ``context`` description) before any model sees
it; ``check_incoming`` on every response before it is returned, cached or logged::

    policy = SafetyPolicy(key_env_vars=["OPENAI_API_KEY", "MY_VLLM_KEY"])
    checked = check_outgoing(prompt, policy)      # may raise PolicyViolation
    send(checked.text)                            # secrets replaced by placeholders
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantumlayer_nb.errors import ConfigError, PolicyViolation, ProviderError
from quantumlayer_nb.safety.hap import DEFAULT_HAP_THRESHOLD, HapCategory, assess_hap
from quantumlayer_nb.safety.secrets import DEFAULT_KEY_ENV_VARS, SecretFinding, find_secrets

__all__ = ["IncomingCheck", "OutgoingCheck", "SafetyPolicy", "check_incoming", "check_outgoing"]

_KIND_NAMES = {
    "openai_api_key": "an OpenAI API key",
    "anthropic_api_key": "an Anthropic API key",
    "google_api_key": "a Google API key",
    "huggingface_token": "a Hugging Face token",
    "github_token": "a GitHub token",
    "slack_token": "a Slack token",
    "stripe_key": "a Stripe key",
    "private_key": "a private key",
    "aws_access_key_id": "an AWS access key id",
    "aws_secret_access_key": "an AWS secret access key",
    "azure_connection_string": "an Azure connection-string key",
    "gcp_service_account": "a GCP service-account credential",
    "jwt": "a JSON Web Token",
    "url_password": "a password in a URL",
    "password_assignment": "a password or secret assignment",
    "high_entropy_string": "a high-entropy string that looks like a key",
    "key_env_value": "the value of a configured key environment variable",
}


class SafetyPolicy(BaseModel):
    """What the safety checks do. Part of the settings (``[safety]`` in qlayer.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secrets: Literal["redact", "refuse", "off"] = Field(
        "redact",
        description="Secrets in prompts: replace by placeholders, refuse the prompt, or let "
        'them through. Values of key_env_vars are redacted even when "off".',
    )
    hap: Literal["refuse", "off"] = Field(
        "refuse", description="Refuse hateful, abusive or profane prompts and responses."
    )
    hap_threshold: float = Field(
        DEFAULT_HAP_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Offensive-language model probability at or above which text is refused.",
    )
    max_prompt_chars: int = Field(
        200_000, gt=0, description="Prompts longer than this are refused before sending."
    )
    key_env_vars: list[str] = Field(
        default_factory=lambda: list(DEFAULT_KEY_ENV_VARS),
        description="Environment variables holding keys; their values never leave.",
    )
    moderation_model: str | None = Field(
        None,
        description="Also ask this provider moderation model (through litellm), e.g. "
        "'omni-moderation-latest'. Off by default; needs the provider's key.",
    )


class OutgoingCheck(BaseModel):
    """The result of ``check_outgoing``: the text to send and what was redacted."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The prompt to send, with secrets replaced by placeholders.")
    findings: list[SecretFinding] = Field(
        default_factory=list, description="Secrets found (kind, position, placeholder; no value)."
    )

    @property
    def redacted(self) -> bool:
        """Whether anything was replaced."""
        return bool(self.findings)


class IncomingCheck(BaseModel):
    """The result of ``check_incoming``: the response to return, cache and log."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The response, with secrets replaced by placeholders.")
    findings: list[SecretFinding] = Field(
        default_factory=list, description="Secrets found in the response (no values)."
    )
    hap_score: float | None = Field(
        None, description="Offensive-language score of the response; None when HAP is off."
    )


def _describe(findings: list[SecretFinding], text: str) -> str:
    listed = [f"{_KIND_NAMES.get(f.kind, f.kind)} at {f.location(text)}" for f in findings[:5]]
    more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
    return "; ".join(listed) + more


def _refuse_secrets(findings: list[SecretFinding], text: str, what: str) -> PolicyViolation:
    return PolicyViolation(
        f"The {what} contains {_describe(findings, text)}. Nothing was sent. Remove the "
        "secret and read it from an environment variable in the generated code instead "
        '(os.environ[...]), or set secrets = "redact" in the safety policy to send the '
        "prompt with each secret replaced by a placeholder.",
        category="secret",
    )


def _check_hap(text: str, policy: SafetyPolicy, what: str) -> float | None:
    if policy.hap == "off":
        return None
    verdict = assess_hap(text, policy.hap_threshold)
    if verdict.flagged:
        category: HapCategory = verdict.category or "profanity"
        raise PolicyViolation(
            f"The {what} was refused as {category}: {verdict.reason}. Rephrase it without "
            "insults, threats, slurs or profanity. If this is a false positive (for example "
            'a content-moderation task), raise hap_threshold or set hap = "off" in the '
            "safety policy.",
            category=category,
        )
    return verdict.score


def _check_moderation(text: str, model: str, what: str) -> None:
    """Ask a provider moderation endpoint through litellm; refuse if it flags the text."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:  # pragma: no cover - litellm is a dependency
        raise ConfigError(
            f"moderation_model = {model!r} needs litellm, which could not be imported "
            f"({exc}). Install it, or set moderation_model = None."
        ) from exc
    try:
        response: Any = litellm.moderation(input=text, model=model)
        result = response.results[0]
    except Exception as exc:  # litellm raises many provider-specific types
        raise ProviderError(
            f"The moderation check with {model!r} failed: {type(exc).__name__}: {exc}. The "
            f"{what} was not sent. Set the provider's API key (for OpenAI: OPENAI_API_KEY), "
            "or set moderation_model = None in the safety policy to rely on the local checks.",
            model=model,
        ) from exc
    if not getattr(result, "flagged", False):
        return
    categories = getattr(result, "categories", None)
    flagged = {
        name for name, on in (dict(categories) if categories is not None else {}).items() if on
    }
    category = (
        "hate"
        if any(n.startswith("hate") for n in flagged)
        else (
            "abuse"
            if any(n.startswith(("harassment", "violence", "self")) for n in flagged)
            else "moderation"
        )
    )
    raise PolicyViolation(
        f"The {what} was refused by the moderation model {model!r} "
        f"({', '.join(sorted(flagged)) or 'flagged'}). Rephrase it, or set "
        "moderation_model = None in the safety policy.",
        category=category,
    )


def check_outgoing(text: str, policy: SafetyPolicy) -> OutgoingCheck:
    """Check a prompt (or context description) before it is sent to any model.

    Args:
        text: The prompt.
        policy: The safety policy in force.

    Returns:
        The text to send (secrets redacted) and the findings.

    Raises:
        PolicyViolation: ``category="size"`` when the prompt is longer than
            ``max_prompt_chars``; ``"secret"`` when it holds a secret and ``secrets`` is
            ``"refuse"``; ``"hate"``, ``"abuse"`` or ``"profanity"`` when the HAP check refuses.
        ProviderError: The configured moderation model could not be reached.
    """
    if len(text) > policy.max_prompt_chars:
        raise PolicyViolation(
            f"The prompt is {len(text):,} characters long, more than the safety policy's "
            f"max_prompt_chars = {policy.max_prompt_chars:,}. Nothing was sent. Shorten it "
            "(pass large data as a file or a summary), or raise max_prompt_chars.",
            category="size",
        )
    redacted, findings = find_secrets(text, policy.key_env_vars, patterns=policy.secrets != "off")
    if policy.secrets == "refuse" and findings:
        raise _refuse_secrets(findings, text, "prompt")
    _check_hap(redacted, policy, "prompt")
    if policy.moderation_model:
        _check_moderation(redacted, policy.moderation_model, "prompt")
    return OutgoingCheck(text=redacted, findings=findings)


def check_incoming(text: str, policy: SafetyPolicy) -> IncomingCheck:
    """Check a model's response before it is returned, cached or logged.

    Secrets in a response are redacted (never refused: the call is already paid for), and
    the values of ``key_env_vars`` are redacted even when ``secrets`` is ``"off"``.

    Args:
        text: The response text.
        policy: The safety policy in force.

    Returns:
        The response to use (secrets redacted), the findings and the HAP score.

    Raises:
        PolicyViolation: The HAP check or the moderation model refused the response.
        ProviderError: The configured moderation model could not be reached.
    """
    redacted, findings = find_secrets(text, policy.key_env_vars, patterns=policy.secrets != "off")
    score = _check_hap(redacted, policy, "response")
    if policy.moderation_model:
        _check_moderation(redacted, policy.moderation_model, "response")
    return IncomingCheck(text=redacted, findings=findings, hap_score=score)
