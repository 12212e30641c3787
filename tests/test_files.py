"""The file-to-file job (fsrcnn/files.py): the pipeline writes exactly what the in-process path makes,
in input order, and keeps every safety guarantee of `upscale`."""
import io
import threading
import time

import numpy as np
import pytest
from PIL import Image, ImageCms

from fsrcnn import files
from fsrcnn.cli import main
from fsrcnn.files import find_inputs, upscale_files
from fsrcnn.images import open_image
from fsrcnn.upscaler import upscale_image
from helpers import synthetic_photo


@pytest.fixture
def shared_upscaler(monkeypatch, stand_in_upscaler):
    """The CLI builds an Upscaler per run; hand it the session's, already compiled."""
    monkeypatch.setattr("fsrcnn.upscaler.Upscaler", lambda *args, **kwargs: stand_in_upscaler)
    return stand_in_upscaler


@pytest.fixture
def photos(tmp_path):
    """Good images of every mode the upscaler works in, one with an ICC profile."""
    folder = tmp_path / "in"
    folder.mkdir()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(synthetic_photo(40, 1)).save(folder / "a.jpg", quality=90, icc_profile=srgb)
    Image.fromarray(synthetic_photo(33, 2)[..., 0]).save(folder / "b.png")
    rgba = np.dstack([synthetic_photo(27, 3), np.linspace(0, 255, 27 * 27).reshape(27, 27).astype(np.uint8)])
    Image.fromarray(rgba).save(folder / "c.png")
    Image.fromarray(synthetic_photo(50, 4)).save(folder / "d.bmp")
    return folder


def pixels(path):
    with Image.open(path) as im:
        return im.mode, np.asarray(im)


def run(upscaler, inputs, out, **kwargs):
    out_stream, err_stream = io.StringIO(), io.StringIO()
    summary = upscale_files(upscaler, inputs, out, 3, out=out_stream, err=err_stream, **kwargs)
    return summary, out_stream.getvalue(), err_stream.getvalue()


def test_results_are_pixel_identical_to_the_in_process_path(photos, tmp_path, stand_in_upscaler):
    inputs, errors = find_inputs([photos])
    summary, _, err = run(stand_in_upscaler, inputs, tmp_path / "out", tta=True)
    assert errors == [] and summary.failures == 0 and err.count("error") == 0
    assert summary.written == [tmp_path / "out" / f"{p.stem}.png" for p in inputs]
    for path in inputs:
        expected = upscale_image(stand_in_upscaler, open_image(path), 3, tta=True)
        mode, got = pixels(tmp_path / "out" / f"{path.stem}.png")
        assert mode == expected.mode and np.array_equal(got, np.asarray(expected)), path.name
    with Image.open(tmp_path / "out" / "a.png") as im:
        assert im.info.get("icc_profile") == open_image(photos / "a.jpg").icc_profile is not None


@pytest.mark.parametrize("level", [0, 9])
def test_every_png_compression_level_is_lossless(level, photos, tmp_path, shared_upscaler, capsys):
    default, other = tmp_path / "default", tmp_path / f"level{level}"
    assert main(["upscale", str(photos), "--scale", "2", "--output", str(default)]) == 0
    assert main(["upscale", str(photos), "--scale", "2", "--output", str(other), "--png-compression", str(level)]) == 0
    for path in sorted(default.iterdir()):
        assert pixels(path)[0] == pixels(other / path.name)[0]
        assert np.array_equal(pixels(path)[1], pixels(other / path.name)[1]), path.name
    size = sum(p.stat().st_size for p in other.iterdir())
    default_size = sum(p.stat().st_size for p in default.iterdir())
    assert size > default_size if level == 0 else size < default_size


def test_png_compression_out_of_range_is_refused(photos, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["upscale", str(photos), "--scale", "2", "--output", str(tmp_path / "out"), "--png-compression", "10"])
    assert exit_.value.code == 2 and "--png-compression: invalid choice: 10" in capsys.readouterr().err


