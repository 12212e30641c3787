"""The app's job store (fsrcnn.jobs): evicted jobs read again, old request folders removed."""
import os
import time

import numpy as np
import pytest

from fsrcnn import demo as logic
from fsrcnn import jobs
from helpers import synthetic_photo, write


def test_an_evicted_job_is_read_again_from_its_file(stand_in_upscaler, tmp_path):
    demo = logic.Demo(stand_in_upscaler, output_dir=tmp_path / "out")
    args = dict(mode=logic.UPSCALE, source=write(tmp_path, synthetic_photo(64)), scale=2, centre=(10, 10))
    first = demo.start(**args)
    for _ in range(jobs.KEEP_JOBS):
        demo.start(**args)
    again = demo.job(first.token, args)
    assert again is not first and again.centre == (10, 10)
    np.testing.assert_array_equal(again.lr, first.lr)
    with pytest.raises(logic.InputError, match="expired"):
        demo.job(first.token)


def test_old_request_folders_are_removed(stand_in_upscaler, tmp_path):
    demo = logic.Demo(stand_in_upscaler, output_dir=tmp_path / "out", keep_seconds=60)
    first = demo.run(logic.UPSCALE, write(tmp_path, synthetic_photo(8)), 2)[2].path.parent
    an_hour_ago = time.time() - 3600
    os.utime(first, (an_hour_ago, an_hour_ago))
    second = demo.run(logic.UPSCALE, write(tmp_path, synthetic_photo(8)), 2)[2].path.parent
    assert not first.exists() and second.exists()
