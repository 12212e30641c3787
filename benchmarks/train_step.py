"""Cost of one training step of each recipe, with the step compiled by XLA and without (TensorFlow's
own kernels), in CPU seconds of this process, so that other work on the machine does not enter it.

    python benchmarks/train_step.py [--recipes clean_x2 photo_x2] [--steps 200]

Each recipe's network, batch and patch size, on fixed random batches; the weights it would start
from are not needed for timing. The ratio column is XLA's CPU time over the other's, measured in
this run: it is what chose the training default (Keras's jit_compile="auto": XLA where TensorFlow
sees a GPU, none on a CPU-only machine).
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fsrcnn.config import TrainConfig, load_recipe  # noqa: E402
from fsrcnn.train import make_trainer  # noqa: E402

RECIPES = ROOT / "fsrcnn" / "recipes"


def step_seconds(recipe: Path, xla: bool, steps: int) -> float:
    """CPU seconds per training step of `recipe`'s network, after a warm-up that compiles it."""
    values = {k: v for k, v in load_recipe(recipe).items() if k not in ("init_from", "degradations")}
    config = TrainConfig(**values)
    trainer = make_trainer(config)
    trainer.compile(jit_compile=xla)
    rng = np.random.default_rng(0)
    b, p, s = config.batch_size, config.patch, config.scale
    batch = (rng.random((b, p, p, 1), dtype=np.float32), rng.random((b, p * s, p * s, 1), dtype=np.float32))
    data = tf.data.Dataset.from_tensors(batch).repeat()
    trainer.fit(data, steps_per_epoch=20, epochs=1, verbose=0, shuffle=False)
    start = time.process_time()
    trainer.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return (time.process_time() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=sorted(p.stem for p in RECIPES.glob("*.toml")))
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"{'recipe':<16} {'XLA ms':>8} {'no XLA ms':>10} {'XLA / no XLA':>13}")
    for name in args.recipes:
        with_xla, without = (step_seconds(RECIPES / f"{name}.toml", x, args.steps) for x in (True, False))
        print(f"{name:<16} {with_xla * 1e3:8.1f} {without * 1e3:10.1f} {with_xla / without:13.2f}")


if __name__ == "__main__":
    main()