def test_unreadable_files_among_good_ones_are_reported_in_order_and_skipped(photos, tmp_path, stand_in_upscaler):
    (photos / "b2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)  # sorts between b.png and c.png
    (photos / "a0.jpg").write_bytes(b"")  # the first file
    inputs, _ = find_inputs([photos])
    summary, _, err = run(stand_in_upscaler, inputs + [tmp_path / "missing.png"], tmp_path / "out")
    assert summary.failures == 3
    assert [p.name for p in summary.written] == ["a.png", "b.png", "c.png", "d.png"]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    expected = [f"error: {photos / 'a0.jpg'}: the file is empty (0 bytes)",
                f"error: {photos / 'b2.png'}: damaged or truncated image",  # then Pillow's words
                f"error: {tmp_path / 'missing.png'}: no such file"]
    assert len(lines) == len(expected), lines
    assert all(line.startswith(e) for line, e in zip(lines, expected, strict=True)), lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png", "d.png"]


def test_cli_exit_status_counts_bad_files_and_empty_folders(photos, tmp_path, shared_upscaler, capsys):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["upscale", str(photos), str(empty), "--scale", "2", "--output", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert f"error: {empty}: no images in this folder" in captured.err and "broken.jpg" in captured.err
    assert "4 image(s) written to" in captured.out and "2 failed" in captured.out


def test_two_inputs_with_one_output_name_keep_the_first_result(photos, tmp_path, stand_in_upscaler):
    other = tmp_path / "other"
    other.mkdir()
    Image.fromarray(synthetic_photo(20, 9)).save(other / "a.png")
    out = tmp_path / "out"
    summary, _, err = run(stand_in_upscaler, [photos / "a.jpg", other / "a.png"], out)
    assert summary.failures == 1
    assert f"error: {other / 'a.png'}: {out / 'a.png'} was already written from {photos / 'a.jpg'}" in err
    expected = upscale_image(stand_in_upscaler, open_image(photos / "a.jpg"), 3)
    assert np.array_equal(pixels(out / "a.png")[1], np.asarray(expected))


def test_a_failed_first_claims_no_name(photos, tmp_path, stand_in_upscaler):
    """Only a result actually written takes its name: the next input of that name still gets it."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"not an image")
    summary, _, _ = run(stand_in_upscaler, [broken / "a.png", photos / "a.jpg"], tmp_path / "out")
    assert summary.failures == 1 and summary.written == [tmp_path / "out" / "a.png"]


def test_an_input_in_the_output_folder_is_never_replaced(photos, tmp_path, stand_in_upscaler):
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    inputs, _ = find_inputs([photos])
    summary, _, err = run(stand_in_upscaler, inputs, photos)
    assert summary.failures == 2  # b.png and c.png would replace themselves
    assert f"its result {photos / 'b.png'} would replace an input image: choose another --output" in err
    assert {p.name: p.read_bytes() for p in photos.iterdir() if p.name in before} == before
    assert sorted(p.name for p in photos.iterdir()) == ["a.jpg", "a.png", "b.png", "c.png", "d.bmp", "d.png"]


def test_a_result_that_cannot_be_written_is_reported_and_leaves_no_partial_file(photos, tmp_path, stand_in_upscaler):
    out = tmp_path / "out"
    (out / "b.png").mkdir(parents=True)  # a folder where the result should go
    inputs, _ = find_inputs([photos])
    summary, _, err = run(stand_in_upscaler, inputs, out)
    assert summary.failures == 1 and f"error: {photos / 'b.png'}: cannot write {out / 'b.png'}: " in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]
    assert (out / "b.png").is_dir() and not list((out / "b.png").iterdir())


def test_not_enough_memory_is_reported_and_the_run_goes_on(photos, tmp_path, stand_in_upscaler, monkeypatch):
    def upscale(upscaler, loaded, scale, tta=False, **kw):
        if loaded.image.mode == "L":
            raise MemoryError
        return upscale_image(upscaler, loaded, scale, tta, **kw)

    monkeypatch.setattr(files, "upscale_image", upscale)
    inputs, _ = find_inputs([photos])
    summary, _, err = run(stand_in_upscaler, inputs, tmp_path / "out")
    assert summary.failures == 1 and f"error: {photos / 'b.png'}: not enough memory to upscale it x3" in err
    assert [p.name for p in summary.written] == ["a.png", "c.png", "d.png"]


def test_the_reader_never_runs_far_ahead(photos, tmp_path, stand_in_upscaler, monkeypatch):
    """Bounded queues: while image k is upscaled, at most two more have been read (memory stays bounded)."""
    for i in range(8):
        Image.fromarray(synthetic_photo(16, i)).save(photos / f"e{i}.png")
    opened, ahead = [], []
    real_open = files.open_image

    def counting_open(path):
        opened.append(path)
        return real_open(path)

    def slow_upscale(upscaler, loaded, scale, tta=False, **kw):
        time.sleep(0.05)  # time for an unbounded reader to read everything
        ahead.append(len(opened) - len(ahead) - 1)
        return upscale_image(upscaler, loaded, scale, tta, **kw)

    monkeypatch.setattr(files, "open_image", counting_open)
    monkeypatch.setattr(files, "upscale_image", slow_upscale)
    inputs, _ = find_inputs([photos])
    summary, _, _ = run(stand_in_upscaler, inputs, tmp_path / "out")
    assert summary.failures == 0 and len(ahead) == len(inputs) == 12
    assert max(ahead) <= 2


@pytest.mark.parametrize("error", [RuntimeError("a bug"), KeyboardInterrupt()])
def test_a_crash_or_ctrl_c_stops_every_stage_and_leaves_no_partial_file(error, photos, tmp_path, stand_in_upscaler,
                                                                         monkeypatch):
    calls = []

    def failing_upscale(upscaler, loaded, scale, tta=False, **kw):
        calls.append(loaded)
        if len(calls) == 2:
            raise error
        return upscale_image(upscaler, loaded, scale, tta, **kw)

    monkeypatch.setattr(files, "upscale_image", failing_upscale)
    threads = threading.active_count()
    inputs, _ = find_inputs([photos])
    with pytest.raises(type(error)):
        run(stand_in_upscaler, inputs, tmp_path / "out")
    assert threading.active_count() == threads  # the reader and the writer have ended
    assert len(calls) == 2 and [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
