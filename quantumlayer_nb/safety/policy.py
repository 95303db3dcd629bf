"""The safety policy: what may go out to a model and what may come back.

``check_outgoing`` runs on every prompt (and ``context`` description) before any model sees
it; ``check_incoming`` on every response before it is returned, cached or logged::

    policy = SafetyPolicy(key_env_vars=["OPENAI_API_KEY", "MY_VLLM_KEY"])
    checked = check_outgoing(prompt, policy)      # may raise PolicyViolation
    send(checked.text)                            # secrets replaced by placeholders
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantumlayer_nb.errors import ConfigError, PolicyViolation, ProviderError
from quantumlayer_nb.safety._harm import CATEGORIES, DEFAULT_REFUSE, HarmCategory
from quantumlayer_nb.safety.hap import (
    DEFAULT_HAP_THRESHOLD,
    DEFAULT_HARM_MODEL_THRESHOLD,
    DEFAULT_HARM_MODEL_VETO,
    assess_hap,
)
from quantumlayer_nb.safety.secrets import DEFAULT_KEY_ENV_VARS, SecretFinding, find_secrets

__all__ = [
    "IncomingCheck",
    "OutgoingCheck",
    "ProjectSafety",
    "SafetyPolicy",
    "check_content",
    "check_incoming",
    "check_outgoing",
]

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
    "secret_assignment": "a token, key or secret assigned to a name",
    "bearer_token": "a token in an Authorization header",
    "cli_password": "a password or token on a command line",
    "url_secret": "a secret in a URL query parameter",
    "secret_in_prose": "a token or key written out in the text",
    "gitlab_token": "a GitLab token",
    "npm_token": "an npm token",
    "twilio_key": "a Twilio key or auth token",
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
        "refuse",
        description='The content policy: "refuse" the categories listed in refuse, or "off" '
        "to check no content at all.",
    )
    refuse: list[HarmCategory] = Field(
        default_factory=lambda: list(DEFAULT_REFUSE),
        description="Content categories that are refused (hate, harassment, doxxing, minors, "
        "profanity). Profanity is not in the default: it is only noted.",
    )
    hap_threshold: float = Field(
        DEFAULT_HAP_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Offensive-language model probability at or above which text counts as "
        "profanity (noted; refused only when refuse lists it).",
    )
    harm_model_threshold: float = Field(
        DEFAULT_HARM_MODEL_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="The learned stage: its probability at or above which a request the "
        "rules pass counts as harmful and is refused (when its category is in refuse). "
        "Lower refuses more harm and more work; 1.0 turns the learned stage off.",
    )
    harm_model_veto: float = Field(
        DEFAULT_HARM_MODEL_VETO,
        ge=0.0,
        le=1.0,
        description="The learned stage overrules a rule that matched a request when its "
        "probability for the sentence the rule matched is below this (a request that studies, "
        "reports or defends against harm). 0.0 lets every rule's match stand.",
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
    moderation_api_base: str | None = Field(
        None,
        description="The moderation endpoint's base URL, for an OpenAI-compatible server; "
        "None: the provider's own.",
    )

    def with_project(self, project: ProjectSafety | None) -> SafetyPolicy:
        """This policy with a project's own content settings (``[projects.NAME.safety]``)."""
        if project is None:
            return self
        update = project.model_dump(exclude_none=True)
        return self.model_copy(update=update) if update else self


