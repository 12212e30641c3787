"""`python app.py` on a free loopback port, as a visitor meets it: one launcher for the tests and the benchmarks.

The app runs in its own process with TMPDIR inside a given folder (its uploads, Gradio's cache and
its result files stay there), its console in a log file. On leaving, it gets SIGTERM, as a service
manager would send, and `files_left` counts what it left in its TMPDIR (0 when it cleans up).
"""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180  # seconds for the app to answer; ~10 on an idle 2-core machine, more when busy
STOP_TIMEOUT = 30  # seconds for a graceful stop after SIGTERM before it is killed


@dataclass
class Server:
    url: str
    pid: int
    tmp: Path  # the app's TMPDIR: Gradio's uploads and cache, the app's own files
    log: Path
    files_left: int | None = None  # temporary files still there after the app stopped
    ready_seconds: float | None = None  # from starting `python app.py` to its first HTTP 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(weights_dir: Path, workdir: Path, *args: str, start_timeout: float = START_TIMEOUT):
    """Run `python app.py` on a free loopback port with TMPDIR inside `workdir`; yield a Server once it
    answers HTTP (its warm-up may still run: see wait_for_warm_up). RuntimeError if it never does."""
    port = free_port()
    tmp = workdir / "server-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONUNBUFFERED="1")
    env.pop("GRADIO_TEMP_DIR", None)  # Gradio's cache then goes to TMPDIR/gradio, where we can count it
    log_path = workdir / "app.log"
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--weights-dir", str(weights_dir), *args]
    with open(log_path, "w") as log:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}/", proc.pid, tmp, log_path)
        try:
            _wait_until_up(proc, server, start_timeout)
            server.ready_seconds = time.monotonic() - started
            yield server
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server.files_left = leftover_files(tmp)


def wait_for_warm_up(server: Server, timeout: float = START_TIMEOUT) -> None:
    """Until the app says its warm-up is over: requests before it may compile what they need."""
    from .demo import WARMED_UP

    deadline = time.monotonic() + timeout
    while WARMED_UP not in server.log.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app did not finish its warm-up in {timeout:.0f} s:\n{server.log.read_text()}")
        time.sleep(0.2)


def _wait_until_up(proc: subprocess.Popen, server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{server.log.read_text()}")
        try:
            with urllib.request.urlopen(server.url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"app.py did not answer within {timeout:.0f} s:\n{server.log.read_text()}")
        time.sleep(0.1)


def leftover_files(tmp: Path) -> int:
    """Files the stopped app left in its TMPDIR (uploads, Gradio's cache, results): 0 when it cleans up."""
    return sum(1 for p in tmp.rglob("*") if p.is_file())


def memory_kib(pid: int) -> tuple[int | None, int | None]:
    """(current, peak) resident memory of a process in KiB, from /proc (Linux); (None, None) elsewhere.

    VmHWM is the kernel's own high-water mark of the resident set, so no polling can miss a peak.
    """
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None, None
