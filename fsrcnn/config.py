"""The settings of a training run, and recipe files that hold them.

A run is described by one `TrainConfig`. `python -m fsrcnn train` makes one option per field
(cli.py reads the fields, so each default lives here only), and `--recipe FILE` reads a TOML
file of fields first (fsrcnn/recipes/*.toml: data, degradations, schedule and seed of a shipped
weight file, so that one command reproduces it). This module imports no TensorFlow, so the
command line stays quick to start.
"""
from dataclasses import dataclass, field, fields
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from .degradations import Chain

PAPER_DOWNSCALES = (1.0, 0.9, 0.8, 0.7, 0.6)  # the paper's extra copies of each training image
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


def _opt(default, help: str, flag: str | None = None):
    """A config field with the help text (and, optionally, the flag) of its `train` option."""
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass
class TrainConfig:
    """Everything a run depends on. `python -m fsrcnn train` takes each field as an option (made
    from this class, so defaults live here only) or from a recipe file (fsrcnn/recipes/*.toml)."""

    data: list[str] = _opt(None, "folder of HR training images (repeatable)")
    scale: int = _opt(None, "upscaling factor")
    run_dir: str = _opt(None, "folder for the checkpoint, log.csv and last.keras (resumable)")
    output: str | None = _opt(None, "also save the final model here (a .keras file)")
    val: str | None = _opt(None, "folder of HR images for a validation PSNR each epoch (e.g. Set5)")
    val_degrade: list[str] = _opt((), "degrade the validation LR images like this (e.g. jpeg75; repeatable: "
                                  "the specs take turns over the images)")
    val_crop: int = _opt(0, "validate on the centre LR crop of this side only (0: whole images)")
    epochs: int = _opt(100, "epochs in the run (the cosine schedule spans them all)")
    steps_per_epoch: int = _opt(500, "batches per epoch")
    batch_size: int = _opt(16, "patches per batch")
    patch: int = _opt(48, "LR patch side; the loss skips its border")
    lr: float = _opt(1e-3, "Adam learning rate of the convolutions")
    deconv_lr: float = _opt(1e-4, "Adam learning rate of the deconvolution")
    final_lr_fraction: float = _opt(0.01, "cosine decay ends at this fraction of the rates")
    d: int = _opt(56, "feature channels")
    s: int = _opt(12, "shrunk channels")
    m: int = _opt(4, "mapping layers")
    prelu_init: float = _opt(0.25, "initial PReLU slope")
    expansion: int = _opt(0, "train each convolution through a k x k conv to this many channels and a 1 x 1 back "
                          "(SESR's collapsible linear block; 0: none); the shipped network is plain FSRCNN")
    edges: bool = _opt(False, "add ECBSR's Sobel-x, Sobel-y and Laplacian branches to the 3x3 and 5x5 convolutions")
    identity: bool = _opt(False, "add an identity branch to the mapping layers (a residual inside each)")
    init_from: str | None = _opt(None, "start from another model's weights (e.g. another scale's)")
    deconv_only_epochs: int = _opt(0, "first train only the deconvolution for this many epochs")
    ema: float = _opt(0.0, "validate, save and ship a moving average of the weights with this decay per step "
                      "(e.g. 0.999); 0: the raw weights")
    downscales: tuple[float, ...] = _opt(PAPER_DOWNSCALES, "also train on copies shrunk by these factors")
    degradations: dict | None = _opt(None, "a degradations.Chain as a table (recipe files only): each epoch "
                                     "degrades the LR images anew with it (blur, noise, JPEG)")
    mirror_edges: bool = _opt(True, "draw patches from inside the images only, without the mirrored margin "
                              "inference adds (reproduces runs made before the margin)", flag="--interior-only")
    jit_compile: bool = _opt(True, "never compile the training step with XLA (by default Keras compiles it where "
                             "TensorFlow sees a GPU, and not on a CPU-only machine, where it costs more: "
                             "benchmarks/train_step.py)", flag="--no-xla")
    seed: int | None = _opt(None, "random seed")

    @property
    def collapsible(self) -> bool:
        """Whether training runs the richer network of fsrcnn/reparam.py (shipped collapsed)."""
        return bool(self.expansion or self.edges or self.identity)

    def chain(self) -> Chain | None:
        return Chain.from_dict(self.degradations) if self.degradations else None


def load_recipe(path: str | Path) -> dict:
    """The settings of a recipe file: a TOML table of TrainConfig fields (see fsrcnn/recipes/)."""
    path = Path(path)
    try:
        values = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"recipe {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"recipe {path} is not valid TOML: {e}") from None
    unknown = set(values) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise ValueError(f"recipe {path}: unknown setting(s) {', '.join(sorted(unknown))}")
    return values
