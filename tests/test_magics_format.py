"""Money and durations read the same in every footer, widget and table."""

from __future__ import annotations

import pytest

from quantumlayer_nb._format import duration, usd
from quantumlayer_nb.generation import Generation


@pytest.mark.parametrize(("amount", "shown"), [
    (0, "$0"), (0.0, "$0"), (0.00004, "<$0.0001"), (0.0019, "$0.0019"),
    (0.0028675000000000003, "$0.0029"), (0.5, "$0.50"), (0.12, "$0.12"), (1, "$1.00"),
    (1234.5, "$1,234.50"), (None, "cost unknown"),
])
def test_usd_formats_for_people(amount: float | None, shown: str) -> None:
    assert usd(amount) == shown


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.35, "350 ms"), (4.7, "4.7 s"), (125, "2 min 05 s"), (3725, "1 h 02 min"),
])
def test_duration_formats_for_people(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def _generation(**changes: object) -> Generation:
    fields: dict[str, object] = dict(
        text="```python\nx = 1\n```", code="x = 1\n", format="code", model="fast",
        model_served="gpt-4o-mini", tokens_in=120, tokens_out=30, cost_usd=0.0019,
        cost_known=True, latency_ms=812.0, call_id="3f9a0c12b7e4aa55", prompt_hash="ab")
    fields.update(changes)
    return Generation.model_validate(fields)


def test_footer_shows_people_money() -> None:
    assert _generation().footer() == "gpt-4o-mini · 120→30 tok · $0.0019 · 812 ms · live"


def test_footer_marks_estimated_tokens_and_cost() -> None:
    footer = _generation(tokens_estimated=True).footer()
    assert "~120→30 tok · ~$0.0019" in footer


def test_footer_names_a_semantic_hit_and_what_it_was_similar_to() -> None:
    footer = _generation(cached=True, cache_kind="semantic",
                         similar_to="plot monthly revenue by region").footer()
    assert footer.endswith("semantic cache hit (similar to: plot monthly revenue by region)")


def test_generation_repr_is_one_short_line() -> None:
    text = repr(_generation(text="x" * 5000))
    assert text.startswith("<Generation 3f9a0c12b7e4 · code, 1 line · gpt-4o-mini")
    assert len(text) < 200


def test_budget_status_and_cascade_report_reprs_are_one_readable_line() -> None:
    from quantumlayer_nb.routing.budget import BudgetStatus
    from quantumlayer_nb.routing.cascade import CascadeReport
    from quantumlayer_nb.routing.models import BudgetConfig

    status = BudgetStatus(BudgetConfig(scope="project", limit_usd=5, period="month"),
                          "project sales", 0.0012, 0.0, "2027-01-01")
    assert repr(status) == ("<BudgetStatus project sales: $0.0012 of $5.00 per month, "
                            "$0 reserved, resets 2027-01-01>")
    assert "<table>" in status._repr_html_()
    report = CascadeReport(10, 0.001, 0.01, {"small": 8, "big": 2})
    assert repr(report) == ("<CascadeReport 10 requests: $0.001 vs $0.01 strongest only, "
                            "saved $0.009>")
    assert "small" in report._repr_html_()
