"""Cost of redacting a streamed answer before its pieces are shown (StreamRedactor).

Prints the time per piece for code-like text streamed word by word, and for one long line
with no line end streamed 4 characters at a time (the worst case: every piece rescans the
held-back tail of the line). Compares with an anchor: 0.5 ms per piece, far below the time
between two pieces of any provider.
"""

from __future__ import annotations

import re
import time

from quantumlayer_nb.routing.streaming import StreamRedactor
from quantumlayer_nb.safety.policy import SafetyPolicy

ANCHOR_US_PER_PIECE = 500.0


def per_piece_us(pieces: list[str], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        redactor = StreamRedactor(SafetyPolicy())
        started = time.perf_counter()
        shown = "".join(redactor.feed(piece) for piece in pieces) + redactor.flush()
        best = min(best, time.perf_counter() - started)
        assert shown == "".join(pieces)  # nothing to redact: the text passes unchanged
    return best / len(pieces) * 1e6


def main() -> None:
    code = "import pandas as pd\ndf = pd.read_csv('sales.csv')  # monthly sales figures\n" * 60
    words = re.findall(r"\S+\s*|\s+", code)
    line = "word " * 4000
    quads = [line[i:i + 4] for i in range(0, len(line), 4)]
    for label, pieces in (("code, one piece per word", words),
                          ("one 20,000-character line, 4 characters a piece", quads)):
        cost = per_piece_us(pieces)
        verdict = "ok" if cost <= ANCHOR_US_PER_PIECE else "over"
        print(f"{label}: {len(pieces)} pieces, {cost:.1f} us per piece "
              f"(anchor <= {ANCHOR_US_PER_PIECE:.0f} us: {verdict})")


if __name__ == "__main__":
    main()
