"""Fingerprint the model's behaviour on every shipped scenario, to check a refactor.

A speed-up or tidy-up that is not meant to change results must leave every
fingerprint unchanged. Run it before and after the change:

    python scripts/behaviour_digest.py /tmp/before.json          # on the old code
    python scripts/behaviour_digest.py /tmp/after.json --compare /tmp/before.json

Each fingerprint hashes the full daily time series of one scenario and seed
(days shortened to `--steps`, burn-in to `--burn-in`, to keep it quick). The
shipped experiments' base scenarios are included, so every tactic is covered.
The committed regression test (tests/test_regression.py) covers baseline only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ("sobol_tactics", "morris_screening")


def cases():
    from marketsim.experiments.spec import load_experiment
    from marketsim.scenario import load_scenario

    for name in EXPERIMENTS:
        exp = load_experiment(ROOT / "experiments" / f"{name}.yaml")
        yield name, lambda seed, exp=exp: exp.scenario({}, seed)
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        yield path.stem, lambda seed, path=path: load_scenario(path, [f"seed={seed}"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the fingerprints (JSON)")
    parser.add_argument("--compare", type=Path, help="fingerprints to compare against")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per scenario (1, 2, ...)")
    parser.add_argument("--steps", type=int, default=300, help="recorded days at most")
    parser.add_argument("--burn-in", type=int, default=60, help="burn-in days at most")
    args = parser.parse_args()

    from marketsim.io import simulate

    prints: dict[str, str] = {}
    for name, make in cases():
        for seed in range(1, args.seeds + 1):
            sc = make(seed)
            short = {"steps": min(sc.steps, args.steps), "burn_in": min(sc.burn_in, args.burn_in)}
            _model, ts, _summary = simulate(sc.model_copy(update=short))
            key = f"{name}:{seed}"
            prints[key] = hashlib.sha256(ts.to_csv().encode()).hexdigest()[:16]
            print(f"{key:32s} {prints[key]}", flush=True)
    args.out.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    if args.compare is None:
        return 0
    before = json.loads(args.compare.read_text())
    changed = sorted(k for k in prints.keys() | before.keys() if prints.get(k) != before.get(k))
    if changed:
        print(f"{len(changed)} of {len(prints)} fingerprints changed: {', '.join(changed)}")
        return 1
    print(f"all {len(prints)} fingerprints unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
