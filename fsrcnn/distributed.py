"""`upscale --ray`: the file job of files.py on Ray Data, over the cores of one machine or the machines of a cluster.

The driver plans, a pool of Ray actors works, and the driver reports:

- Plan. Each input gets its target (files.target_for) and is refused if that would replace an
  input (files.check_target), on the driver, which knows every input. Inputs that would write the
  same target travel as one work item, so "the first of them actually written keeps the name"
  is decided by the local command's own rule (files.write_job, in input order).
- Work. Each actor builds an Upscaler once, from the weights the driver read (the workers need no
  weight files), with the CPUs Ray gives it, and runs files.read_job, upscale_job and write_job
  on each input of its items: the local command's functions with its options, so the same bytes.
  Workers read the inputs and write the results themselves on a file system every machine sees;
  only file names and short reports move through Ray's object store.
- Report. Each input's notes and error are printed in input order, as the local command prints
  them, under a progress bar of the inputs done.

Faults. An actor that dies (killed, out of memory, its machine lost) is started again by Ray and
its items are run again: results go through a temporary file renamed into place, and writing an
item again writes the same bytes, so a retry is harmless. An item that fails `retries` more times
is given up (DataContext.max_errored_blocks) and its inputs are reported as not written, by name,
while the rest of the run goes on.
"""
import json
import logging
import os
import re
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from . import output
from .files import Job, Summary, check_target, read_job, target_for, upscale_job, write_job
from .quality import AUTO

INSTALL = 'pip install "fsrcnn[ray]" (or the ray line of requirements-dev.txt)'
CPUS_PER_ACTOR = 1  # one actor per CPU fits any machine; benchmarks/ray_batch.py --actor-cpus 1 2 compares
RETRIES = 3  # runs of one item again, after its actor died, before its inputs are reported as not written


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; the message says what to do."""


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data needs pyarrow and pandas besides ray itself)
    except ImportError as e:
        raise RayUnavailable(f"--ray needs Ray Data, which is not installed: {INSTALL}") from e
    return ray


def connect(address: str | None = None):
    """The `ray` module, connected: to the cluster at `address` ('auto', 'ray://host:10001'), or
    to a new local Ray sized to this machine (no dashboard, no usage statistics). Reuses a
    connection the process has already made."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # Ray would otherwise report usage online
    # Ray's C++ side logs a warning to the console for every actor pool (its constructor arguments
    # live in the object store, which Ray Data keeps for the whole run); our report says what failed.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    # The workers run this very package, whatever is installed on their machines.
    options = {"runtime_env": {"py_modules": [str(Path(__file__).resolve().parent)], "excludes": ["__pycache__"]},
               "logging_level": logging.ERROR, "log_to_driver": False}
    if address is None:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **options)
    else:
        try:
            ray.init(address=address, **options)
        except ConnectionError as e:
            raise RayUnavailable(f"--ray {address}: no Ray cluster there ({e})") from e
    return ray


class _Worker:
    """One actor of the pool: an Upscaler built once, and the local command's steps for each input."""

    def __init__(self, weights, scales, scale, tta, model, device, engine, tile, options, cwd):
        import ray

        from .upscaler import Upscaler

        try:  # paths as the user gave them, relative ones too, mean the same files here (and read the same)
            os.chdir(cwd)
        except OSError:
            pass  # not on this machine: relative paths will be reported as missing
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        self.upscaler = Upscaler(list(scales), models=weights, device=device, engine=engine, tile=tile,
                                 threads=max(1, round(cpus)))
        self.scale, self.tta, self.model, self.options = scale, tta, model, options

    def __call__(self, batch: dict) -> dict:
        rows = {"index": [], "written": [], "error": [], "notes": []}
        for members, target in zip(batch["inputs"], batch["target"], strict=True):
            written_from = {}  # every input of one target is in this item, in input order
            for index, path in json.loads(members):
                job = Job(Path(path), Path(target))
                read_job(job, self.upscaler, self.model, self.options, self.scale)
                upscale_job(job, self.upscaler, self.tta)
                rows["written"].append(write_job(job, written_from, self.options))
                rows["index"].append(index)
                rows["error"].append(job.error or "")
                rows["notes"].append(json.dumps(job.notes))
        return rows


