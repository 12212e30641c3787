"""Where each shipped weight file came from: the recipe runs that made it, as commands anyone can rerun.

When `python -m fsrcnn train` saves its `output`, it records an entry in the `lineage.json` beside
that file: the command, the recipe, the run folder's sessions (seed, epochs, wall and CPU seconds of
each process that trained it) and, for a run that starts from another file (`init_from`: the
paper's transfer between scales, or photo weights from clean ones), that file's SHA-256, whose own
entry continues the chain. It also updates that file's line in the SHA256SUMS there, so it loads.
`problems` says what keeps a folder's files from being recipe runs only.
"""
import json
import os
import shlex
from pathlib import Path

from .config import load_recipe
from .weights import record_sha256, sha256

LINEAGE = "lineage.json"


def recipe_command(recipe: str | Path) -> str:
    return f"python -m fsrcnn train --recipe {recipe}"


def entry(output: str | Path, meta: dict, recipe: str | None) -> dict:
    """The lineage entry of `output`, saved by the run whose state.json holds `meta`."""
    config, cpu, sessions = meta["config"], meta.get("cpu_seconds"), meta.get("sessions", [])
    init = config.get("init_from")
    # The file as the run's first session found it (recorded then); runs older than that record: as it is now.
    started_from = sessions[0].get("init_from_sha256") if sessions else None
    return {
        "sha256": sha256(output),
        "recipe": recipe,
        "command": recipe_command(recipe) if recipe else None,
        "run_dir": config["run_dir"],
        "epochs": meta["epochs_done"],
        "wall_hours": round(meta.get("wall_seconds", 0.0) / 3600, 2),
        "cpu_hours": None if cpu is None else round(cpu / 3600, 2),
        "sessions": sessions,
        "init_from": init,
        "init_from_sha256": (started_from or sha256(init)) if init else None,
    }


def record(output: str | Path, item: dict) -> None:
    """Write `item` as the entry of `output` in the lineage.json beside it (and its SHA256SUMS line there)."""
    output = Path(output)
    path = output.parent / LINEAGE
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc.setdefault("files", {})[output.name] = item
    path.write_text(json.dumps(doc, indent=1) + "\n")
    record_sha256(output)


def _words(command: str) -> list[str]:
    words = shlex.split(command)
    return [os.path.normpath(w) if i and words[i - 1] == "--recipe" else w for i, w in enumerate(words)]


def session_problem(recipe: str, session: dict) -> str | None:
    """None when the session ran the recipe as it is: only --resume, or a resume's new --seed, beside it."""
    base, words = _words(recipe_command(recipe)), _words(session.get("command") or "")
    extra, same = words[len(base):], words[:len(base)] == base
    if "--seed" in extra:  # a new patch stream for a resume: the seed is recorded with the session
        i = extra.index("--seed")
        same = same and "--resume" in extra and extra[i + 1:i + 2] != [] and extra[i + 1].isdigit()
        extra = extra[:i] + extra[i + 2:]
    return None if same and extra in ([], ["--resume"]) else f"a session ran {session.get('command')!r}, not the recipe"


def problems(folder: str | Path, recipes: str | Path, root: str | Path = ".") -> list[str]:
    """Why the weight files in `folder` are not recipe runs only (from `recipes`); empty when they are."""
    folder, root = Path(folder), Path(root)
    lineage = folder / LINEAGE
    files = json.loads(lineage.read_text()).get("files", {}) if lineage.exists() else {}
    found = []
    for path in sorted(folder.glob("*.keras")):
        item, name = files.get(path.name), path.name
        if item is None:
            found.append(f"{name}: {lineage} has no entry for it")
            continue
        recipe = item.get("recipe")
        where = Path(root, recipe or "")
        if not recipe or where.parent.resolve() != Path(recipes).resolve() or not where.is_file():
            found.append(f"{name}: not made by a recipe in {recipes}")
            continue
        settings = load_recipe(where)
        if Path(root, settings.get("output", "")).resolve() != path.resolve():
            found.append(f"{name}: {recipe} saves {settings.get('output')}, not this file")
        if item.get("sha256") != sha256(path):
            found.append(f"{name}: changed since {recipe} saved it (SHA-256 differs from its entry)")
        sessions, done = item.get("sessions") or [], 0
        for session in sessions:
            if session.get("first_epoch") != done:
                found.append(f"{name}: the sessions skip epochs {done} to {session.get('first_epoch')}")
            done = session.get("epochs_done", done)
            found += [f"{name}: {p}" for p in [session_problem(recipe, session)] if p]
        if not sessions or done != item.get("epochs") or done != settings.get("epochs"):
            found.append(f"{name}: its sessions end at epoch {done}; {recipe} trains {settings.get('epochs')}")
        init = item.get("init_from")
        if init and (Path(root, init).resolve().parent != folder.resolve()
                     or files.get(Path(init).name, {}).get("sha256") != item.get("init_from_sha256")):
            found.append(f"{name}: started from {init} as it was then, not from the file shipped now")
    return found
