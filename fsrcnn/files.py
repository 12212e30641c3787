"""The file-to-file job of `python -m fsrcnn upscale`: image files in, PNG (or WebP, JPEG: output.py) out.

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
import queue
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import output
from .images import IMAGE_SUFFIXES, ImageError, Loaded, open_image
from .output import DEFAULT_PNG_COMPRESSION
from .quality import AUTO, CLEAN, choose
from .upscaler import upscale_image

_DONE = object()  # end of a queue


@dataclass
class Job:
    """One input and what became of it on its way through the pipeline."""

    path: Path
    target: Path
    loaded: Loaded | None = None
    result: object = None  # the upscaled PIL image
    model: str = CLEAN  # the weights it gets
    scale: int = 0  # the FSRCNN scale it gets (the one asked for, or the one that reaches the size asked for)
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


def pick_model(upscaler, source, loaded: Loaded, requested: str = AUTO, scale: int | None = None) -> tuple[str, str]:
    """The weight file for one image and the reason, among those the upscaler loaded for `scale`
    (for any scale when None; auto falls back to clean where no photo weights are installed;
    asking for them is then an error)."""
    choice = choose(source, loaded.image, requested, upscaler.bank.installed(scale))
    return choice.model, choice.reason


def target_for(path: Path, out_dir: Path, options: output.Options) -> Path:
    """Where the result of `path` goes: out_dir/<its stem>.<the format's suffix>."""
    return Path(out_dir) / f"{Path(path).stem}{options.suffix}"


def check_target(job: Job, sources: set[Path]) -> None:
    """Refuse a result that would replace an input (`sources`: every input of the run, resolved);
    checked before reading, so that input is never touched."""
    if job.target.resolve() in sources:
        job.error = f"{job.path}: its result {job.target} would replace an input image: choose another --output"


def read_job(job: Job, upscaler, model: str, options: output.Options, scale: int | None) -> None:
    """The reader's part of one job: open and normalise the image, pick its weights and its scale
    (`scale`, or the one that reaches the size `options` asks for), and check that the format can
    hold the result."""
    if job.error is not None:
        return
    try:
        job.loaded = open_image(job.path)
        job.notes = list(job.loaded.notes)
        size = job.loaded.image.size
        job.scale = options.scale_for(size, upscaler.scales, scale)
        job.model, reason = pick_model(upscaler, job.path, job.loaded, model, job.scale)
        job.notes.append(reason)
        options.check_mode(job.loaded.image.mode, options.size_for((size[0] * job.scale, size[1] * job.scale)))
    except ImageError as e:
        job.error = str(e)
    except ValueError as e:  # what the format or size asked for cannot hold or reach
        job.error = f"{job.path}: {e}"
    except MemoryError:
        job.error = f"{job.path}: not enough memory to read it"


def upscale_job(job: Job, upscaler, tta: bool = False) -> None:
    """The network's part of one job: job.result from job.loaded (at job.scale), which is dropped."""
    if job.error is None:
        try:
            job.result = upscale_image(upscaler, job.loaded, job.scale, tta, model=job.model)
        except ImageError as e:
            job.error = str(e)
        except ValueError as e:
            job.error = f"{job.path}: {e}"
        except MemoryError:
            job.error = f"{job.path}: not enough memory to upscale it x{job.scale}"
    job.loaded = None  # the input is not needed any more


def write_job(job: Job, written_from: dict, options: output.Options) -> bool:
    """The writer's part of one job: its result to job.target, unless an earlier input of the run
    already wrote that file (`written_from`: output file -> its input, updated here). Whether it
    was written; job.result is dropped."""
    if job.error is None and job.target in written_from:
        job.error = (f"{job.path}: {job.target} was already written from {written_from[job.target]}: "
                     f"rename one of them or upscale them to different folders")
    elif job.error is None:
        try:
            output.write(job.result, job.target, options)
            written_from[job.target] = job.path
        except MemoryError:
            job.error = f"{job.path}: not enough memory to write {job.target}"
        except OSError as e:  # the image was fine; writing its result was not (disk full, permissions)
            job.error = f"{job.path}: cannot write {job.target}: {e.strerror or e}"
    job.result = None  # free it now
    return job.error is None


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


def upscale_files(upscaler, inputs: list[Path], out_dir: Path, scale: int | None, tta: bool = False,
                  png_compression: int = DEFAULT_PNG_COMPRESSION, out=None, err=None, model: str = AUTO,
                  options: output.Options | None = None) -> Summary:
    """Upscale every input to out_dir/<stem>.<format>; report each problem, skip that file and go on.

    `options`: the format, quality and size of the results (output.py; default: PNG at
    `png_compression`); with a width or height, each file gets the smallest of the upscaler's
    scales that reaches it (`scale` may then be None) and a downscale to it.

    `model`: "clean", "photo" (the photo weights that suit the file), or "auto" to choose per file
    from its evidence (quality.choose); each file's note says which weights ran and why.

    Messages go to `out` (notes) and `err` (errors and the progress bar), default stdout and stderr.
    """
    out, err = out or sys.stdout, err or sys.stderr
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = options or output.Options(png_compression=png_compression)
    jobs = [Job(path, target_for(path, out_dir, options)) for path in inputs]
    read, upscaled = queue.Queue(maxsize=1), queue.Queue(maxsize=1)
    stop = threading.Event()  # the run was cut short (Ctrl-C, a bug): every stage ends soon after
    summary, crashed = Summary([], 0), []
    how = f"x{scale}" if scale else options.name
    bar = tqdm(total=len(jobs), desc=f"{how} on {upscaler.device_name}", unit="image", disable=len(jobs) < 2,
               file=err)

    def reader():
        sources = {p.resolve() for p in inputs}
        try:
            for job in jobs:
                if stop.is_set():
                    break
                check_target(job, sources)
                read_job(job, upscaler, model, options, scale)
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
                if write_job(job, written_from, options):
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
            upscale_job(job, upscaler, tta)
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
