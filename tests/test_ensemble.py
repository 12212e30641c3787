"""The self-ensemble: its 8 transforms, and the engines' use of them (through the Upscaler)."""
import numpy as np

from fsrcnn import ensemble
from fsrcnn.model import luma_forward


def test_the_eight_transforms_are_distinct_and_undone():
    x = np.arange(15).reshape(3, 5)
    views = [ensemble.forward(x, t) for t in ensemble.DIHEDRAL]
    assert len({v.tobytes() + bytes(v.shape) for v in views}) == 8
    assert all(np.array_equal(ensemble.inverse(v, t), x) for v, t in zip(views, ensemble.DIHEDRAL, strict=True))
    for parity, group in enumerate(ensemble.GROUPS):  # one batch per view shape
        assert {ensemble.forward(x, t).shape for t in group} == {(3, 5) if parity == 0 else (5, 3)}
    assert sorted(sum(ensemble.GROUPS, [])) == sorted(ensemble.DIHEDRAL)


def test_self_ensemble_commutes_with_flips_and_rotations(stand_in_upscaler):
    y = np.random.default_rng(1).random((21, 34)).astype(np.float32)
    out = stand_in_upscaler.upscale_luma(y, 2, tta=True)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y[:, ::-1], 2, tta=True), out[:, ::-1], atol=1e-5)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y.T, 2, tta=True), out.T, atol=1e-5)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(np.rot90(y), 2, tta=True), np.rot90(out), atol=1e-5)
    # ... while a single pass of an untrained model does not.
    single = stand_in_upscaler.upscale_luma(y, 2)
    assert np.abs(stand_in_upscaler.upscale_luma(y[:, ::-1], 2)[:, ::-1] - single).max() > 1e-4


def test_self_ensemble_is_the_mean_of_the_eight_undone_passes(stand_in_upscaler, stand_in_models):
    y = np.random.default_rng(3).random((19, 30)).astype(np.float32)  # not square: two view shapes
    model = stand_in_models[3]
    views = []
    for transpose in (False, True):
        for k in range(4):
            x = np.rot90(y.T if transpose else y, k)
            out = np.rot90(luma_forward(model, np.ascontiguousarray(x), 3), -k)
            views.append(out.T if transpose else out)
    np.testing.assert_allclose(stand_in_upscaler.upscale_luma(y, 3, tta=True), np.mean(views, axis=0), atol=1e-4)
