"""Many photos at once (fsrcnn.batch): files and zips in, one zip out, bad files named and skipped."""
import io
import zipfile

import numpy as np
from PIL import Image

from fsrcnn import batch
from fsrcnn.output import Options
from helpers import pixels, synthetic_photo, write


def test_a_zip_and_files_give_one_zip_and_each_bad_file_is_named(demo, tmp_path):
    bundle = tmp_path / "photos.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        buf = io.BytesIO()
        Image.fromarray(synthetic_photo(24, 1)).save(buf, format="PNG")
        z.writestr("trip/day1.png", buf.getvalue())
        z.writestr("broken.jpg", b"no pixels here" * 5)
        z.writestr("notes.txt", "hello")
        z.writestr("__MACOSX/._day1.png", b"resource fork")
    single = write(tmp_path, synthetic_photo(20, 2), name="single.png")
    rgba = write(tmp_path, Image.fromarray(synthetic_photo(20, 3)).convert("RGBA"), name="clear.png")
    calls = []
    done = batch.run(demo, [bundle, single, rgba], 2, False, "auto", Options("jpeg"),
                     lambda f, desc: calls.append(f))
    assert sorted(done.written) == ["day1_x2_fsrcnn.jpg", "single_x2_fsrcnn.jpg"]
    errors = "\n".join(done.errors)
    assert "broken.jpg: not an image file" in errors and "notes.txt: not an image file" in errors
    assert "clear.png: JPEG has no transparency" in errors and "__MACOSX" not in errors
    with zipfile.ZipFile(done.zip_path) as z:
        with Image.open(io.BytesIO(z.read("day1_x2_fsrcnn.jpg"))) as im:
            assert im.format == "JPEG" and im.size == (48, 48)
    assert calls == sorted(calls) and calls[-1] == 1.0
    assert "2 result(s)" in batch.summary(done) and "3 skipped" in batch.summary(done)


def test_the_results_are_those_of_single_photos_and_names_stay_apart(demo, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write(tmp_path / "a", synthetic_photo(20, 4), name="x.png")
    b = write(tmp_path / "b", synthetic_photo(20, 5), name="x.png")
    done = batch.run(demo, [a, b], 3, False, "clean", Options())
    assert done.written == ["x_x3_fsrcnn.png", "x_x3_fsrcnn_2.png"]
    with zipfile.ZipFile(done.zip_path) as z:
        got = np.asarray(Image.open(io.BytesIO(z.read("x_x3_fsrcnn_2.png"))))
    np.testing.assert_array_equal(got, demo.upscaler.upscale_array(pixels(b), 3))


def test_nothing_usable_gives_no_zip_and_says_why(demo, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"text")
    done = batch.run(demo, [tmp_path / "bad.png"], 2, False, "auto", Options())
    assert done.zip_path is None and "No results" in batch.summary(done) and "bad.png" in batch.summary(done)
