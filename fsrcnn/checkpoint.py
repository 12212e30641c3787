"""A training run's folder: the checkpoint it resumes from and the record of who trained it.

`state.npz` holds the network (raw and averaged weights) and both optimizers' slots; `state.json`
the epochs done, the wall and CPU time, one session per process that trained the run (command,
seed, epochs: what the lineage of a shipped file lists) and the run's settings. `last.keras` is
the averaged network, collapsed: what the run would ship now.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import TrainConfig
from .reparam import collapse

if TYPE_CHECKING:
    from .train import Trainer  # the trainer's weights and optimizers are what a checkpoint holds


class RunState:
    """Everything needed to resume: network weights (raw and averaged), both optimizers' slots, epochs done.

    Kept as one small .npz plus a JSON file, so runs can be committed and resumed anywhere.
    """

    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir)
        self.state_file, self.meta_file = self.dir / "state.npz", self.dir / "state.json"

    def exists(self) -> bool:
        return self.state_file.exists() and self.meta_file.exists()

    def save(self, trainer: Trainer, epoch: int, config: TrainConfig, wall_seconds: float = 0.0,
             sessions: list | None = None):
        self.dir.mkdir(parents=True, exist_ok=True)
        arrays = {f"net/{i}": w for i, w in enumerate(trainer.net.get_weights())}
        for name, opt in (("conv", trainer.conv_optimizer), ("deconv", trainer.deconv_optimizer)):
            arrays.update({f"{name}/{i}": np.asarray(v) for i, v in enumerate(opt.variables)})
        arrays.update({f"average/{i}": a.numpy() for i, a in enumerate(trainer.averages)})
        tmp = self.dir / "state.tmp.npz"
        np.savez(tmp, **arrays)
        tmp.replace(self.state_file)  # atomic: a kill mid-write never leaves a broken checkpoint
        sessions = sessions or []
        cpu = [x.get("cpu_seconds") for x in sessions]
        meta = {"epochs_done": epoch, "wall_seconds": round(wall_seconds, 1),
                "cpu_seconds": round(sum(cpu), 1) if cpu and None not in cpu else None,
                "sessions": sessions, "config": asdict(config)}
        self.meta_file.write_text(json.dumps(meta, indent=2))
        with trainer.averaged_weights() as net:
            collapse(net).save(self.dir / "last.keras")

    def load(self, trainer: Trainer) -> int:
        trainer.build_optimizers()
        with np.load(self.state_file) as z:
            trainer.net.set_weights([z[f"net/{i}"] for i in range(len(trainer.net.get_weights()))])
            for name, opt in (("conv", trainer.conv_optimizer), ("deconv", trainer.deconv_optimizer)):
                for i, v in enumerate(opt.variables):
                    v.assign(z[f"{name}/{i}"])
            for i, (a, v) in enumerate(zip(trainer.averages, trainer.net.trainable_variables, strict=False)):
                # A run started without --ema starts its average at the checkpoint's weights.
                a.assign(z[f"average/{i}"] if f"average/{i}" in z else v.value)
        return self.epochs_done()

    def meta(self) -> dict:
        return json.loads(self.meta_file.read_text()) if self.exists() else {}

    def epochs_done(self) -> int:
        return int(self.meta().get("epochs_done", 0))

    def wall_seconds(self) -> float:
        """Training time of the run so far, over all its sessions (0 for runs made before it was kept)."""
        return float(self.meta().get("wall_seconds", 0.0))

    def sessions(self) -> list[dict]:
        """One entry per process that trained this run: its seed, epochs, wall and CPU seconds (the lineage)."""
        return list(self.meta().get("sessions", []))
