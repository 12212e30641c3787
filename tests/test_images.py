"""PIL adapters and PNG writing (reading and its errors: test_bad_inputs.py)."""
import numpy as np
import pytest
from PIL import Image, ImageCms

from fsrcnn.images import array_to_image, image_to_array, open_image
from fsrcnn.png import write_png
from fsrcnn.upscaler import upscale_image
from helpers import as_file, synthetic_photo


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_adapters_round_trip_every_mode(mode):
    im = Image.fromarray(synthetic_photo(12)).convert(mode)
    arr = image_to_array(im)
    assert arr.dtype == np.uint8 and arr.shape == ((12, 12) if mode == "L" else (12, 12, 3 if mode == "RGB" else 4))
    back = array_to_image(arr, mode)
    assert back.mode == mode and np.array_equal(np.asarray(back), np.asarray(im))


def test_icc_profile_is_carried_to_the_output(stand_in_upscaler, tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    loaded = open_image(as_file(Image.fromarray(synthetic_photo(16)), icc_profile=icc))
    path = tmp_path / "out.png"
    write_png(upscale_image(stand_in_upscaler, loaded, 3), path)
    with Image.open(path) as saved:
        assert saved.info.get("icc_profile") == icc and saved.format == "PNG"
