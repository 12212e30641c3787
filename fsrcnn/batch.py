"""Many photos at once in the app: several files (or zips of them) in, one zip of results out.

Each photo goes through the same steps and limits as a single one (`Demo.start`, `Demo.finish`:
the pixel limit, the model choice, the output format and size); one progress bar covers them
all. A file that cannot be used is reported by name and skipped; the others are still delivered.

A zip is read member by member from memory, never unpacked to disk by its own names: a member's
path cannot reach outside, and members are capped in number and in unpacked size.
"""
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .checks import UPSCALE, InputError
from .images import IMAGE_SUFFIXES, ImageError

MAX_FILES = 100  # photos per request, zips' members included
MAX_MEMBER_BYTES = 50_000_000  # unpacked size of one zip member: the app's upload limit
ZIP_NAME = "fsrcnn_results.zip"


@dataclass
class Done:
    """What a request of many photos gave: the zip (None when nothing could be done) and what happened."""

    zip_path: Path | None
    written: list[str] = field(default_factory=list)  # names inside the zip
    errors: list[str] = field(default_factory=list)  # one line per skipped file, naming it


def sources(paths, errors: list[str]) -> list:
    """The photos among `paths` (files as uploaded) and inside any zip among them, as (name, source)."""
    found = []
    for path in map(Path, paths):
        if path.suffix.lower() != ".zip":
            found.append((path.name, path))
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    name = Path(info.filename).name
                    if info.is_dir() or name.startswith((".", "__MACOSX")) or "__MACOSX" in info.filename:
                        continue
                    if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                        errors.append(f"{path.name}: {info.filename}: not an image file (skipped)")
                    elif info.file_size > MAX_MEMBER_BYTES:
                        errors.append(f"{path.name}: {info.filename}: {info.file_size / 1e6:.0f} MB unpacked, over "
                                      f"the limit of {MAX_MEMBER_BYTES / 1e6:.0f} MB (skipped)")
                    else:
                        data = io.BytesIO(archive.read(info))
                        data.name = name
                        found.append((name, data))
                    if len(found) > MAX_FILES:
                        break
        except (zipfile.BadZipFile, OSError) as e:
            errors.append(f"{path.name}: not a readable zip file ({e})")
    if len(found) > MAX_FILES:
        errors.append(f"only the first {MAX_FILES} photos were taken")
        found = found[:MAX_FILES]
    return found


def run(demo, paths, scale, tta: bool, model: str, options, progress=None) -> Done:
    """Upscale every photo of `paths` with `demo` into one zip; a bad file is reported and skipped."""
    errors: list[str] = []
    if not paths:
        raise InputError("No photos yet: add some files (or a zip of them), then press the button.")
    scale = demo.checks.scale(scale)
    model = demo.checks.model(model, scale)
    photos = sources(paths, errors)
    done = Done(None, errors=errors)
    if not photos:
        return done
    zip_path = demo.request_folder() / ZIP_NAME
    names: set[str] = set()
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:  # PNG, WebP and JPEG are compressed already
        for i, (name, source) in enumerate(photos):
            def step(fraction, desc="", i=i, name=name):
                if progress is not None:
                    progress((i + min(max(fraction, 0.0), 1.0)) / len(photos), desc=f"{name} ({i + 1}/{len(photos)})")
            step(0)
            try:
                job = demo.start(UPSCALE, source, scale, tta, model)
                outcome = demo.finish(job, step, options)
            except (ImageError, InputError, ValueError) as e:
                message = str(e)
                done.errors.append(message if message.startswith(name) else f"{name}: {message}")
                continue
            except MemoryError:
                done.errors.append(f"{name}: not enough memory for it at x{scale}")
                continue
            arcname = outcome.path.name
            for n in range(2, len(photos) + 2):  # two photos of one name: both kept
                if arcname not in names:
                    break
                arcname = f"{outcome.path.stem}_{n}{outcome.path.suffix}"
            names.add(arcname)
            archive.write(outcome.path, arcname)
            outcome.path.unlink(missing_ok=True)  # in the zip now
            done.written.append(arcname)
    if progress is not None:
        progress(1.0, desc="Done")
    if not done.written:
        zip_path.unlink(missing_ok=True)
        return done
    done.zip_path = zip_path
    return done


def summary(done: Done) -> str:
    """Markdown for the page: how many results, and every file skipped with its reason."""
    if done.written:
        lines = [f"**{len(done.written)} result(s)** in the zip: {', '.join(done.written)}."]
    else:
        lines = ["**No results**: none of the files could be used."]
    if done.errors:
        lines += ["", f"{len(done.errors)} skipped:"] + [f"- {e}" for e in done.errors]
    return "\n".join(lines)
