"""The tile program run by ONNX Runtime: one ONNX graph (onnx_graph.tile_program) with dynamic
height and width, built from the numpy weights, so this path never imports TensorFlow.

On the CPU it is ONNX Runtime's CPU provider; on a GPU ('/GPU:0') its CUDA provider, where the
onnxruntime-gpu package is installed. benchmarks/speed.py compares it with the other engines.
"""
import numpy as np
import onnxruntime as ort

from ..onnx_graph import tile_program
from ..weights import Weights
from . import plan

CUDA = "CUDAExecutionProvider"


def providers(device: str) -> list[str]:
    """ONNX Runtime's providers for a TensorFlow-style device name ('/CPU:0', '/GPU:0')."""
    if "GPU" not in device.upper():
        return ["CPUExecutionProvider"]
    if CUDA not in ort.get_available_providers():
        raise ValueError("the ONNX Runtime engine on a GPU needs onnxruntime-gpu (its CUDA provider), which is not "
                         "installed: pip install onnxruntime-gpu, or use --engine xla")
    return [CUDA, "CPUExecutionProvider"]


class Program:
    """One tile program (see fsrcnn/engines/__init__.py): (1, h, w, c) float32 block in, numpy out.

    `streams` (tiles in flight) needs nothing here: one session serves concurrent calls; `threads`
    bounds the session's intra-op threads (default: every core).
    """

    def __init__(self, weights: Weights, scale: int, tta: bool, kind: str, *, device: str = "/CPU:0",
                 streams: int = 1, threads: int | None = None):
        if weights.scale != scale:
            raise ValueError(f"weights for x{weights.scale}, program for x{scale}")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # no warnings about providers it did not pick
        options.enable_mem_pattern = False  # it plans buffers for one input shape; tiles come in several
        if threads:  # the CPUs this process was given (a Ray actor's), not every core of the machine
            options.intra_op_num_threads = int(threads)
        chosen = providers(device)
        self._session = ort.InferenceSession(tile_program(weights, tta, kind).SerializeToString(), options,
                                             providers=chosen)
        # release_memory: one tiny block, after which the memory arena gives back what it does not hold.
        self._small = np.zeros((1, 8, 8, plan(kind).channels), np.float32)
        self._shrink = ort.RunOptions()
        arenas = "cpu:0;gpu:0" if CUDA in chosen else "cpu:0"
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", arenas)

    def release_memory(self) -> None:
        """Shrink ONNX Runtime's memory arena (which keeps a tile's buffers for the next) to a tiny block's."""
        self._session.run(None, {"block": self._small}, self._shrink)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {"block": np.ascontiguousarray(block, np.float32)})[0][0]
        return out[..., 0] if out.shape[-1] == 1 else out
