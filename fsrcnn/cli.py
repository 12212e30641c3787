"""Command line: `python -m fsrcnn {train,evaluate,upscale,export} --help`."""
import argparse
import logging
import os
import shlex
import sys

from .distributed import CPUS_PER_ACTOR  # no Ray: that is imported by --ray only
from .engines import ENGINE_HELP, ENGINES
from .output import DEFAULT_PNG_COMPRESSION
from .upscaler import DEFAULT_TILE  # no TensorFlow: the engines load theirs when they are built

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the console
LOCAL_RAY = "local"  # --ray without an address



def _train(args) -> int:
    from dataclasses import fields

    from .config import TrainConfig, load_recipe
    from .train import train

    values = load_recipe(args.recipe) if args.recipe else {}
    for f in fields(TrainConfig):  # options given on the command line win over the recipe
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    recipe = args.recipe
    if recipe and not os.path.relpath(recipe).startswith(".."):
        recipe = os.path.relpath(recipe)  # lineage.json names recipes from the repository root
    train(TrainConfig(**values), resume=args.resume, recipe=recipe, command=args.command)
    return 0


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, with its help and default from the field itself."""
    from dataclasses import MISSING, fields
    from typing import get_args

    from .config import TrainConfig

    for f in fields(TrainConfig):
        if f.name == "degradations":
            continue  # a table: recipe files only
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        help_text = f.metadata["help"] + ("" if default in (None, (), False) or isinstance(default, bool)
                                          else f" (default: {_show(default)})")
        kind = str(f.type)
        if isinstance(default, bool):  # a flag that turns the default off
            parser.add_argument(flag, dest=f.name, action="store_const", const=not default, help=help_text)
        elif kind.startswith(("list", "tuple")):
            item = float if "float" in kind else str
            nargs = {"action": "append"} if kind.startswith("list") else {"nargs": "+"}
            parser.add_argument(flag, dest=f.name, type=item, help=help_text, **nargs)
        else:
            base = next((t for t in get_args(f.type) if t is not type(None)), f.type)  # int | None -> int
            extra = {"choices": (2, 3, 4)} if f.name == "scale" else {}
            parser.add_argument(flag, dest=f.name, type=base, help=help_text, **extra)


def _show(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _evaluate(args) -> int:
    from .evaluate import Table, evaluate_folder, format_table, write_record
    from .images import list_images
    from .upscaler import Upscaler

    scales = args.scale or [2, 3, 4]
    upscaler = Upscaler(scales, weights_dir=args.weights_dir, device=args.device, engine=args.engine)
    installed = upscaler.bank.installed()
    models = args.model or (list(installed) + ["auto"] if len(installed) > 1 else ["clean"])
    print(f"device: {upscaler.device_name}")
    tables = []
    for spec in args.degrade or [""]:
        for scale in scales:
            for folder in args.data:
                rows = evaluate_folder(upscaler, folder, scale, args.tta, spec, models)
                name, images = os.path.basename(os.path.normpath(folder)), len(list_images(folder))
                print(format_table(name, scale, rows, images, spec) + "\n", flush=True)
                tables.append(Table(name, scale, spec, images, rows))
    if args.record:
        write_record(args.record, args.command, upscaler, tables)
        print(f"recorded in {args.record}")
    return 0


def _upscale(args) -> int:
    from pathlib import Path

    from .files import find_inputs, upscale_files
    from .upscaler import SCALES, Upscaler

    options = _output_options(args)
    if args.scale is None and not options.resizes:
        raise ValueError("give --scale, or --width and/or --height to reach")
    inputs, errors = find_inputs(args.inputs)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    scales = [args.scale] if args.scale else SCALES  # a size to reach: any scale may be the one
    upscaler = Upscaler(scales, weights_dir=args.weights_dir, device=args.device, tile=args.tile,
                        engine=args.engine)
    upscaler.bank.check_request(args.model, args.scale)
    if args.ray is None:
        done = upscale_files(upscaler, inputs, args.output, args.scale, tta=args.tta, model=args.model,
                             options=options)
    else:
        from .distributed import upscale_files_ray

        done = upscale_files_ray(upscaler, inputs, args.output, args.scale, tta=args.tta, model=args.model,
                                 address=None if args.ray == LOCAL_RAY else args.ray,
                                 cpus_per_actor=args.ray_actor_cpus, options=options)
    failures = len(errors) + done.failures
    how = f"x{args.scale}" if args.scale else f"to {args.width or 'auto'}×{args.height or 'auto'}"
    where = upscaler.device_name + (", Ray" if args.ray is not None else "")
    print(f"{len(done.written)} image(s) written to {Path(args.output)} ({how}, {options.name} on {where})"
          + (f", {failures} failed" if failures else ""))
    return 1 if failures else 0


def _export(args) -> int:
    from .export import export, export_all

    if args.all:
        formats = [args.format] if args.format else None
        written = export_all(args.all, args.weights_dir, formats)
    else:
        if not (args.scale and args.format and args.output):
            raise ValueError("export needs --scale, --format and --output (or --all DIR)")
        written = [export(args.scale, args.model, args.format, args.output, args.weights_dir)]
    for path in written:
        print(f"{path} (card: {path}.md)")
    return 0


def _output_options(args):
    """What the written files look like (output.Options, as files.write_job takes them), from the command line."""
    from .output import Options

    return Options(args.format, args.quality, args.png_compression, args.width, args.height)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fsrcnn", description="FSRCNN image super-resolution.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser(
        "train",
        help="train a model on folders of HR images (or from a recipe file)",
        description="Train FSRCNN on folders of high-resolution images. LR inputs are made on the fly with "
        "the standard MATLAB-bicubic degradation (and, from a recipe's [degradations], blur, noise and JPEG). "
        "Checkpoints go to --run-dir after every epoch; --resume continues an interrupted run from there. "
        "--recipe FILE reads the settings from a TOML file (see fsrcnn/recipes/); options given here win.",
    )
    t.add_argument("--recipe", metavar="FILE", help="TOML file of settings, e.g. fsrcnn/recipes/photo_x2.toml")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its last checkpoint")
    _add_config_options(t)
    t.set_defaults(func=_train)

    e = sub.add_parser(
        "evaluate",
        help="PSNR/SSIM of bicubic and FSRCNN on folders of HR images (standard protocol)",
        description="Standard protocol: modcrop, MATLAB-bicubic LR, PSNR and SSIM on Y with a border of "
        "`scale` pixels, averaged over each folder. Prints one table per folder and scale.",
    )
    e.add_argument("--data", action="append", required=True, metavar="DIR", help="folder of HR images (repeatable)")
    e.add_argument("--scale", type=int, action="append", choices=(2, 3, 4), help="repeatable; default: 2, 3 and 4")
    e.add_argument("--tta", action="store_true", help="also report FSRCNN with the geometric self-ensemble")
    e.add_argument("--degrade", action="append", metavar="SPEC",
                   help="after the shrink, degrade each LR image (seeded) and save it as the file a user would have: "
                   "jpegQ (a real JPEG of quality Q), noiseS (Gaussian, sigma S of 0..255, per channel), graynoiseS, "
                   "poissonK, or a chain such as jpeg75+noise3 (left to right); repeatable, one table each")
    e.add_argument("--model", action="append", choices=("clean", "photo", "light", "auto"),
                   help="weights to report (repeatable): one weight file each (light: the light photo model), or "
                   "auto, which chooses per file as upscale does; default: each installed file, and auto")
    e.add_argument("--weights-dir", help="folder with fsrcnn_x{2,3,4}.keras (default: the shipped weights/)")
    e.add_argument("--device", choices=("cpu", "gpu"), help="default: GPU when TensorFlow sees one")
    e.add_argument("--engine", choices=tuple(ENGINES), help=ENGINE_HELP)
    e.add_argument("--record", metavar="FILE.json",
                   help="also write the tables as JSON, with this command and the SHA-256 of each weight file "
                   "(the model card's tables are made from such records: python -m fsrcnn.card)")
    e.set_defaults(func=_evaluate)

    u = sub.add_parser(
        "upscale",
        help="upscale image files or folders of them (PNG, WebP or JPEG; by a scale or to a size)",
        description="Upscale each INPUT (an image file, or a folder of them) and write DIR/<input stem>.png "
        "(.webp, .jpg with --format). With --width and/or --height each file gets the smallest scale that reaches "
        "that size, then a downscale to it (Pillow's LANCZOS, antialiased, with reducing_gap). ICC profiles and "
        "transparency are kept where the format holds them (JPEG has no transparency: such files are refused). "
        "Luma goes through FSRCNN, colour and transparency through bicubic. Unreadable files are reported "
        "and skipped; the exit status is then non-zero.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    u.add_argument("inputs", nargs="+", metavar="INPUT", help="image file or folder of images")
    u.add_argument("--scale", type=int, choices=(2, 3, 4), help="upscaling factor (needed unless --width or --height)")
    u.add_argument("--output", required=True, metavar="DIR", help="output folder (created if missing)")
    u.add_argument("--tta", action="store_true",
                   help="geometric self-ensemble: 8 flips/rotations averaged (slower, better)")
    u.add_argument("--model", choices=("auto", "clean", "photo"), default="auto",
                   help="weights: clean (for clean images), photo (for JPEGs and noisy photos: the light photo "
                   "weights for JPEGs of high quality), or auto: per file, from its JPEG quality, or the trace of a "
                   "decoded JPEG and the noise it shows")
    u.add_argument("--format", choices=("png", "webp", "jpeg"), default="png",
                   help="png (lossless), webp (lossless unless --quality) or jpeg")
    u.add_argument("--quality", type=int, metavar="{1..100}",
                   help="jpeg: quality (default 90); webp: lossy at this quality; not for png")
    u.add_argument("--width", type=int, help="width of the results in pixels (alone: the height keeps the aspect)")
    u.add_argument("--height", type=int, help="height of the results in pixels (alone: the width keeps the aspect)")
    u.add_argument("--tile", type=int, help="tile side in input pixels (bounds memory; result is the same); "
                   f"default: {DEFAULT_TILE['openvino']} with OpenVINO, {DEFAULT_TILE['onnxruntime']} with ONNX "
                   f"Runtime, {DEFAULT_TILE['xla']} with XLA")
    u.add_argument("--png-compression", type=int, choices=range(10), default=DEFAULT_PNG_COMPRESSION, metavar="{0..9}",
                   help="zlib level of the PNGs: higher is smaller and slower; every level is lossless")
    u.add_argument("--weights-dir", help="folder with fsrcnn_x{2,3,4}.keras (default: the shipped weights/)")
    u.add_argument("--device", choices=("cpu", "gpu"), help="default: GPU when TensorFlow sees one, else CPU")
    u.add_argument("--engine", choices=tuple(ENGINES), help=ENGINE_HELP)
    u.add_argument("--ray", nargs="?", const=LOCAL_RAY, metavar="ADDRESS",
                   help="run on Ray Data (pip install \"fsrcnn[ray]\"), on a pool of actors; alone, a "
                   "local Ray on this machine; with ADDRESS (auto, or ray://HOST:10001) a running cluster, whose "
                   "machines must all reach the inputs and DIR at the same paths (docs/batch.md); put it after "
                   "the inputs, or write --ray=ADDRESS")
    u.add_argument("--ray-actor-cpus", type=float, default=CPUS_PER_ACTOR, metavar="N",
                   help="with --ray: CPUs of each actor, which runs the network on that many threads (fewer, larger "
                   "actors hold fewer copies of the engine in memory)")
    u.set_defaults(func=_upscale)

    from .export import FORMATS, MODELS

    x = sub.add_parser(
        "export",
        help="write the weights as ONNX, OpenCV (dnn_superres) or LiteRT files, each with a card",
        description="Write one weight file in a format other stacks read, made from the numpy weights, with a "
        "card FILE.md beside it (input and output contract, colour conversion, scale, SHA-256 of the weights). "
        "Formats: " + "; ".join(f"{name}: {f.summary}" for name, f in FORMATS.items()) + ". docs/export.md "
        "shows how to run each. --all DIR writes every installed weight file in every format (or in --format).",
    )
    x.add_argument("--scale", type=int, choices=(2, 3, 4), help="upscaling factor")
    x.add_argument("--model", choices=MODELS, default="clean", help="weights (default: clean)")
    x.add_argument("--format", choices=tuple(FORMATS), help="file format")
    x.add_argument("--output", metavar="FILE", help="file to write (its card goes to FILE.md)")
    x.add_argument("--all", metavar="DIR", help="write every weight file in every format to DIR instead")
    x.add_argument("--weights-dir", help="folder with the .keras weights (default: the shipped weights/)")
    x.set_defaults(func=_export)
    return parser


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command = "python -m fsrcnn " + shlex.join(argv)  # what training records in its run's lineage
    try:
        return args.func(args)
    except (ValueError, OSError, RuntimeError) as e:
        # Our own errors (ImageError, WeightsError, bad options) carry a message meant for the user, and
        # so do the file system's (an --output that is a file, a folder we may not write to).
        from .distributed import RayUnavailable
        from .images import ImageError
        from .weights import WeightsError

        if isinstance(e, (ImageError, WeightsError, OSError, RayUnavailable)) or type(e) is ValueError:
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
