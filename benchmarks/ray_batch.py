"""`upscale --ray` against the local `upscale` on this machine: throughput apart from start-up.

Both run as whole processes on the same JPEG photos (1024x768, x3), in interleaved rounds. Each
command runs on all the photos and on a few of them: the difference of the two wall times is
the time of the extra photos alone, so

    throughput = (many - few) / (wall(many) - wall(few))      start-up = wall(few) - few / throughput

and start-up holds everything a run pays once (imports, weights, compiling the engine; for --ray
also starting Ray and its actors). Medians over the rounds; ratios against the local command.
Also timed apart: starting and stopping a local Ray alone (fsrcnn.distributed.connect).

    python benchmarks/ray_batch.py [--rounds 2] [--count 48] [--few 8] [--actor-cpus 1 2]

Inputs: crops of ../shared/data/Photos24 and their mirror images (synthetic photos where the data
set is missing), written to a temporary folder. Needs `pip install "fsrcnn[ray]"`.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from files import PHOTOS, ROOT, SIZE, machine_load, synthetic_photo, write_inputs
from PIL import Image


def inputs(count: int) -> list[Image.Image]:
    """`count` distinct 1024x768 photos: the Photos24 crops, then their mirror images, then synthetic ones."""
    crops = []
    if PHOTOS.is_dir():
        for path in sorted(PHOTOS.glob("*.png")):
            with Image.open(path) as im:
                if im.width >= SIZE[0] and im.height >= SIZE[1]:  # the centre, as benchmarks/files.py crops
                    left, top = (im.width - SIZE[0]) // 2, (im.height - SIZE[1]) // 2
                    crops.append(im.convert("RGB").crop((left, top, left + SIZE[0], top + SIZE[1])))
    found = crops + [im.transpose(Image.FLIP_LEFT_RIGHT) for im in crops] + [im.transpose(Image.ROTATE_180)
                                                                            for im in crops]
    return found[:count] + [synthetic_photo(SIZE, seed) for seed in range(count - len(found[:count]))]


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t


def ray_start_stop() -> float:
    code = ("import time; t = time.perf_counter(); from fsrcnn.distributed import connect; "
            "connect().shutdown(); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, default=48, help="photos of the long run")
    parser.add_argument("--few", type=int, default=8, help="photos of the short run")
    parser.add_argument("--scale", type=int, default=3, choices=(2, 3, 4))
    parser.add_argument("--actor-cpus", type=float, nargs="+", default=[1.0],
                        help="--ray-actor-cpus values to measure (each a --ray row)")
    args = parser.parse_args()
    print(f"before: {machine_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = inputs(args.count)
        folders = {"many": write_inputs(tmp / "many", images), "few": write_inputs(tmp / "few", images[: args.few])}
        out = tmp / "out"
        base = [sys.executable, "-m", "fsrcnn", "upscale", "--scale", str(args.scale), "--output", str(out)]
        sides = {"local": []} | {f"--ray, {c:g} CPU(s) per actor": ["--ray", f"--ray-actor-cpus={c:g}"]
                                 for c in args.actor_cpus}
        times = {(side, size): [] for side in sides for size in folders}
        for _ in range(args.rounds):
            for size, folder in folders.items():
                for side, extra in sides.items():
                    shutil.rmtree(out, ignore_errors=True)
                    times[side, size].append(wall([*base[:4], str(folder), *base[4:], *extra]))
        ray_alone = statistics.median(ray_start_stop() for _ in range(args.rounds))
    source = "Photos24 crops and their mirror images" if PHOTOS.is_dir() else "synthetic photos"
    extra = args.count - args.few
    print(f"inputs: {source}, 1024x768 JPEG, x{args.scale}; {args.count} and {args.few} photos per run; medians of "
          f"{args.rounds} interleaved rounds of whole processes on {os.cpu_count()} CPUs\n")
    print(f"| command | {args.count} photos (s) | {args.few} photos (s) | photos/s | throughput / local | "
          "start-up (s) |")
    print("|---|---|---|---|---|---|")
    local_rate = None
    for side in sides:
        many, few = (statistics.median(times[side, size]) for size in ("many", "few"))
        rate = extra / (many - few)
        local_rate = local_rate or rate
        start = few - args.few / rate
        print(f"| {side} | {many:.1f} | {few:.1f} | {rate:.2f} | {rate / local_rate:.2f}x | {start:.1f} |")
    print(f"\nstarting and stopping a local Ray alone: {ray_alone:.1f} s")
    print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
