"""``python -m quantumlayer_nb.pipelines._child SPEC``: one sweep run in a fresh interpreter."""

from __future__ import annotations

import json
import sys

from quantumlayer_nb.pipelines.sweeps import _child_main


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(_child_main(spec), default=str), flush=True)


if __name__ == "__main__":
    main()
