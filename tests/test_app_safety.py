"""What a public demo server must not do: serve other files, listen beyond loopback unasked, keep files.

Against the shared live app (conftest.live_app), except where noted. The upload cap is tested in
test_app_live.py and test_bad_inputs.py; that the app leaves no file behind when stopped, in
test_load.py (benchmarks/load.py counts what a stopped app left).
"""
import socket
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from app_helpers import ROOT

gradio_client = pytest.importorskip("gradio_client")


def fetch(url: str, path: str) -> int:
    return httpx.get(f"{url}gradio_api/file={path}", timeout=30).status_code


@pytest.mark.parametrize("path", [
    "/etc/passwd",
    str(ROOT / "README.md"),
    str(ROOT / "app.py"),
    str(ROOT / "examples" / "cat.png"),  # an image, even: only Gradio's cached copy is served
    "README.md",
    "../../../../../../etc/passwd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
])
def test_no_file_outside_the_upload_and_output_folders_is_served(live_app, path):
    assert fetch(live_app, path) in (403, 404)


def test_results_themselves_are_served(live_app, tmp_path):
    """The refusals above are not because nothing is served: a result's file is."""
    from gradio_client import Client, handle_file

    client = Client(live_app, verbose=False, download_files=False)  # answers are the server's own URLs
    *_, download, _ = client.predict(handle_file(ROOT / "examples" / "cat.png"), 2, False, api_name="/upscale")
    url = download["url"] if isinstance(download, dict) else download
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200 and answer.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path", ["/etc/passwd", str(ROOT / "examples" / "cat.png")])
def test_a_request_naming_a_file_that_was_not_uploaded_is_refused(live_app, path):
    """API clients send file records; one pointing at a server file must not be read by the app."""
    record = {"path": path, "meta": {"_type": "gradio.FileData"}}
    data = [record, 2, False, "auto", "png", None, None, None]
    answer = httpx.post(f"{live_app}gradio_api/call/upscale", json={"data": data}, timeout=30)
    assert answer.status_code in (400, 403, 422), answer.text
    assert "not uploaded by a user" in answer.text


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6} (Linux)."""
    addresses = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # /proc stores each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                addresses.add(socket.inet_ntop(family, raw))
    return addresses


def test_listens_on_loopback_only_by_default(live_app):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux's /proc/net/tcp")
    assert listening_addresses(urlparse(live_app).port) == {"127.0.0.1"}


def test_defaults_are_private_and_bounded():
    import app

    args = app.parse_args([])
    assert (args.host, args.share, args.concurrency) == ("127.0.0.1", False, 1)
    assert app.MAX_UPLOAD == "50mb" and app.QUEUE_SIZE == 32


def test_gradio_prunes_its_cache(stand_in_upscaler, tmp_path):
    import app
    from fsrcnn import demo as logic

    ui = app.build_ui(logic.Demo(stand_in_upscaler, output_dir=tmp_path))
    assert ui.delete_cache == (1800, 3600)  # every 30 minutes, files older than an hour
