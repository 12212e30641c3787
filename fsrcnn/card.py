"""The model card's tables, made from what `evaluate --record` wrote, never typed by hand.

A markdown file holds blocks such as

    <!-- table standard weights/evaluations/standard.json -->
    ...
    <!-- /table -->

and `python -m fsrcnn.card weights/README.md README.md` rewrites each block from its record (the
JSON that `python -m fsrcnn evaluate ... --record FILE` wrote); `--rerun` first runs each record's
command again, for new weights. tests/test_card.py checks that every block is what its record
gives and that each record measured the weight files shipped now.

Kinds: `lineage weights/lineage.json` (how each file was made), `standard RECORD` (gain over
bicubic against the paper's, per set and scale) and `grid RECORD scale=S [sets=A,B]
[metric=ssim]` (one row per degradation, one column per weights, gains over bicubic per set).
"""
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .evaluate import ENSEMBLE

# Dong, Loy, Tang, ECCV 2016, FSRCNN(56,12,4) and bicubic as published (PSNR, dB); our copies of
# the sets read a little differently, so the card compares gains over bicubic.
PAPER = {("Set5", 2): (37.00, 33.66), ("Set5", 3): (33.16, 30.39), ("Set5", 4): (30.71, 28.42),
         ("Set14", 2): (32.63, 30.24), ("Set14", 3): (29.43, 27.55), ("Set14", 4): (27.59, 26.00)}
BLOCK = re.compile(r"(<!-- table (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)
UNDEGRADED = ("", "none", "clean")  # evaluate's --degrade for the standard shrink alone


def paper_gain(name: str, scale: int) -> float | None:
    fsrcnn, bicubic = PAPER.get((name, scale), (None, None))
    return None if fsrcnn is None else round(fsrcnn - bicubic, 2)


def _rows(table: dict) -> dict:
    return {r["method"]: r for r in table["rows"]}


def _gain(table: dict, method: str, metric: str = "psnr") -> float:
    rows = _rows(table)
    return rows[method][metric] - rows["bicubic"][metric]


def _picks(notes: list[str]) -> str:
    """Auto's choices ("chose clean 5, photo 0, light 0") summed over the sets, most chosen first."""
    counts = {}
    for note in notes:
        for name, n in re.findall(r"(\w+) (\d+)", note):
            counts[name] = counts.get(name, 0) + int(n)
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n)


def standard(record: dict) -> str:
    """Set by scale: bicubic, FSRCNN and its self-ensemble (PSNR / SSIM, gain), the paper's gain, the margin."""
    lines = ["| set | scale | bicubic | FSRCNN | FSRCNN + self-ensemble | paper's FSRCNN gain | margin over paper |",
             "|---|---|---|---|---|---|---|"]
    clean = [t for t in record["tables"] if t["degrade"] in UNDEGRADED]
    order = list(dict.fromkeys(t["set"] for t in clean))
    for t in sorted(clean, key=lambda t: (order.index(t["set"]), t["scale"])):
        rows, paper = _rows(t), paper_gain(t["set"], t["scale"])
        plain = next(m for m in rows if m.startswith("FSRCNN") and not m.endswith(ENSEMBLE))
        cells = [f"{rows['bicubic']['psnr']:.2f} / {rows['bicubic']['ssim']:.4f}"]
        for method in (plain, plain + ENSEMBLE):
            r = rows.get(method)
            cells.append("" if r is None else f"{r['psnr']:.2f} / {r['ssim']:.4f} ({_gain(t, method):+.2f})")
        margin = "" if paper is None else f"{_gain(t, plain) - paper:+.2f}"
        paper_cell = "" if paper is None else f"{paper:+.2f}"
        lines.append(f"| {t['set']} | x{t['scale']} | " + " | ".join([*cells, paper_cell, margin]) + " |")
    return "\n".join(lines)


