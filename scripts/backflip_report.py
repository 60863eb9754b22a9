"""When did a backflip run first flip? Reads a run folder's progress.csv.

    python scripts/backflip_report.py runs/prefrl-HopperBackflip-v0__backflip__0__<time>

On `prefrl/HopperBackflip-v0` an episode's true return is the torso's net backward rotation in
radians, so a return of 2*pi or more is a completed backflip.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from prefrl.plotting import read_progress


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="run folder of a prefrl/HopperBackflip-v0 run")
    args = p.parse_args()
    data = read_progress(args.run_dir)
    if "charts/true_return_max" not in data:
        print(f"backflip_report: error: {args.run_dir} has no progress.csv with charts/true_return_max",
              file=sys.stderr)
        return 2
    rows = zip(data["charts/env_steps"], data["charts/labels"], data["charts/wall_seconds"],
               data["charts/true_return_max"])
    for steps, labels, wall, best in rows:
        if best >= 2 * math.pi:
            print(f"first full backflip: after {steps:.0f} env steps, {labels:.0f} labels, "
                  f"{wall / 60:.1f} min wall time (best episode rotation {best / (2 * math.pi):.2f} turns)")
            return 0
    best = max((b for b in data["charts/true_return_max"] if not math.isnan(b)), default=float("nan"))
    print(f"no full backflip yet; best episode rotation {best / (2 * math.pi):.2f} turns "
          f"after {data['charts/env_steps'][-1]:.0f} env steps and {data['charts/labels'][-1]:.0f} labels")
    return 1


if __name__ == "__main__":
    sys.exit(main())
