import csv
import json

import keras
import numpy as np
import pytest
from PIL import Image

from fsrcnn.cli import main
from fsrcnn.data import Pair, PatchSampler, load_pairs
from fsrcnn.images import ImageError
from fsrcnn.train import RunState, TrainConfig, make_trainer, train
from helpers import synthetic_photo


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hr")
    for i in range(4):
        Image.fromarray(synthetic_photo(72, seed=i)).save(folder / f"p{i}.png")
    Image.fromarray(synthetic_photo(72, seed=9)[..., 0]).save(folder / "gray.png")  # gray images are fine too
    return folder


def config(photos, tmp_path, **kw):
    base = dict(data=[str(photos)], scale=2, run_dir=str(tmp_path / "run"), epochs=2, steps_per_epoch=4,
                batch_size=4, patch=24, jit_compile=False, seed=0, downscales=(1.0, 0.8))
    base.update(kw)
    return TrainConfig(**base)


def test_patches_match_the_degradation(photos):
    pairs = load_pairs([photos], scale=3, downscales=(1.0,))
    sampler = PatchSampler(pairs, scale=3, patch=10, batch_size=5, seed=0)
    lr, hr = sampler.batch()
    assert lr.shape == (5, 10, 10, 1) and hr.shape == (5, 30, 30, 1)
    # Each LR patch is, up to the uint8 rounding of the degradation, the 3x3 mean-ish of its HR patch.
    coarse = hr.reshape(5, 10, 3, 10, 3).mean(axis=(2, 4))
    assert np.abs(coarse - lr[..., 0]).mean() < 0.03


def test_mirrored_margin_brings_image_edges_into_the_loss():
    # LR pixels with distinct values; each HR pixel carries its LR pixel's value, so an HR patch
    # shows which LR pixels it comes from, whatever flip or rotation the sampler applied.
    scale, patch, edge = 2, 8, 2
    lr = np.arange(10 * 12, dtype=np.float32).reshape(10, 12)
    hr = np.kron(lr, np.ones((scale, scale), np.float32))
    pairs = [Pair(lr, hr, "grid")]
    c = edge * scale

    def interiors(edge):
        lrs, hrs = PatchSampler(pairs, scale, patch, batch_size=400, seed=0, edge=edge).batch()
        return lrs[..., 0], hrs[:, c:-c, c:-c, 0]

    lrs, inner = interiors(edge)
    # The loss region still pairs each HR pixel with the LR pixel under it ...
    np.testing.assert_array_equal(inner[:, ::scale, ::scale], lrs[:, edge:-edge, edge:-edge])
    # ... and now reaches every pixel of the image, the outermost ones included,
    assert set(np.unique(inner)) == set(lr.ravel())
    # with the mirror image of the edge as context, as inference pads it: every LR patch is a
    # window of the mirrored image, up to one of the 8 flips/rotations.
    mirrored = np.pad(lr, edge, mode="symmetric")
    windows = {mirrored[i : i + patch, j : j + patch].tobytes()
               for i in range(mirrored.shape[0] - patch + 1) for j in range(mirrored.shape[1] - patch + 1)}
    for x in lrs:
        assert any(np.ascontiguousarray(np.rot90(t, k)).tobytes() in windows for t in (x, x.T) for k in range(4))
    # Without the margin, pixels within `edge` of the image's border never enter the loss.
    _, inner = interiors(0)
    assert set(np.unique(inner)) == set(lr[edge:-edge, edge:-edge].ravel())


def test_a_few_steps_reduce_the_loss(photos, tmp_path):
    cfg = config(photos, tmp_path, epochs=1, steps_per_epoch=30, final_lr_fraction=1.0)
    trainer = make_trainer(cfg)
    sampler = PatchSampler(load_pairs(cfg.data, 2, cfg.downscales), 2, cfg.patch, 16, seed=1)
    lr, hr = sampler.batch()
    c = trainer.crop

    def loss():
        return float(np.mean((np.asarray(trainer.net(lr)) - hr)[:, c:-c, c:-c] ** 2))

    before = loss()
    trainer = train(cfg)
    trainer_loss = float(np.mean((np.asarray(trainer.net(lr)) - hr)[:, c:-c, c:-c] ** 2))
    assert trainer_loss < 0.5 * before


