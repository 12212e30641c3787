"""The file-to-file job of `python -m fsrcnn upscale`: image files in, lossless PNGs out.

The job is a small pipeline of three stages, each on its own thread: a reader opens and decodes
the next image while the network upscales the current one and a writer encodes the previous
result to PNG. Pillow's decoders, zlib and OpenVINO release the GIL, so the stages really run
at once; bounded queues hold at most one image between two stages, so memory stays bounded
whatever the number of files. Every message and every result goes through the writer in input
order, so a run reads as if the files were done one after the other. Each stage's part of one
file is a function (check_target, read_job, upscale_job, write_job), which `upscale --ray`
(distributed.py) runs on Ray actors: the two runners differ in scheduling only.

Nothing is lost: a result never replaces an input, nor another input's result of the same run,
and is written through a temporary file renamed into place, so an interrupted run leaves no
half-written PNG behind.
"""
import os
import queue
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import png
from .images import IMAGE_SUFFIXES, ImageError, Loaded, open_image
from .quality import AUTO, CLEAN, choose
from .upscaler import upscale_image

# zlib level of the PNGs (png.py): 1 writes several times faster than 6, the usual default, for
# files about a tenth larger (benchmarks/png.py measures every level); every level is lossless.
DEFAULT_PNG_COMPRESSION = 1
_DONE = object()  # end of a queue


@dataclass
class Job:
    """One input and what became of it on its way through the pipeline."""

    path: Path
    target: Path
    loaded: Loaded | None = None
    result: object = None  # the upscaled PIL image
    model: str = CLEAN  # the weights it gets
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Summary:
    written: list[Path]
    failures: int


def find_inputs(items) -> tuple[list[Path], list[str]]:
    """Files named directly, and the images directly inside named folders (sorted); errors for empty folders."""
    inputs, errors = [], []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                errors.append(f"{item}: no images in this folder")
            inputs += found
        else:
            inputs.append(item)
    return inputs, errors


def pick_model(upscaler, source, loaded: Loaded, requested: str = AUTO) -> tuple[str, str]:
    """The weight file for one image and the reason, among those the upscaler loaded (auto falls
    back to clean where no photo weights are installed; asking for them is then an error)."""
    choice = choose(source, loaded.image, requested, upscaler.variants)
    return choice.model, choice.reason


def target_for(path: Path, out_dir: Path) -> Path:
    """Where the result of `path` goes: out_dir/<its stem>.png."""
    return Path(out_dir) / f"{Path(path).stem}.png"


def check_target(job: Job, sources: set[Path]) -> None:
    """Refuse a result that would replace an input (`sources`: every input of the run, resolved);
    checked before reading, so that input is never touched."""
    if job.target.resolve() in sources:
        job.error = f"{job.path}: its result {job.target} would replace an input image: choose another --output"


def read_job(job: Job, upscaler, model: str = AUTO) -> None:
    """The reader's part of one job: open and normalise the image, and pick its weights."""
    if job.error is not None:
        return
    try:
        job.loaded = open_image(job.path)
        job.notes = list(job.loaded.notes)
        job.model, reason = pick_model(upscaler, job.path, job.loaded, model)
        job.notes.append(reason)
    except ImageError as e:
        job.error = str(e)
    except MemoryError:
        job.error = f"{job.path}: not enough memory to read it"


def upscale_job(job: Job, upscaler, scale: int, tta: bool = False) -> None:
    """The network's part of one job: job.result from job.loaded, which is dropped."""
    if job.error is None:
        try:
            job.result = upscale_image(upscaler, job.loaded, scale, tta, model=job.model)
        except ImageError as e:
            job.error = str(e)
        except ValueError as e:
            job.error = f"{job.path}: {e}"
        except MemoryError:
            job.error = f"{job.path}: not enough memory to upscale it x{scale}"
    job.loaded = None  # the input is not needed any more


