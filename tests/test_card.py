import json

import pytest
from PIL import Image

from fsrcnn.card import cpu_time, paper_gain, records, refresh, render, standard
from fsrcnn.cli import main
from fsrcnn.weights import sha256
from helpers import ROOT, WEIGHTS, make_two_model_weights, synthetic_photo

CARDS = [ROOT / "README.md", WEIGHTS / "README.md"]


def test_evaluate_records_what_it_printed_and_the_card_renders_it(tmp_path, capsys):
    photos, weights = tmp_path / "Set5", make_two_model_weights(tmp_path / "weights", scales=(2,))
    photos.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_photo(64, seed=30 + i)).save(photos / f"p{i}.png")
    record_file = tmp_path / "record.json"
    assert main(["evaluate", "--data", str(photos), "--scale", "2", "--weights-dir", str(weights),
                 "--degrade", "none", "--degrade", "jpeg50", "--model", "clean", "--model", "auto",
                 "--record", str(record_file)]) == 0
    printed = capsys.readouterr().out
    record = json.loads(record_file.read_text())
    assert record["command"].startswith("python -m fsrcnn evaluate --data") and "--record" in record["command"]
    assert record["weights"] == {p.name: sha256(p) for p in weights.glob("*.keras")}
    tables = [(t["set"], t["scale"], t["degrade"]) for t in record["tables"]]
    assert tables == [("Set5", 2, "none"), ("Set5", 2, "jpeg50")]
    # Every figure the card shows is one evaluate printed.
    (tmp_path / "card.md").write_text("<!-- table grid record.json scale=2 -->\nold\n<!-- /table -->\n")
    table = render("grid record.json scale=2", tmp_path)
    for t in record["tables"]:
        rows = {r["method"]: r for r in t["rows"]}
        gain = f"{rows['FSRCNN auto']['psnr'] - rows['bicubic']['psnr']:+.2f}"
        assert f"| {gain} |" in printed and gain in table
    assert table.splitlines()[-2].endswith("| clean 2 |") and table.splitlines()[-1].endswith("| photo 2 |")
    assert refresh((tmp_path / "card.md").read_text(), tmp_path) == (
        f"<!-- table grid record.json scale=2 -->\n{table}\n<!-- /table -->\n")


def test_the_standard_table_sets_our_gain_against_the_papers():
    rows = [{"method": "bicubic", "psnr": 30.33, "ssim": 0.87}, {"method": "FSRCNN", "psnr": 32.80, "ssim": 0.91}]
    record = {"tables": [{"set": "Set14", "scale": 2, "degrade": "", "images": 14, "rows": rows}]}
    assert paper_gain("Set14", 2) == 2.39 and paper_gain("Urban100", 2) is None
    line = standard(record).splitlines()[-1]
    assert line.startswith("| Set14 | x2 | 30.33 / 0.8700 | 32.80 / 0.9100 (+2.47) |")
    assert line.endswith("| +2.39 | +0.08 |")


def test_cpu_time_says_how_many_sessions_it_covers():
    measured, unmeasured = {"cpu_seconds": 5400.0}, {"cpu_seconds": None}
    assert cpu_time([measured, measured]) == "3.0 h"
    assert cpu_time([unmeasured, measured, measured]) == "3.0 h in 2 of 3 sessions"
    assert cpu_time([unmeasured]) == "not recorded"


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_shipped_tables_are_what_evaluate_recorded_for_the_shipped_weights(card):
    text = card.read_text()
    assert records(text), f"{card} has no table made from a record"
    assert refresh(text, ROOT) == text, f"{card} differs from its records: run python -m fsrcnn.card {card}"
    for path in records(text):
        measured = json.loads((ROOT / path).read_text()).get("weights", {})  # lineage.json: test_weights
        stale = [name for name, digest in measured.items() if sha256(WEIGHTS / name) != digest]
        assert not stale, f"{path} measured other weights than the shipped {stale}: python -m fsrcnn.card --rerun"
