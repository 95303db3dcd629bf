"""The one exception tree of quantumlayer_nb.

Catch ``QLayerError`` for everything, or a precise leaf::

    QLayerError
    ├── ConfigError               a bad qlayer.toml / pyproject / QLAYER_* value
    ├── RequestError              a bad argument to generate() (empty prompt, bad format, ...)
    │   └── ContextWindowExceeded     the prompt does not fit the model (counted before sending)
    ├── ModelNotFound             a model/route/alias that nothing resolves
    ├── MissingCredentials        the provider key is not set (checked before any network call)
    ├── BudgetExceeded            a hard budget would be exceeded
    ├── ReplayMiss                cache mode "replay" and the request is not stored
    ├── PolicyViolation           the safety policy refused a prompt or a response
    ├── SandboxError              evaluation sandbox could not run
    ├── LedgerError               the ledger could not be read or written
    ├── RunFailed                 a notebook run stopped on a failing cell
    └── ProviderError             the provider (through litellm) failed
        ├── AuthenticationError       401/403: the key is wrong
        ├── RateLimitError            429
        ├── ProviderTimeout           no answer in time
        ├── ContextWindowError        the provider says the prompt is too long
        ├── ContentPolicyError        the provider refused the content
        ├── BadRequestError           400: the request itself is wrong
        └── ProviderUnavailable       5xx, connection refused/reset, malformed answer

Every message says what happened and what to do next.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceeded",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowError",
    "ContextWindowExceeded",
    "LedgerError",
    "MissingCredentials",
    "ModelNotFound",
    "PolicyViolation",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QLayerError",
    "RateLimitError",
    "ReplayMiss",
    "RequestError",
    "RunFailed",
    "SandboxError",
]


class QLayerError(Exception):
    """Base class of every error quantumlayer_nb raises on purpose."""


class ConfigError(QLayerError):
    """A configuration file, key or environment variable is invalid."""


class RequestError(QLayerError, ValueError):
    """An argument of a request is invalid (caught before any network call)."""


class ContextWindowExceeded(RequestError):
    """The prompt is longer than the model's context window (counted before sending)."""

    def __init__(self, message: str, *, tokens: int, limit: int, model: str) -> None:
        super().__init__(message)
        self.tokens = tokens
        self.limit = limit
        self.model = model


class ModelNotFound(QLayerError, LookupError):
    """No route, alias, deployment or litellm provider matches the model name."""


class MissingCredentials(QLayerError):
    """The environment variable holding the provider key is not set."""

    def __init__(self, message: str, *, env_vars: list[str]) -> None:
        super().__init__(message)
        self.env_vars = env_vars


class BudgetExceeded(QLayerError):
    """A hard budget limit would be exceeded by this call."""


class ReplayMiss(QLayerError, LookupError):
    """Cache mode is ``replay`` and the store has no answer for this request."""


class PolicyViolation(QLayerError):
    """The safety policy refused a prompt or a response."""

    def __init__(self, message: str, *, category: str) -> None:
        super().__init__(message)
        self.category = category


class SandboxError(QLayerError):
    """The evaluation sandbox could not run the code at all."""


class LedgerError(QLayerError):
    """The ledger could not be written or read."""


class RunFailed(QLayerError):
    """A notebook run (``qlayer run``, ``run_notebook``) stopped on a failing cell.

    ``result`` is the :class:`~quantumlayer_nb.pipelines.RunResult`: the executed notebook
    is saved at ``result.output`` with the error in the failing cell.
    """

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class ProviderError(QLayerError):
    """The provider failed; ``retryable`` tells the router whether another try may help."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.status_code = status_code
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    """The provider rejected the key (401/403)."""


class RateLimitError(ProviderError):
    """The provider is rate limiting (429); ``retry_after`` holds its hint in seconds."""

    retryable = True


class ProviderTimeout(ProviderError):
    """The provider did not answer within the timeout."""

    retryable = True


class ContextWindowError(ProviderError):
    """The provider says the prompt does not fit the model's context window."""


class ContentPolicyError(ProviderError):
    """The provider refused the request or response on content-policy grounds."""


class BadRequestError(ProviderError):
    """The provider rejected the request as malformed (400)."""


class ProviderUnavailable(ProviderError):
    """5xx, a refused or reset connection, or an answer that could not be parsed."""

    retryable = True