def write_job(job: Job, written_from: dict, png_compression: int = DEFAULT_PNG_COMPRESSION) -> bool:
    """The writer's part of one job: its result to job.target, unless an earlier input of the run
    already wrote that file (`written_from`: output file -> its input, updated here). Whether it
    was written; job.result is dropped."""
    if job.error is None and job.target in written_from:
        job.error = (f"{job.path}: {job.target} was already written from {written_from[job.target]}: "
                     f"rename one of them or upscale them to different folders")
    elif job.error is None:
        try:
            write_png(job.result, job.target, png_compression)
            written_from[job.target] = job.path
        except MemoryError:
            job.error = f"{job.path}: not enough memory to write {job.target}"
        except OSError as e:  # the image was fine; writing its result was not (disk full, permissions)
            job.error = f"{job.path}: cannot write {job.target}: {e.strerror or e}"
    job.result = None  # free it now
    return job.error is None


def write_png(image, target: Path, compression: int = DEFAULT_PNG_COMPRESSION) -> None:
    """Lossless PNG (ICC profile kept) through a temporary file, renamed into place once complete."""
    partial = target.with_name(f".{target.name}.part")
    try:
        png.write_png(image, partial, level=compression)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _put(q: queue.Queue, item, consumer_alive) -> None:
    """q.put that gives up once nobody will take any more (the consumer has stopped)."""
    while consumer_alive():
        try:
            return q.put(item, timeout=0.05)
        except queue.Full:
            pass


def _get(q: queue.Queue, producer: threading.Thread):
    """q.get that ends the stream when the producer is gone without saying so (it crashed)."""
    while True:
        try:
            return q.get(timeout=0.05)
        except queue.Empty:
            if not producer.is_alive() and q.empty():
                return _DONE


def upscale_files(upscaler, inputs: list[Path], out_dir: Path, scale: int, tta: bool = False,
                  png_compression: int = DEFAULT_PNG_COMPRESSION, out=None, err=None, model: str = AUTO) -> Summary:
    """Upscale every input to out_dir/<stem>.png; report each problem, skip that file and go on.

    `model`: "clean", "photo" (the photo weights that suit the file), or "auto" to choose per file
    from its evidence (quality.choose); each file's note says which weights ran and why.

    Messages go to `out` (notes) and `err` (errors and the progress bar), default stdout and stderr.
    """
    out, err = out or sys.stdout, err or sys.stderr
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [Job(path, target_for(path, out_dir)) for path in inputs]
    read, upscaled = queue.Queue(maxsize=1), queue.Queue(maxsize=1)
    stop = threading.Event()  # the run was cut short (Ctrl-C, a bug): every stage ends soon after
    summary, crashed = Summary([], 0), []
    bar = tqdm(total=len(jobs), desc=f"x{scale} on {upscaler.device_name}", unit="image", disable=len(jobs) < 2,
               file=err)

    def reader():
        sources = {p.resolve() for p in inputs}
        try:
            for job in jobs:
                if stop.is_set():
                    break
                check_target(job, sources)
                read_job(job, upscaler, model)
                _put(read, job, lambda: not stop.is_set())
            _put(read, _DONE, lambda: not stop.is_set())
        except BaseException as e:  # noqa: BLE001  (a bug, not a bad file: the caller re-raises it)
            crashed.append(e)
            stop.set()

    def writer():
        written_from = {}  # output file -> the input it was made from in this run
        try:
            while (job := upscaled.get()) is not _DONE:  # what was upscaled is written, even in a stopped run
                for note in job.notes:
                    bar.write(f"note: {job.path}: {note}", file=out)
                if write_job(job, written_from, png_compression):
                    summary.written.append(job.target)
                else:
                    bar.write(f"error: {job.error}", file=err)
                    summary.failures += 1
                bar.update()
        except BaseException as e:  # noqa: BLE001  (re-raised by the caller)
            crashed.append(e)
            stop.set()

    reading = threading.Thread(target=reader, name="fsrcnn-reader")
    writing = threading.Thread(target=writer, name="fsrcnn-writer")
    reading.start()
    writing.start()
    try:
        while (job := _get(read, reading)) is not _DONE and not stop.is_set():
            upscale_job(job, upscaler, scale, tta)
            _put(upscaled, job, writing.is_alive)
    except BaseException:  # Ctrl-C or a bug here: stop the other stages before leaving
        stop.set()
        raise
    finally:
        _put(upscaled, _DONE, writing.is_alive)
        reading.join()
        writing.join()
        bar.close()
    if crashed:
        raise crashed[0]
    return summary
