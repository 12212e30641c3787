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