def grid(record: dict, scale: int, sets: list[str] | None = None, metric: str = "psnr") -> str:
    """One row per degradation, one column per weights: gain over bicubic per set (A / B), and auto's picks."""
    tables = [t for t in record["tables"] if t["scale"] == scale and (not sets or t["set"] in sets)]
    names = list(dict.fromkeys(t["set"] for t in tables))
    specs = list(dict.fromkeys(t["degrade"] for t in tables))
    methods = [m for m in _rows(tables[0]) if m != "bicubic"]
    picks = any(r.get("note") for t in tables for r in t["rows"])
    digits = 2 if metric == "psnr" else 4
    header = [f"input (x{scale}, {' / '.join(names)})", f"bicubic {metric.upper()}",
              *[m.replace("FSRCNN ", "") for m in methods]]
    lines = ["| " + " | ".join(header + (["auto's picks"] if picks else [])) + " |",
             "|" + "---|" * (len(header) + picks)]
    for spec in specs:
        row = {t["set"]: t for t in tables if t["degrade"] == spec}
        bicubic = " / ".join(f"{_rows(row[n])['bicubic'][metric]:.{digits}f}" for n in names)
        cells = ["clean PNG" if spec in UNDEGRADED else spec, bicubic]
        cells += [" / ".join(f"{_gain(row[n], m, metric):+.{digits}f}" for n in names) for m in methods]
        if picks:
            cells.append(_picks([r.get("note", "") for n in names for r in row[n]["rows"]]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_time(sessions: list[dict]) -> str:
    """CPU hours over a run's sessions, saying how many were measured (the first ones of some runs were not)."""
    known = [s["cpu_seconds"] for s in sessions if s.get("cpu_seconds") is not None]
    if not known:
        return "not recorded"
    hours = f"{sum(known) / 3600:.1f} h"
    return hours if len(known) == len(sessions) else f"{hours} in {len(known)} of {len(sessions)} sessions"


def lineage(doc: dict) -> str:
    """Per weight file: the command that made it, its epochs, time and starting file (lineage.json)."""
    lines = ["| file | made by | epochs | wall time | CPU time | started from |", "|---|---|---|---|---|---|"]
    for name, item in doc["files"].items():
        sessions = len(item["sessions"])
        cells = [f"`{item['command']}` ({sessions} session{'s' * (sessions > 1)})", str(item["epochs"]),
                 f"{item['wall_hours']:.1f} h", cpu_time(item["sessions"]),
                 f"`{item['init_from']}`" if item["init_from"] else "scratch"]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(spec: str, root: Path) -> str:
    kind, path, *options = shlex.split(spec)
    record = json.loads((root / path).read_text())
    settings = dict(o.split("=", 1) for o in options)
    if kind == "lineage":
        return lineage(record)
    if kind == "standard":
        return standard(record)
    if kind == "grid":
        sets = settings["sets"].split(",") if "sets" in settings else None
        return grid(record, int(settings["scale"]), sets, settings.get("metric", "psnr"))
    raise ValueError(f"unknown table kind {kind!r} in <!-- table {spec} -->")


def records(text: str) -> list[str]:
    """The record files a markdown text's tables come from."""
    return list(dict.fromkeys(shlex.split(m["spec"])[1] for m in BLOCK.finditer(text)))


def refresh(text: str, root: Path) -> str:
    """`text` with each table block rewritten from its record."""
    return BLOCK.sub(lambda m: m.group(1) + render(m["spec"], root) + "\n" + m.group(4), text)


def rerun(path: str, root: Path) -> None:
    """Run a record's command again (in `root`), which rewrites the record."""
    command = json.loads((root / path).read_text()).get("command")
    if command is None:
        return  # lineage.json: `train` writes it
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "fsrcnn"], command
    subprocess.run([sys.executable, *words[1:]], cwd=root, check=True)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m fsrcnn.card", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="markdown files with <!-- table ... --> blocks")
    parser.add_argument("--rerun", action="store_true", help="run each record's evaluate command again first")
    args = parser.parse_args(argv)
    root = Path.cwd()
    if args.rerun:
        for path in dict.fromkeys(p for f in args.files for p in records(Path(f).read_text())):
            rerun(path, root)
    for f in args.files:
        Path(f).write_text(refresh(Path(f).read_text(), root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
