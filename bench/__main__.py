"""``python -m bench all`` or ``python -m bench SCENARIO [...]``, from the repository root."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback

from bench import (
    machine,
    processes,
    report,
    scenario_async,
    scenario_cold,
    scenario_density,
    scenario_profile,
    scenario_scaleout,
    scenario_split,
    scenario_throughput,
    scenario_warm,
)
from bench.stats import Figure

SCENARIOS = {
    module.NAME: module
    for module in (
        scenario_cold,
        scenario_warm,
        scenario_throughput,
        scenario_async,
        scenario_density,
        scenario_scaleout,
        scenario_split,
        scenario_profile,
    )
}


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="+", choices=["all", *SCENARIOS])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply sample counts and durations (0.2 for a quick look)",
    )
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if "all" in args.scenarios else args.scenarios
    signal.signal(signal.SIGTERM, _interrupt)
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    figures: list[Figure] = []
    failures = []
    speed_at_start = machine.speed()
    try:
        for name in names:
            machine.wait_until_quiet()
            began = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            try:
                figures += SCENARIOS[name].run(args.scale)
            except Exception:
                failures.append(name)
                traceback.print_exc()
            print(f"bench: {name} done in {time.monotonic() - began:.0f} s", flush=True)
    finally:
        processes.stop_all()
    described = machine.describe() | {"speed": {"start": speed_at_start, "end": machine.speed()}}
    stem = "results" if "all" in args.scenarios else "-".join(names)
    report.write(figures, described, command, started, stem)
    print(report.text(figures, described, command))
    if failures:
        print(f"bench: failed scenarios: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