def test_two_learning_rates_go_to_the_right_variables(photos, tmp_path):
    cfg = config(photos, tmp_path, lr=1e-3, deconv_lr=1e-4, final_lr_fraction=1.0)
    trainer = make_trainer(cfg)
    trainer.compile()
    conv_vars, deconv_vars = trainer.variable_groups()
    assert [v.path for v in deconv_vars] == ["deconv/kernel", "deconv/bias"]
    assert len(conv_vars) == 2 * 7 + 7  # kernels, biases and PReLU slopes of the 7 convolutions
    before = [v.numpy() for v in conv_vars + deconv_vars]
    lr, hr = PatchSampler(load_pairs(cfg.data, 2, (1.0,)), 2, 24, 4, seed=0).batch()
    trainer.train_step((lr, hr))
    steps = [np.abs(v.numpy() - b).max() for v, b in zip(conv_vars + deconv_vars, before, strict=True)]
    # Adam's first step moves each weight by its learning rate (sign of the gradient).
    np.testing.assert_allclose(steps[: len(conv_vars)], 1e-3, rtol=0.02)
    np.testing.assert_allclose(steps[len(conv_vars) :], 1e-4, rtol=0.02)


def test_deconvolution_only_phase_keeps_the_body_fixed(photos, tmp_path):
    cfg = config(photos, tmp_path)
    trainer = make_trainer(cfg)
    trainer.compile()
    trainer.train_body = False
    conv_vars, deconv_vars = trainer.variable_groups()
    before = [v.numpy() for v in conv_vars + deconv_vars]
    trainer.train_step(PatchSampler(load_pairs(cfg.data, 2, (1.0,)), 2, 24, 4, seed=0).batch())
    after = [v.numpy() for v in conv_vars + deconv_vars]
    assert all(np.array_equal(a, b) for a, b in zip(after[: len(conv_vars)], before[: len(conv_vars)], strict=True))
    assert not np.array_equal(after[-2], before[-2])


def test_resume_continues_after_an_interruption(photos, tmp_path, monkeypatch):
    cfg = config(photos, tmp_path)
    real_batch, calls = PatchSampler.batch, {"n": 0}

    def crash_in_second_epoch(self):
        calls["n"] += 1
        if calls["n"] == cfg.steps_per_epoch + 2:
            raise KeyboardInterrupt("simulated kill")
        return real_batch(self)

    monkeypatch.setattr(PatchSampler, "batch", crash_in_second_epoch)
    with pytest.raises(Exception):  # noqa: B017  (tf.data hands the generator's error on as its own type)
        train(cfg)
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["epochs_done"] == 1
    saved = dict(np.load(tmp_path / "run" / "state.npz"))

    monkeypatch.setattr(PatchSampler, "batch", real_batch)
    with pytest.raises(FileExistsError):
        train(cfg)  # never overwrite a run silently
    trainer = train(cfg, resume=True)
    assert json.loads((tmp_path / "run" / "state.json").read_text())["epochs_done"] == 2
    # The optimizers carried on counting from the checkpoint instead of starting over.
    assert int(trainer.conv_optimizer.iterations) == 2 * cfg.steps_per_epoch
    assert int(trainer.deconv_optimizer.iterations) == 2 * cfg.steps_per_epoch
    assert not np.array_equal(saved["net/0"], trainer.net.get_weights()[0])
    with open(tmp_path / "run" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]


def test_weight_average_follows_each_step(photos, tmp_path):
    cfg = config(photos, tmp_path, ema=0.75)
    trainer = make_trainer(cfg)
    trainer.compile()
    weights = lambda: [np.array(v) for v in trainer.net.trainable_variables]  # noqa: E731 (copies)
    average = weights()
    sampler = PatchSampler(load_pairs(cfg.data, 2, (1.0,)), 2, 24, 4, seed=0)
    for _ in range(3):
        trainer.train_step(sampler.batch())
        average = [0.75 * a + 0.25 * w for a, w in zip(average, weights(), strict=True)]
    for a, expected in zip(trainer.averages, average, strict=True):
        np.testing.assert_allclose(a.numpy(), expected, rtol=1e-5, atol=1e-7)
    raw = weights()
    with trainer.averaged_weights() as net:
        assert all(np.array_equal(v.numpy(), a.numpy())
                   for v, a in zip(net.trainable_variables, trainer.averages, strict=True))
    assert all(np.array_equal(v.numpy(), r) for v, r in zip(trainer.net.trainable_variables, raw, strict=True))


def test_averaged_weights_are_saved_resumed_and_returned(photos, tmp_path):
    run = tmp_path / "run"
    train(config(photos, tmp_path, epochs=1, ema=0.9))
    saved = dict(np.load(run / "state.npz"))
    shipped = [v.numpy() for v in keras.saving.load_model(run / "last.keras").trainable_variables]
    averages = [saved[f"average/{i}"] for i in range(len(shipped))]
    # last.keras holds the average; the checkpoint keeps the raw weights too, for resuming.
    assert all(np.array_equal(s, a) for s, a in zip(shipped, averages, strict=True))
    assert not np.array_equal(saved["net/0"], averages[0])

    cfg = config(photos, tmp_path, epochs=2, ema=0.9)
    resumed = make_trainer(cfg)
    resumed.compile()
    assert RunState(run).load(resumed) == 1
    assert all(np.array_equal(a.numpy(), s) for a, s in zip(resumed.averages, averages, strict=True))
    trainer = train(cfg, resume=True)
    assert all(np.array_equal(v.numpy(), a.numpy())
               for v, a in zip(trainer.net.trainable_variables, trainer.averages, strict=True))
    assert not np.array_equal(trainer.averages[0].numpy(), averages[0])


