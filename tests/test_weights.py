"""The shipped weights: present, loadable, and better than bicubic on a picture they never saw."""
import pytest

from conftest import synthetic_photo
from fsrcnn.imresize import degrade, modcrop
from fsrcnn.metrics import psnr_ssim_y
from fsrcnn.upscaler import bicubic_array


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fsrcnn_beats_bicubic_on_a_synthetic_photo(shipped_upscaler, scale):
    hr = modcrop(synthetic_photo(144, seed=11), scale)
    lr = degrade(hr, scale)
    bicubic = psnr_ssim_y(hr, bicubic_array(lr, scale), scale)
    fsrcnn = psnr_ssim_y(hr, shipped_upscaler.upscale_array(lr, scale), scale)
    assert fsrcnn[0] > bicubic[0] + 0.3
    assert fsrcnn[1] > bicubic[1]
