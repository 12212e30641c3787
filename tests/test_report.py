"""The app's words (fsrcnn.report): sizes, device, model, times, notes."""

from PIL import Image

from fsrcnn import demo as logic
from fsrcnn import report as reports
from helpers import synthetic_photo, write


def test_report_says_sizes_device_model_and_times(demo, tmp_path):
    job, _, outcome = demo.run(logic.UPSCALE, write(tmp_path, synthetic_photo(20)), 2, tta=True)
    partial = reports.report(job, device=demo.upscaler.device_name)
    assert "20×20 → 40×40" in partial and demo.upscaler.device_name in partial and "being computed" in partial
    final = reports.report(job, outcome, demo.upscaler.device_name)
    assert "Full result: FSRCNN + self-ensemble in" in final and "PNG written in" in final
    assert "Model: clean model" in final
    assert reports.caption(job, logic.ORIGINAL) == "Original, enlarged by nearest neighbour"


def test_notes_of_the_reader_reach_the_report(demo, tmp_path):
    frames = [Image.fromarray(synthetic_photo(16, seed=s)) for s in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    job = demo.start(logic.UPSCALE, str(path), 2)
    assert "only the first frame" in reports.report(job)


def test_compare_reports_the_visitors_file_apart_from_its_shrunk_copy(tmp_path):
    from fsrcnn.upscaler import Upscaler
    from helpers import make_two_model_weights

    upscaler = Upscaler((2,), weights_dir=make_two_model_weights(tmp_path / "w", scales=(2,)), tile=32)
    demo = logic.Demo(upscaler, output_dir=tmp_path / "out")
    job, _, outcome = demo.run(logic.COMPARE, write(tmp_path, synthetic_photo(64), name="web.jpg", quality=50), 2)
    text = reports.report(job, outcome)
    assert "Your file: JPEG quality ≈ 50: photo model." in text  # what the visitor uploaded
    assert "Model for the shrunk copy: lossless file" in text  # the copy is shrunk losslessly
    assert "bicubic is the" not in text and "one core" in text  # the time column is explained
