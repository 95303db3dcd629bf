"""Configuration models of routes, budgets and projects (``[routes.NAME]``, ``[[budgets]]``,
``[projects.NAME]``).

They are part of the settings, so they stand below the router: ``config`` reads them from
here, and ``routing.models`` re-exports them for the router's callers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from quantumlayer_nb.safety.policy import ProjectSafety

__all__ = ["BudgetConfig", "ProjectConfig", "RouteConfig"]


class RouteConfig(BaseModel):
    """A named route: deployments tried under a policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["priority", "weighted", "cheapest", "fastest", "quality", "cascade"] = Field(
        default="priority", description="How the next deployment is picked."
    )
    deployments: list[str] = Field(
        description="Deployment names, aliases or litellm ids, in priority order."
    )
    weights: dict[str, float] | None = Field(
        default=None, description="Relative weights for policy 'weighted'."
    )
    quality_target: float | None = Field(
        default=None, ge=0, le=1, description="Pass rate required by policy 'quality'."
    )
    retries: int = Field(default=2, ge=0, description="Retries per deployment on retryable errors.")
    backoff_base_s: float = Field(default=0.5, gt=0, description="First backoff, in seconds.")
    backoff_max_s: float = Field(default=20.0, gt=0, description="Longest backoff, in seconds.")
    check: str | None = Field(
        default=None, description="Registered check of policy 'cascade' (default 'parses')."
    )
    on_content_policy: Literal["fail", "next"] = Field(
        default="fail", description="On a provider's content-policy refusal: stop, or try the next."
    )


class BudgetConfig(BaseModel):
    """A spending limit for a project, a user or a route."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Literal["project", "user", "route"] = Field(description="What the limit applies to.")
    name: str | None = Field(
        default=None, description="Which user or route; None: the current project or user."
    )
    limit_usd: float = Field(gt=0, description="The limit in USD per period.")
    period: Literal["day", "month", "total"] = Field(default="month")
    kind: Literal["hard", "soft"] = Field(
        default="hard", description="hard: refuse the call; soft: warn and go on."
    )


class ProjectConfig(BaseModel):
    """What one project may use (``[projects.NAME]``): models, keys and quotas."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_models: list[str] | None = Field(
        default=None,
        description="Routes, aliases, deployments or litellm ids (fnmatch patterns allowed) "
        "this project may call; None: any.",
    )
    keys: dict[str, str] = Field(
        default_factory=dict,
        description="Provider key variable -> the variable holding this project's own key, "
        "e.g. {OPENAI_API_KEY = 'SALES_OPENAI_KEY'}.",
    )
    rpm: int | None = Field(default=None, gt=0, description="Requests per minute, all kernels.")
    tokens_per_day: int | None = Field(default=None, gt=0, description="Tokens per UTC day.")
    usd_per_month: float | None = Field(default=None, gt=0, description="USD per month.")
    safety: ProjectSafety | None = Field(
        default=None,
        description="The project's own content settings ([projects.NAME.safety]: refuse, hap); "
        "unset keys inherit [safety].",
    )