def _stamp(path: Path):
    """What tells a file written by this run from the one that was there before (a rename makes a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def upscale_files_ray(upscaler, inputs: list[Path], out_dir: Path, scale: int | None, tta: bool = False, out=None,
                      err=None, model: str = AUTO, address: str | None = None, cpus_per_actor: float = CPUS_PER_ACTOR,
                      retries: int = RETRIES, options: output.Options | None = None) -> Summary:
    """files.upscale_files on Ray: the same results, messages and Summary (see the module docstring).

    `upscaler`: the driver's, for its weights, device, engine and tile (its programs are never
    compiled here); `options`: the results' format and size, as files.upscale_files takes them. `address`: see
    connect. Actors get `cpus_per_actor` CPUs each, as many as the cluster holds (at most one per item).
    """
    ray = connect(address)
    out, err = out or sys.stdout, err or sys.stderr
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = options or output.Options()
    jobs = [Job(path, target_for(path, out_dir, options)) for path in inputs]
    sources = {p.resolve() for p in inputs}
    items = {}  # target -> the indices of its inputs, in input order
    for i, job in enumerate(jobs):
        check_target(job, sources)
        if job.error is None:
            items.setdefault(job.target, []).append(i)
    before = {target: _stamp(target) for target in items}
    report = _Report(jobs, out, err)
    how = f"x{scale}" if scale else options.name
    bar = tqdm(total=len(jobs), desc=f"{how} on {upscaler.device_name}, Ray", unit="image",
               disable=len(jobs) < 2, file=err)
    report.flush(bar)  # the refused inputs before the first item
    lost = None  # why some items never reported, if any did not
    if items:
        largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]), default=0)
        if not 0 < cpus_per_actor <= largest:  # Ray would wait for ever for a machine that large
            raise ValueError(f"--ray-actor-cpus {cpus_per_actor:g}: give each actor between 0 and {largest:g} CPUs "
                             f"(the most that one machine of this Ray cluster has)")
        actors = max(1, min(len(items), int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor)))
        # One item at a time per actor: its inputs are names, nothing to fetch ahead, and an idle actor
        # takes the next item rather than one queued behind another's (and a dying actor loses one).
        pool = ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1)
        rows = [{"inputs": json.dumps([[i, str(jobs[i].path)] for i in members]), "target": str(target)}
                for target, members in items.items()]
        device = "gpu" if "GPU" in upscaler.device else "cpu"
        worker = {"weights": upscaler.weights, "scales": upscaler.scales, "scale": scale, "tta": tta, "model": model,
                  "device": device, "engine": upscaler.engine, "tile": upscaler.tile, "options": options,
                  "cwd": os.getcwd()}
        context = ray.data.DataContext.get_current()
        saved = context.max_errored_blocks, context.enable_progress_bars, context.print_on_execution_start
        # An item given up after its retries costs only its own inputs; our bar replaces Ray's.
        context.max_errored_blocks, context.enable_progress_bars, context.print_on_execution_start = -1, False, False
        quiet = _Quiet()  # Ray Data's console messages (a traceback per item given up) go to its log file only
        consoles = [h for h in logging.getLogger("ray.data").handlers if type(h).__name__ == "PlainRayHandler"]
        for handler in consoles:
            handler.addFilter(quiet)
        try:
            with warnings.catch_warnings():
                # Ray 2.64 drops these arguments (pyproject.toml's range stops before it), and names no
                # other way to bound the retries: without a bound, an item that kills its actor every
                # time would be retried for ever.
                warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
                done = (ray.data.from_items(rows, override_num_blocks=len(rows))
                        .map_batches(_Worker, batch_size=1, fn_constructor_kwargs=worker, num_cpus=cpus_per_actor,
                                     compute=pool, max_restarts=-1, max_task_retries=retries))
            for row in done.iter_rows():
                report.done[int(row["index"])] = bool(row["written"]), row["error"] or None, json.loads(row["notes"])
                report.flush(bar)
        except ray.exceptions.RayError as e:  # the run itself failed (the cluster went away): report what was done
            lost = _first_line(e)
        finally:
            context.max_errored_blocks, context.enable_progress_bars, context.print_on_execution_start = saved
            for handler in consoles:
                handler.removeFilter(quiet)
    for target, members in items.items():
        if any(i not in report.done for i in members):
            (target.with_name(f".{target.name}.part")).unlink(missing_ok=True)  # a worker killed while writing
            # A worker may die after writing but before reporting: a new file at the target (renamed
            # into place, so complete) is the result of the item's input when it has only one.
            written = len(members) == 1 and _stamp(target) not in (None, before[target])
            for i in members:
                tries = f"{retries + 1} {'try' if retries == 0 else 'tries'}"
                reason = lost or f"its Ray worker failed ({tries}" + (f": {quiet.errors[-1]})" if quiet.errors else ")")
                report.done[i] = written, None if written else f"{jobs[i].path}: not written: {reason}", []
    report.flush(bar)
    bar.close()
    return report.summary


def _first_line(error: BaseException) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().split("\n")[0]  # without Ray's colours


class _Quiet(logging.Filter):
    """Keeps records off a console handler, and the errors they carry for our own report."""

    def __init__(self):
        super().__init__()
        self.errors = []

    def filter(self, record) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(_first_line(record.exc_info[1]))
        return False


class _Report:
    """Every input's notes and error, printed in input order as files.upscale_files prints them,
    as soon as the inputs before it are done."""

    def __init__(self, jobs: list[Job], out, err):
        self.jobs, self.out, self.err = jobs, out, err
        self.done = {i: (False, job.error, []) for i, job in enumerate(jobs) if job.error is not None}
        self.next = 0
        self.summary = Summary([], 0)

    def flush(self, bar) -> None:
        while self.next in self.done:
            job = self.jobs[self.next]
            written, error, notes = self.done[self.next]
            for note in notes:
                bar.write(f"note: {job.path}: {note}", file=self.out)
            if written:
                self.summary.written.append(job.target)
            else:
                bar.write(f"error: {error}", file=self.err)
                self.summary.failures += 1
            bar.update()
            self.next += 1
