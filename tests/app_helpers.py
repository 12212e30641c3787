"""Shared by the app tests: which weights to serve, and `app.py` running on a free loopback port."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "weights"
EXAMPLES = ROOT / "examples"
CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT = 120  # seconds; about 10 on an idle machine, several times that on a busy CI runner


def shipped_weights_ready() -> bool:
    return all((WEIGHTS / f"fsrcnn_x{s}.keras").exists() for s in (2, 3, 4))


def app_weights(request) -> tuple[Path, bool]:
    """(folder, trained?) for an app under test.

    $FSRCNN_TEST_WEIGHTS when set (a folder of trained weights), else the shipped weights once
    they exist, else the untrained stand-ins of conftest.py: the behaviour under test (sizes,
    files, messages) is the same, only the pictures are not worth looking at.
    """
    if os.environ.get("FSRCNN_TEST_WEIGHTS"):
        return Path(os.environ["FSRCNN_TEST_WEIGHTS"]), True
    if shipped_weights_ready():
        return WEIGHTS, True
    return request.getfixturevalue("stand_in_weights"), False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(weights_dir: Path, workdir: Path, *args: str):
    """Start `python app.py` as a visitor would, yield its URL, stop it.

    TMPDIR points into `workdir`, so the app's PNGs and Gradio's cache stay in the test's folder,
    which pytest cleans: the app can simply be terminated (a graceful Ctrl+C takes seconds).
    """
    port = free_port()
    tmp = workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONUNBUFFERED="1")
    env.pop("GRADIO_TEMP_DIR", None)
    log = open(workdir / "app.log", "w")
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--weights-dir", str(weights_dir), *args]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{(workdir / 'app.log').read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer within {START_TIMEOUT} s:\n{(workdir / 'app.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