def test_clear_errors_for_bad_training_data(photos, tmp_path):
    with pytest.raises(ImageError, match="no such folder"):
        load_pairs([tmp_path / "missing"], 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="no images"):
        load_pairs([tmp_path / "empty"], 2)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ImageError, match="broken.png"):
        load_pairs([bad], 2)
    with pytest.raises(ImageError, match="smaller --patch|large enough"):
        PatchSampler(load_pairs([photos], 4, (1.0,)), 4, 40, 2)


def test_cli_trains_and_saves_a_model(photos, tmp_path, capsys):
    out = tmp_path / "model.keras"
    code = main(["train", "--data", str(photos), "--scale", "3", "--run-dir", str(tmp_path / "cli"),
                 "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--patch", "20",
                 "--no-xla", "--output", str(out), "--val", str(photos)])
    assert code == 0 and out.exists()
    assert "val_psnr" in capsys.readouterr().out
    assert main(["train", "--data", str(tmp_path / "nope"), "--scale", "3", "--run-dir", str(tmp_path / "x")]) == 2


def test_interior_forward_equals_the_cropped_full_output(photos, tmp_path):
    for scale in (2, 3, 4):
        trainer = make_trainer(config(photos, tmp_path, scale=scale))
        kernel, bias = trainer.net.get_layer("deconv").get_weights()
        trainer.net.get_layer("deconv").set_weights([np.random.default_rng(0).normal(0, 0.05, kernel.shape), bias])
        lr = np.random.default_rng(scale).random((2, 24, 24, 1)).astype(np.float32)
        c = trainer.crop
        full = np.asarray(trainer.net(lr))[:, c:-c, c:-c]
        np.testing.assert_allclose(np.asarray(trainer.interior(lr)), full, atol=1e-5)


def test_shipped_recipes_are_valid_configs():
    from fsrcnn.config import RECIPES_DIR, TrainConfig, load_recipe

    recipes = sorted(RECIPES_DIR.glob("*.toml"))
    assert recipes
    for path in recipes:
        config = TrainConfig(**load_recipe(path))
        assert config.output and config.run_dir and config.seed is not None and config.val, path.name
        # Clean recipes train on the standard degradation, the photo ones on the camera/web chain.
        assert (config.chain() is None) == path.name.startswith("clean_"), path.name
    # One clean recipe per scale, each naming the file it makes.
    for scale in (2, 3, 4):
        clean = TrainConfig(**load_recipe(RECIPES_DIR / f"clean_x{scale}.toml"))
        assert clean.scale == scale and clean.output == f"weights/fsrcnn_x{scale}.keras"


