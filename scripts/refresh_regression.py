"""Refresh the committed regression summary on purpose.

Run this only when a change is *meant* to alter model behaviour, and say so in
the commit message: `python scripts/refresh_regression.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_regression import TARGET, regression_snapshot  # noqa: E402


def main() -> None:
    snapshot = regression_snapshot()
    TARGET.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
