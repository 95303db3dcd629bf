"""Numbers for people: money and durations, formatted the same way in every view.

The notebook footers, widgets, usage and budget tables use these; the command line and the
server extension can too, so one amount never reads two ways.
"""

from __future__ import annotations

__all__ = ["duration", "usd"]

_SMALLEST = 0.0001


def usd(value: float | None, *, unknown: str = "cost unknown") -> str:
    """Format a dollar amount: ``$0``, ``<$0.0001``, ``$0.0019``, ``$0.25``, ``$1,234.50``.

    Amounts under a dollar keep four decimals at most (trailing zeros dropped down to two);
    a dollar or more shows cents.

    Args:
        value: The amount in USD; None when it is not known.
        unknown: What to show for None.

    Returns:
        The formatted amount.
    """
    if value is None:
        return unknown
    sign = "-" if value < 0 else ""
    amount = abs(float(value))
    if amount == 0:
        return "$0"
    if amount < _SMALLEST:
        return f"{sign}<${_SMALLEST:.4f}"
    if amount >= 0.995:
        return f"{sign}${amount:,.2f}"
    text = f"{amount:.4f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{sign}${whole}.{decimals.ljust(2, '0')}"


def duration(seconds: float | None) -> str:
    """Format a duration: ``350 ms``, ``4.7 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if seconds is None:
        return "unknown"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
