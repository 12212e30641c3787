"""Shared by the app tests: which weights to serve, and `app.py` running on a free loopback port."""
import os
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


@contextmanager
def running_app(weights_dir: Path, workdir: Path, *args: str):
    """Start `python app.py` as a visitor would (fsrcnn/launcher.py, as the benchmarks do), yield its URL,
    stop it. TMPDIR points into `workdir`, so the app's files stay in the test's folder, which pytest cleans."""
    from fsrcnn.launcher import serve_app

    try:
        with serve_app(weights_dir, workdir, *args, start_timeout=START_TIMEOUT) as server:
            yield server.url
    except RuntimeError as e:
        pytest.fail(str(e))
