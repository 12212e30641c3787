"""The baseline of benchmarks/files.py: OpenCV's dnn_superres FSRCNN, file in, PNG out, as a user writes it.

    python benchmarks/opencv_upscale.py IN_DIR OUT_DIR MODEL.pb SCALE
"""
import sys
from pathlib import Path

import cv2

source, output, model, scale = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sr = cv2.dnn_superres.DnnSuperResImpl_create()
sr.readModel(model)
sr.setModel("fsrcnn", scale)
output.mkdir(parents=True, exist_ok=True)
for path in sorted(Path(source).iterdir()):
    cv2.imwrite(str(output / f"{path.stem}.png"), sr.upsample(cv2.imread(str(path))))
