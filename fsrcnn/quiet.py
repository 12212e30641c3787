"""A quiet console: TensorFlow's start-up lines silenced in processes that serve people (the app).

TensorFlow prints its absl, oneDNN and CUDA lines from C++ while its shared libraries load,
before its logging is configured, so TF_CPP_MIN_LOG_LEVEL alone does not hide them: the only
way is to point the process's stderr (file descriptor 2) elsewhere while it is imported.
"""
import os
import sys
import threading
from contextlib import contextmanager

ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}  # for what is printed after the import
_lock = threading.Lock()


def environment() -> None:
    """Set TensorFlow's logging variables (the user's own values win); call before importing it."""
    for key, value in ENV.items():
        os.environ.setdefault(key, value)


@contextmanager
def stderr_silenced():
    """Discard what anything in this process writes to stderr meanwhile (Python and C++ alike)."""
    with _lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow():
    """`import tensorflow`, without its start-up lines; a no-op once it is imported."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    environment()
    with stderr_silenced():
        import tensorflow
    return tensorflow
