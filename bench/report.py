"""The table: printed, and written as JSON and Markdown to bench/results/."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence

from bench import peer_celery, peer_gcf, peer_lambda
from bench.stats import Figure

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
SYSTEMS = ("qinling", peer_gcf.NAME, peer_lambda.NAME, peer_celery.NAME)
PEERS = {peer.NAME: peer.WHAT for peer in (peer_gcf, peer_lambda, peer_celery)}
# (figure name, statistic, "<=" or ">=", threshold)
TARGETS = (
    ("cold start", "p50", "<=", 8.0),
    ("warm sync, trivial", "p50", "<=", 1.0),
    ("split: warm sync, trivial", "p50", "<=", 3.0),
    ("split, data socket: warm sync, trivial", "p50", "<=", 3.0),
    ("sync throughput, concurrency 32", "value", ">=", 2000.0),
    ("warm workers held (target 2000)", "value", ">=", 2000.0),
    ("warm workers held (target 2000)", "pss_mib", "<=", 3.0),
    ("workers started/s, burst of 64 sync executions holding their worker", "value", ">=", 300.0),
    ("workers started/s, scale_up count=100", "value", ">=", 300.0),
)
QINLING_NOTE = (
    "Qinling: every execution is a database row (persisted, with logs and status); each "
    "worker runs in its own namespaces, cgroups and unprivileged uid"
)


def _cell(stats: dict | None, unit: str) -> str:
    if not stats:
        return "-"
    if "error" in stats:
        return f"n/a ({stats['error']})"
    parts = []
    if "value" in stats:
        parts.append(f"{stats['value']:.4g} {unit}")
    if "p50" in stats:
        parts.append(f"p50 {stats['p50']:.3g} / p99 {stats['p99']:.3g} ms")
    extra = {k: v for k, v in stats.items() if k not in ("value", "p50", "p99", "n", "errors")}
    parts += [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in extra.items()]
    if stats.get("errors"):
        parts.append(f"{stats['errors']} errors")
    return "; ".join(parts)


def _ratio(figure: Figure, peer: str) -> str:
    ours, theirs = figure.headline("qinling"), figure.headline(peer)
    if not ours or not theirs:
        return ""
    return f" (Q/peer {ours / theirs:.2f}x)"


def rows(figures: Sequence[Figure]) -> list[list[str]]:
    table = []
    for figure in figures:
        row = [figure.name, _cell(figure.values.get("qinling"), figure.unit)]
        for peer in SYSTEMS[1:]:
            cell = _cell(figure.values.get(peer), figure.unit)
            row.append(cell + (_ratio(figure, peer) if cell != "-" else ""))
        table.append(row)
    return table


def target_lines(figures: Sequence[Figure]) -> list[str]:
    by_name = {f.name: f for f in figures}
    lines = []
    for name, stat, op, threshold in TARGETS:
        figure = by_name.get(name)
        value = (figure.values.get("qinling") or {}).get(stat) if figure else None
        if value is None:
            lines.append(f"NOT MEASURED  {name} {stat} {op} {threshold:g}")
            continue
        met = value <= threshold if op == "<=" else value >= threshold
        off = value / threshold if op == "<=" else threshold / max(value, 1e-9)
        verdict = "met   " if met else f"MISSED by {off:.1f}x"
        lines.append(f"{verdict}  {name} {stat}: {value:.4g} (target {op} {threshold:g})")
    return lines


def markdown(figures: Sequence[Figure], machine: dict, command: str, started: str) -> str:
    header = ["figure", *SYSTEMS]
    out = [
        f"# Qinling benchmark results ({started})",
        "",
        f"Machine: {machine['host']}: {machine['cores']} cores ({machine['cpu']}), "
        f"{machine['memory_mib']} MiB, kernel {machine['kernel']}, Python {machine['python']}.",
        "",
        *_speed_lines(machine.get("speed")),
        f"Command: `{command}` (from the repository root). Ratios are Qinling / peer of the "
        "headline (rate, or p50).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    out += ["| " + " | ".join(row) + " |" for row in rows(figures)]
    out += ["", "## Targets", "", *[f"- {line}" for line in target_lines(figures)]]
    out += ["", "## What each system does", "", f"- {QINLING_NOTE}."]
    out += [f"- {name}: {what}." for name, what in PEERS.items()]
    notes = {f"{f.scenario}: {f.note}" for f in figures if f.note}
    out += ["", "## Notes", "", *[f"- {note}" for note in sorted(notes)]]
    return "\n".join(out) + "\n"


def _speed_lines(speed: dict | None) -> list[str]:
    if not speed:
        return []
    start, end = speed["start"], speed["end"]
    return [
        f"Speed at the start and at the end of the run: a fixed Python loop "
        f"{start['python_loop_ms']:g} and {end['python_loop_ms']:g} ms, a round trip between "
        f"two processes over pipes {start['round_trip_us']:g} and {end['round_trip_us']:g} us "
        "(`bench/machine.py`: `speed`). This VM's speed changes by the hour, by up to two "
        "times: compare runs by their ratios to the peers, not by raw figures.",
        "",
    ]


def text(figures: Sequence[Figure], machine: dict, command: str) -> str:
    out = [f"machine: {machine}", f"command: {command}", ""]
    for row in rows(figures):
        out.append(row[0])
        out += [f"    {system:20s} {cell}" for system, cell in zip(SYSTEMS, row[1:], strict=True)]
    out += ["", "targets:", *[f"  {line}" for line in target_lines(figures)]]
    return "\n".join(out) + "\n"


def write(figures: Sequence[Figure], machine: dict, command: str, started: str, stem: str) -> None:
    os.makedirs(RESULTS, exist_ok=True)
    document = {
        "started": started,
        "machine": machine,
        "command": command,
        "peers": PEERS,
        "figures": [dataclasses.asdict(f) for f in figures],
        "targets": target_lines(figures),
    }
    with open(os.path.join(RESULTS, f"{stem}.json"), "w") as f:
        json.dump(document, f, indent=2)
    with open(os.path.join(RESULTS, f"{stem}.md"), "w") as f:
        f.write(markdown(figures, machine, command, started))
