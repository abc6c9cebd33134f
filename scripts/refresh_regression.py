"""Refresh the committed regression summary on purpose.

Run this only when a change is *meant* to alter model behaviour, and say so in
the commit message: `python scripts/refresh_regression.py`. A change of behaviour needs
a new `marketsim.MODEL_REVISION` first (result stores use it to refuse resuming results
the old model made); without one this refuses to write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_regression import TARGET, behaviour_changes, regression_snapshot  # noqa: E402


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    snapshot = regression_snapshot()
    old = json.loads(TARGET.read_text()) if TARGET.exists() else {}
    if old.get("model_revision") == snapshot["model_revision"] and behaviour_changes(old, snapshot):
        sys.exit(
            f"{shown(TARGET)}: the model's behaviour changed but MODEL_REVISION is "
            f"still {snapshot['model_revision']!r}; set a new one in src/marketsim/__init__.py "
            "first"
        )
    TARGET.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {shown(TARGET)}")


if __name__ == "__main__":
    main()
