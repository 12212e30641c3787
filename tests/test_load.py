"""A short version of benchmarks/load.py: a few concurrent clients against a live app, all answered.

The full run (16 clients x 4 requests of 512x512 at x2 with the self-ensemble) takes minutes and is
not part of the suite; this one goes through the same functions in well under a minute.
"""
import importlib.util

import pytest

from app_helpers import ROOT, app_weights

pytest.importorskip("gradio_client")
spec = importlib.util.spec_from_file_location("load", ROOT / "benchmarks" / "load.py")
load = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load)


def test_concurrent_clients_are_all_answered_and_nothing_is_left_behind(request, tmp_path):
    weights, _ = app_weights(request)
    with load.serve_app(weights, tmp_path) as server:
        report = load.load_test(server, tmp_path, clients=3, requests=2, size=48, scale=2, tta=True, timeout=120)
    report.files_left = server.files_left
    summary = load.format_report(report)
    assert [o.error for o in report.errors] == [], summary
    assert len(report.served) == 6, summary
    assert report.peak_rss_kib is None or report.peak_rss_kib < 4 * 1024 * 1024, summary  # far below, really
    # Stopped with SIGTERM, the app removed its uploads, Gradio's cache and its result PNGs.
    assert server.files_left == 0, sorted(p for p in server.tmp.rglob("*") if p.is_file())


def test_percentiles():
    assert load.percentile([4.0], 99) == 4.0
    assert load.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert load.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)


def test_a_second_stop_signal_while_stopping_cuts_nothing_short(request, tmp_path):
    import os
    import signal
    import time

    weights, _ = app_weights(request)
    with load.serve_app(weights, tmp_path) as server:
        os.kill(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while "stopped" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        # The launcher sends its own SIGTERM on leaving: a second one while the app cleans up.
    log = server.log.read_text()
    assert "stopped" in log and "Traceback" not in log and "terminate called" not in log, log
    assert server.files_left == 0
