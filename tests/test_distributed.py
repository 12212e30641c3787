"""`upscale --ray` (fsrcnn/distributed.py): the local command's results, messages and guarantees on a
local Ray, also when a worker process is killed mid-run. One Ray for the module: starting one takes seconds."""
import io
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from fsrcnn.cli import main
from fsrcnn.files import find_inputs
from fsrcnn.upscaler import Upscaler
from helpers import make_two_model_weights, synthetic_photo


@pytest.fixture(scope="module")
def ray_session():
    pytest.importorskip("ray.data")
    import ray

    from fsrcnn.distributed import connect

    connect()  # a local Ray on this machine's CPUs, as `--ray` starts it
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Clean, photo and light photo stand-ins for x2, so that --model auto has three files to choose from."""
    return make_two_model_weights(tmp_path_factory.mktemp("weights"), scales=(2,), light=True)


def upscale(*args):
    """main(['upscale', ...]): exit status, and the notes and errors it printed (not the progress bar)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["upscale", *map(str, args)])
    finally:
        sys.stdout, sys.stderr = old
    lines = [line for line in (out.getvalue() + err.getvalue()).splitlines() if line.startswith(("note:", "error:"))]
    return code, lines


def files_in(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_ray_writes_the_local_commands_bytes_and_messages(tmp_path, weights, ray_session):
    folder, other = tmp_path / "in", tmp_path / "other"
    folder.mkdir()
    other.mkdir()
    photo = synthetic_photo(48, 1)
    Image.fromarray(photo).save(folder / "a.jpg", quality=60)  # auto: the photo model
    Image.fromarray(photo).save(folder / "b.jpg", quality=85)  # auto: the light photo model
    Image.fromarray(synthetic_photo(40, 2)[..., 0]).save(folder / "c.png")  # gray, lossless: clean
    rgba = np.dstack([synthetic_photo(30, 3), np.full((30, 30), 128, np.uint8)])
    Image.fromarray(rgba).save(folder / "d.png")
    (folder / "e.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)  # unreadable
    (other / "c.png").write_bytes(b"not an image")  # a failed first claims no name...
    Image.fromarray(synthetic_photo(20, 4)).save(other / "a.png")  # ...and a second a.png is refused
    inputs = [other / "c.png", folder, other / "a.png", tmp_path / "missing.jpg"]
    common = ["--scale", "2", "--tta", "--weights-dir", weights]

    local = upscale(*inputs, "--output", tmp_path / "local", *common)
    ray = upscale(*inputs, "--output", tmp_path / "ray", *common, "--ray")
    assert local[0] == ray[0] == 1
    assert ray[1] == [line.replace(str(tmp_path / "local"), str(tmp_path / "ray")) for line in local[1]]
    assert any("light photo model" in line for line in ray[1]) and any(": photo model" in line for line in ray[1])
    assert files_in(tmp_path / "ray") == files_in(tmp_path / "local")
    assert sorted(files_in(tmp_path / "ray")) == ["a.png", "b.png", "c.png", "d.png"]

    # An input in the output folder is never replaced, and nothing is left half-written.
    before = files_in(folder)
    code, lines = upscale(folder, "--output", folder, *common, "--ray")
    assert code == 1 and f"error: {folder / 'c.png'}: its result {folder / 'c.png'} would replace an input image: " \
        "choose another --output" in lines
    assert {name: data for name, data in files_in(folder).items() if name in before} == before
    assert sorted(files_in(folder)) == ["a.jpg", "a.png", "b.jpg", "b.png", "c.png", "d.png", "e.png"]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def workers() -> list[int]:
    """The processes of the run's actors (Ray names them after the class they run)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"MapBatches(_Worker)" in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def run_and_kill(upscaler, inputs, out, item_seconds, **kwargs):
    """upscale_files_ray in a thread; kill -9 one actor process in the middle of its second item.

    The actors run items of one size in step, so the first result on disk means that each has
    just taken its next item: the kill comes half an item's time later."""
    from fsrcnn.distributed import upscale_files_ray

    result, err = {}, io.StringIO()
    # An earlier run's actors may still be shutting down: killing one of those would touch nothing here.
    earlier = set(workers())

    def run():
        result["summary"] = upscale_files_ray(upscaler, inputs, out, 2, tta=True, out=io.StringIO(), err=err,
                                              model="clean", **kwargs)

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    while thread.is_alive() and killed is None:
        ours = [pid for pid in workers() if pid not in earlier]
        if out.is_dir() and any(p.suffix == ".png" for p in out.iterdir()) and ours:
            time.sleep(item_seconds / 2)
            killed = ours[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.01)
    thread.join(timeout=300)
    assert killed is not None, "the run ended before a worker could be killed"
    return result["summary"], err.getvalue()


@pytest.fixture(scope="module")
def many_photos(tmp_path_factory, stand_in_weights):
    """Work for a kill to land in (8 photos with the self-ensemble), their local results, and about
    how long one photo takes on one core (the local run has every core)."""
    folder = tmp_path_factory.mktemp("many")
    for i in range(8):
        Image.fromarray(synthetic_photo(320, i)).save(folder / f"p{i}.png")
    inputs, _ = find_inputs([folder])
    upscaler = Upscaler([2], weights_dir=stand_in_weights, variants=("clean",))
    from fsrcnn.files import upscale_files

    start = time.perf_counter()
    upscale_files(upscaler, inputs, folder / "local", 2, tta=True, out=io.StringIO(), err=io.StringIO(),
                  model="clean")
    item_seconds = (time.perf_counter() - start) / len(inputs) * (os.cpu_count() or 1)
    return upscaler, inputs, folder / "local", item_seconds


def test_a_killed_worker_loses_no_file(tmp_path, many_photos, ray_session):
    upscaler, inputs, local, item_seconds = many_photos
    summary, err = run_and_kill(upscaler, inputs, tmp_path / "out", item_seconds)
    assert summary.failures == 0 and "error" not in err
    assert files_in(tmp_path / "out") == files_in(local)


def test_without_retries_the_files_a_killed_worker_held_are_named(tmp_path, many_photos, ray_session):
    upscaler, inputs, local, item_seconds = many_photos
    summary, err = run_and_kill(upscaler, inputs, tmp_path / "out", item_seconds, retries=0)
    named = {line.split(": ")[1] for line in err.splitlines() if line.startswith("error: ")}
    missing = {str(p) for p in inputs if not (tmp_path / "out" / f"{p.stem}.png").exists()}
    assert summary.failures == len(named) == len(missing) >= 1 and named == missing
    assert all(f"error: {p}: not written: its Ray worker failed (1 try"  in err for p in missing)
    written = files_in(tmp_path / "out")
    assert written == {name: data for name, data in files_in(local).items() if name in written}
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")]


def test_actors_larger_than_any_machine_are_refused(tmp_path, stand_in_weights, ray_session, capsys):
    Image.fromarray(synthetic_photo(16, 0)).save(tmp_path / "a.png")
    code = main(["upscale", str(tmp_path / "a.png"), "--scale", "2", "--output", str(tmp_path / "out"),
                 "--weights-dir", str(stand_in_weights), "--ray", "--ray-actor-cpus", "64"])
    assert code == 2 and "error: --ray-actor-cpus 64: give each actor between 0 and" in capsys.readouterr().err
    assert not list((tmp_path / "out").iterdir())

def test_without_ray_the_option_says_how_to_install_it(tmp_path, monkeypatch, stand_in_weights, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    Image.fromarray(synthetic_photo(16, 0)).save(tmp_path / "a.png")
    code = main(["upscale", str(tmp_path / "a.png"), "--scale", "2", "--output", str(tmp_path / "out"),
                 "--weights-dir", str(stand_in_weights), "--ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ['error: --ray needs Ray Data, which is not installed: pip install "fsrcnn[ray]" '
                                 "(or the ray line of requirements-dev.txt)"]