def test_recipe_errors_are_clear(tmp_path):
    from fsrcnn.config import load_recipe

    with pytest.raises(ValueError, match="does not exist"):
        load_recipe(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("epochs = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_recipe(tmp_path / "bad.toml")
    (tmp_path / "typo.toml").write_text("epoch = 3\n")
    with pytest.raises(ValueError, match="unknown setting.*epoch"):
        load_recipe(tmp_path / "typo.toml")
    assert main(["train", "--recipe", str(tmp_path / "typo.toml")]) == 2


def test_a_tiny_recipe_trains_on_degraded_images_and_resumes(photos, tmp_path, capsys, caplog):
    out = tmp_path / "photo.keras"
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(f"""
data = ["{photos}"]
scale = 2
run_dir = "{tmp_path / 'run'}"
output = "{out}"
val = "{photos}"
val_degrade = ["jpeg50", "noise5"]
val_crop = 24
epochs = 1
steps_per_epoch = 2
batch_size = 2
patch = 20
downscales = [1.0]
jit_compile = false
seed = 5

[degradations]
noise_prob = 0.5
jpeg_prob = 1.0
jpeg_quality = [30, 60]
""")
    with caplog.at_level("INFO", logger="fsrcnn.train"):
        assert main(["train", "--recipe", str(recipe)]) == 0
    assert out.exists()
    assert "val_psnr" in capsys.readouterr().out and "degraded anew" in caplog.text
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["epochs_done"] == 1 and state["wall_seconds"] > 0
    assert state["config"]["degradations"]["jpeg_quality"] == [30, 60]
    # The command line wins over the recipe: two more epochs, resumed from the checkpoint.
    assert main(["train", "--recipe", str(recipe), "--epochs", "3", "--resume"]) == 0
    resumed = json.loads((tmp_path / "run" / "state.json").read_text())
    assert resumed["epochs_done"] == 3 and resumed["wall_seconds"] > state["wall_seconds"]
    # Each process that trained the run is one session of its record: the lineage's seeds and CPU time.
    first, second = resumed["sessions"]
    assert (first["first_epoch"], first["epochs_done"], second["first_epoch"], second["epochs_done"]) == (0, 1, 1, 3)
    assert first["seed"] == second["seed"] == 5 and first["cpu_seconds"] > 0
    assert resumed["cpu_seconds"] == round(first["cpu_seconds"] + second["cpu_seconds"], 1)
    with open(tmp_path / "run" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]


def test_each_epoch_sees_a_new_degradation(photos):
    from fsrcnn.data import redegrade
    from fsrcnn.degradations import Chain

    chain = Chain(jpeg_prob=1.0, jpeg_quality=(20, 40), noise_prob=1.0)
    pairs = load_pairs([photos], 2, (1.0,), chain, seed=0)
    clean = [p.lr.copy() for p in pairs]
    first = redegrade(pairs, chain, np.random.default_rng([0, 0]))
    second = redegrade(pairs, chain, np.random.default_rng([0, 1]))
    again = redegrade(pairs, chain, np.random.default_rng([0, 0]))
    for c, a, b, d in zip(clean, first, second, again, strict=True):
        assert a.lr.shape == c.shape and not np.array_equal(a.lr, c) and not np.array_equal(a.lr, b.lr)
        np.testing.assert_array_equal(a.lr, d.lr)
        assert a.hr is pairs[0].hr or a.hr.shape == (2 * c.shape[0], 2 * c.shape[1])
    sampler = PatchSampler(pairs, 2, 20, 4, seed=0, edge=3)
    sampler.replace_lr(first)
    assert all(s.lr.shape == (f.lr.shape[0] + 6, f.lr.shape[1] + 6) for s, f in zip(sampler.pairs, first, strict=True))
    np.testing.assert_array_equal(sampler.pairs[0].lr[3:-3, 3:-3], first[0].lr)


def test_a_collapsible_run_ships_plain_fsrcnn_and_resumes(photos, tmp_path):
    from fsrcnn.model import architecture
    from fsrcnn.reparam import collapse, is_collapsible
    from fsrcnn.weights import load_model

    out, run = tmp_path / "x2.keras", tmp_path / "run"
    branches = dict(expansion=8, edges=True, identity=True, ema=0.9, output=str(out), val=str(photos))
    trainer = train(config(photos, tmp_path, epochs=1, **branches))
    assert is_collapsible(trainer.net)
    shipped = load_model(out)  # built as plain FSRCNN, the weights read into it
    assert architecture(shipped) == {"scale": 2, "d": 56, "s": 12, "m": 4} and shipped.count_params() == 12809
    lr = np.random.default_rng(0).random((1, 30, 30, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(shipped(lr)), np.asarray(collapse(trainer.net)(lr)), atol=1e-5)
    # The checkpoint holds the branches, so a resumed run goes on training them.
    trainer = train(config(photos, tmp_path, epochs=2, **branches), resume=True)
    assert RunState(run).load(make_trainer(config(photos, tmp_path, epochs=2, **branches))) == 2
    assert not np.allclose(np.asarray(load_model(out)(lr)), np.asarray(shipped(lr)))


def test_a_transfer_between_scales_first_trains_only_the_new_deconvolution(photos, tmp_path):
    # What the clean x4 recipe does: a collapsible x4 run started from a plain x3 file.
    from fsrcnn.model import DECONV_NAME, build_fsrcnn
    from fsrcnn.weights import load_model

    source, out = tmp_path / "x3.keras", tmp_path / "x4.keras"
    build_fsrcnn(3).save(source)
    transfer = dict(scale=4, patch=16, init_from=str(source), deconv_only_epochs=1, expansion=8, edges=True,
                    identity=True, ema=0.9, output=str(out))

    def body_and_deconv(path):
        net = load_model(path)
        deconv = {id(v) for v in net.get_layer(DECONV_NAME).weights}
        return [v.numpy() for v in net.weights if id(v) not in deconv], net.get_layer(DECONV_NAME).get_weights()

    start_body, start_deconv = body_and_deconv(source)
    train(config(photos, tmp_path, epochs=1, **transfer))
    body, deconv = body_and_deconv(out)
    for a, b in zip(body, start_body, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(deconv[0], start_deconv[0])
    # Resumed past the first epoch, every layer learns.
    train(config(photos, tmp_path, epochs=2, **transfer), resume=True)
    body, _ = body_and_deconv(out)
    assert not all(np.allclose(a, b, atol=1e-6) for a, b in zip(body, start_body, strict=True))
