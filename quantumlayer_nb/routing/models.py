"""The configuration models the router reads: defined with the settings, re-exported here."""

from __future__ import annotations

from quantumlayer_nb._settings_models import BudgetConfig, ProjectConfig, RouteConfig

__all__ = ["BudgetConfig", "ProjectConfig", "RouteConfig"]