class ProjectSafety(BaseModel):
    """A project's own content settings (``[projects.NAME.safety]``); unset keys inherit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refuse: list[HarmCategory] | None = Field(
        None, description="Content categories refused for this project (default: [safety])."
    )
    hap: Literal["refuse", "off"] | None = Field(
        None, description='"off" checks no content for this project (default: [safety]).'
    )
    harm_model_threshold: float | None = Field(
        None, ge=0.0, le=1.0,
        description="The learned stage's threshold for this project (1.0: off; default: "
        "[safety]).",
    )
    harm_model_veto: float | None = Field(
        None, ge=0.0, le=1.0,
        description="Below this learned-stage probability a rule's match is overruled, for "
        "this project (0.0: never; default: [safety]).",
    )


class OutgoingCheck(BaseModel):
    """The result of ``check_outgoing``: the text to send and what was redacted."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The prompt to send, with secrets replaced by placeholders.")
    findings: list[SecretFinding] = Field(
        default_factory=list, description="Secrets found (kind, position, placeholder; no value)."
    )
    hap_category: HarmCategory | None = Field(
        None,
        description='A content category found but not refused (by default only "profanity").',
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
    hap_category: HarmCategory | None = Field(
        None,
        description='A content category found but not refused (by default only "profanity").',
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


_WHAT_IS_REFUSED = {
    "hate": "content against a protected group",
    "harassment": "harassment or threats",
    "doxxing": "finding or exposing a person's whereabouts or identity",
    "minors": "sexual content involving minors",
    "profanity": "profanity",
}


def _refuse_content(
    category: HarmCategory, detail: str, policy: SafetyPolicy, what: str
) -> PolicyViolation:
    kept = [c for c in policy.refuse if c != category]
    learned = (
        f"; or, since only the learned classifier found it, raise harm_model_threshold "
        f"(now {policy.harm_model_threshold}; 1.0 turns the learned stage off)"
        if detail.startswith("learned classifier") else ""
    )
    return PolicyViolation(
        f"The {what} was refused as {category} ({_WHAT_IS_REFUSED[category]}: {detail}). "
        "Nothing was sent. Rephrase it if that is not what you meant. If this is a mistake "
        "(for example a moderation or research task), let this category through for the "
        f"project: under [projects.<name>.safety] or [safety] in qlayer.toml set refuse = "
        f"{json.dumps(kept)} (the default is {json.dumps(list(DEFAULT_REFUSE))}), or "
        f'hap = "off" to check no content at all{learned}.',
        category=category,
    )


def _check_hap(
    text: str, policy: SafetyPolicy, what: str
) -> tuple[float | None, HarmCategory | None]:
    """Refuse a category the policy refuses; return the model score and a noted category."""
    if policy.hap == "off":
        return None, None
    # The learned stage was trained on requests, not on generated code: prompts only.
    prompt = what == "prompt"
    verdict = assess_hap(text, policy.hap_threshold,
                         policy.harm_model_threshold if prompt else 1.0,
                         policy.harm_model_veto if prompt else 0.0)
    if verdict.category is not None and verdict.category in policy.refuse:
        raise _refuse_content(verdict.category, verdict.reason, policy, what)
    return verdict.score, verdict.category


_MODERATION_CATEGORIES: tuple[tuple[str, HarmCategory], ...] = (
    ("sexual/minors", "minors"),
    ("hate", "hate"),
    ("harassment", "harassment"),
    ("violence", "harassment"),
)


def _check_moderation(text: str, policy: SafetyPolicy, what: str) -> HarmCategory | None:
    """Ask a provider moderation endpoint through litellm (a second opinion).

    The provider's categories map to ours (``sexual/minors`` to minors, ``hate*`` to hate,
    ``harassment*`` and ``violence*`` to harassment); a mapped category the policy refuses
    is refused, anything else the provider flags is only noted.
    """
    model = policy.moderation_model
    assert model is not None
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:  # pragma: no cover - litellm is a dependency
        raise ConfigError(
            f"moderation_model = {model!r} needs litellm, which could not be imported "
            f"({exc}). Install it, or set moderation_model = None."
        ) from exc
    extra: dict[str, Any] = {}
    if policy.moderation_api_base:
        extra["api_base"] = policy.moderation_api_base
    try:
        response: Any = litellm.moderation(input=text, model=model, **extra)
        result = response.results[0]
    except Exception as exc:  # litellm raises many provider-specific types
        raise ProviderError(
            f"The moderation check with {model!r} failed: {type(exc).__name__}: {exc}. The "
            f"{what} was not sent. Set the provider's API key (for OpenAI: OPENAI_API_KEY), "
            "or set moderation_model = None in the safety policy to rely on the local checks.",
            model=model,
        ) from exc
    if not getattr(result, "flagged", False):
        return None
    categories: Any = getattr(result, "categories", None)
    raw = categories.model_dump() if hasattr(categories, "model_dump") else categories
    flagged = sorted(  # the same category may come under its name and its alias
        {
            str(name).replace("self_harm", "self-harm").replace("_", "/")
            for name, on in (dict(raw) if raw is not None else {}).items()
            if on
        }
    )
    mapped: list[HarmCategory] = []
    for name in flagged:
        for prefix, ours in _MODERATION_CATEGORIES:
            if name.startswith(prefix) and ours not in mapped:
                mapped.append(ours)
                break
    ordered = [c for c in CATEGORIES if c in mapped]
    for category in ordered:
        if category in policy.refuse:
            raise _refuse_content(
                category,
                f"flagged by the moderation model {model!r} as {', '.join(flagged)}",
                policy,
                what,
            )
    return ordered[0] if ordered else None


def check_content(
    text: str, policy: SafetyPolicy, what: str = "response"
) -> HarmCategory | None:
    """The content policy alone (no secrets, no moderation call), for text as it streams.

    Cheap enough to run on each released piece of a streamed answer (the rules and the
    model look at sentences, so the last few hundred characters released are enough).

    Args:
        text: The text to check.
        policy: The safety policy in force.
        what: What the text is, for the message ("response", "prompt").

    Returns:
        A category found but not refused (e.g. ``"profanity"``), or None.

    Raises:
        PolicyViolation: The text holds a category the policy refuses.
    """
    return _check_hap(text, policy, what)[1]


def check_outgoing(text: str, policy: SafetyPolicy, *, what: str = "prompt") -> OutgoingCheck:
    """Check a prompt (or context description) before it is sent to any model.

    Args:
        text: The prompt.
        policy: The safety policy in force.
        what: What the text is, for the message. The learned stage judges ``"prompt"``
            only (a request); a ``"system prompt"`` is an instruction to the model, often
            negated ("never help anyone find a home address"), and gets the other checks.

    Returns:
        The text to send (secrets redacted) and the findings.

    Raises:
        PolicyViolation: ``category="size"`` when the prompt is longer than
            ``max_prompt_chars``; ``"secret"`` when it holds a secret and ``secrets`` is
            ``"refuse"``; ``"hate"``, ``"harassment"``, ``"doxxing"``, ``"minors"`` or
            ``"profanity"`` when that content category is in ``refuse``.
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
    _, category = _check_hap(redacted, policy, what)
    if policy.moderation_model and policy.hap != "off":
        category = _check_moderation(redacted, policy, "prompt") or category
    return OutgoingCheck(text=redacted, findings=findings, hap_category=category)


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
        PolicyViolation: The response holds a content category the policy refuses (found by
            the rules or the moderation model).
        ProviderError: The configured moderation model could not be reached.
    """
    redacted, findings = find_secrets(text, policy.key_env_vars, patterns=policy.secrets != "off")
    score, category = _check_hap(redacted, policy, "response")
    if policy.moderation_model and policy.hap != "off":
        category = _check_moderation(redacted, policy, "response") or category
    return IncomingCheck(text=redacted, findings=findings, hap_score=score, hap_category=category)
