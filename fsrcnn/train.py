"""Training: MSE on the patch interior, two Adam learning rates, validation, resumable checkpoints.

Two learning rates, as in the paper and the seed design (1e-3 for the convolutions, 1e-4 for the
deconvolution), used tensorflow-addons' MultiOptimizer; that package is dead and does not import
with Keras 3, so `Trainer.train_step` applies two plain Keras optimizers, each to its own variables.

Borders: a 'same' convolution sees zero padding within `receptive_radius` LR pixels of a patch
edge, which never happens in a real photo. The loss is therefore taken only on the patch
interior, and inference pads photos by reflection (upscaler.py), so the network is trained and
used on image content alone (and tiles join seamlessly). The training images are mirrored by
the same margin (data.PatchSampler), so the pixels next to an image's edge are learnt too, from
the mirrored context inference gives them.

Weight averaging (--ema): at the end of a run the raw weights still move the validation PSNR by
0.01 to 0.03 dB from one epoch to the next; an exponential moving average of the weights smooths
that noise out, so the average is what gets validated, saved as last.keras and shipped.
"""
import contextlib
import logging
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .checkpoint import RunState
from .config import TrainConfig
from .data import PatchSampler, load_pairs, make_pair, redegrade
from .degradations import apply_spec
from .images import list_images, read_rgb_or_gray
from .imresize import imresize
from .lineage import LINEAGE, entry, record
from .metrics import luma
from .model import DECONV_NAME, build_fsrcnn, luma_forward, receptive_radius, subpixel_kernel
from .reparam import CollapsibleConv2D, build_collapsible, collapse, start_from
from .weights import load_model, sha256

log = logging.getLogger(__name__)


class Trainer(keras.Model):
    """Wraps an FSRCNN for `fit`: interior MSE loss and one optimizer per group of variables."""

    def __init__(self, net: keras.Model, scale: int, margin: int, conv_optimizer, deconv_optimizer,
                 ema: float = 0.0):
        super().__init__()
        self.net, self.scale, self.crop = net, scale, margin * scale
        self.conv_optimizer, self.deconv_optimizer = conv_optimizer, deconv_optimizer
        self.train_body = True  # False: only the deconvolution learns (transfer between scales)
        # The weights' moving average (decay `ema` per step); none when ema == 0. Replicas hold
        # equal weights, so the first one's average is everyone's.
        self.ema = ema
        self.averages = [
            keras.Variable(v.numpy(), trainable=False, aggregation="only_first_replica", name=f"average_{i}")
            for i, v in enumerate(net.trainable_variables)
        ] if ema else []
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.psnr_tracker = keras.metrics.Mean(name="psnr")

    def call(self, x, training=False):
        return self.net(x, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker, self.psnr_tracker]

    def variable_groups(self):
        deconv = self.net.get_layer(DECONV_NAME).trainable_variables
        ids = {id(v) for v in deconv}
        return [v for v in self.net.trainable_variables if id(v) not in ids], deconv

    def build_optimizers(self):
        conv_vars, deconv_vars = self.variable_groups()
        self.conv_optimizer.build(conv_vars)
        self.deconv_optimizer.build(deconv_vars)

    def interior(self, lr):
        """The network's output on the patch interior only, where it sees no padding.

        Equal to running the 'same'-padded network and cropping `margin` LR pixels, but the
        convolutions run 'valid', so no time goes into pixels the loss would throw away, and the
        deconvolution runs in its sub-pixel form (model.subpixel_kernel).
        """
        x = lr
        for layer in self.net.layers[1:]:
            if isinstance(layer, keras.layers.Conv2DTranspose):
                # The sub-pixel form's 'valid' conv crops exactly the LR pixels that still
                # reach padding, and costs 1/r**2 of the transposed convolution's multiplies.
                kernel = subpixel_kernel(layer.kernel.value, self.scale)
                phases = tf.nn.conv2d(x, kernel, 1, "VALID")
                return tf.nn.depth_to_space(phases, self.scale) + layer.bias.value
            if isinstance(layer, CollapsibleConv2D):
                kernel, bias = layer.kernel_and_bias()  # recomputed from the branches each step
                x = tf.nn.conv2d(x, kernel, 1, "VALID") + bias
            elif isinstance(layer, keras.layers.Conv2D):
                x = tf.nn.conv2d(x, layer.kernel.value, 1, "VALID") + layer.bias.value
            else:
                x = layer(x)
        raise ValueError("not an FSRCNN: no deconvolution layer")

    def train_step(self, data):
        lr, hr = data
        conv_vars, deconv_vars = self.variable_groups()
        c = self.crop
        with tf.GradientTape() as tape:
            sr = self.interior(lr)
            mse = tf.reduce_mean(tf.square(sr - hr[:, c:-c, c:-c]))
            # Optimizers sum gradients over replicas, so each replica contributes its share.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            loss = mse / replicas
        grads = tape.gradient(loss, conv_vars + deconv_vars)
        if self.train_body:
            self.conv_optimizer.apply_gradients(zip(grads[: len(conv_vars)], conv_vars, strict=True))
        self.deconv_optimizer.apply_gradients(zip(grads[len(conv_vars) :], deconv_vars, strict=True))
        for v, a in zip(self.net.trainable_variables, self.averages, strict=False):  # no averages without --ema
            a.assign(self.ema * a + (1.0 - self.ema) * v)
        self.loss_tracker.update_state(mse)
        self.psnr_tracker.update_state(-10.0 * tf.math.log(mse) / math.log(10.0))
        return {"loss": self.loss_tracker.result(), "psnr": self.psnr_tracker.result()}

    @contextlib.contextmanager
    def averaged_weights(self):
        """The network with its averaged weights in place, raw ones restored after (as is without --ema)."""
        if not self.averages:
            yield self.net
            return
        raw = [np.array(v) for v in self.net.trainable_variables]  # a copy: .numpy() may share memory
        self.use_averages()
        try:
            yield self.net
        finally:
            for v, r in zip(self.net.trainable_variables, raw, strict=True):
                v.assign(r)

    def use_averages(self):
        for v, a in zip(self.net.trainable_variables, self.averages, strict=False):
            v.assign(a.value)


def shipped_weights(run_dir: str | Path) -> list[np.ndarray]:
    """The plain FSRCNN arrays a run's checkpoint ships: its averaged weights, collapsed (what --output saves)."""
    run = RunState(Path(run_dir))
    trainer = make_trainer(replace(TrainConfig(**run.meta()["config"]), init_from=None))
    run.load(trainer)
    trainer.use_averages()
    return [np.asarray(w) for w in collapse(trainer.net).get_weights()]


class Validate(keras.callbacks.Callback):
    """PSNR on Y (border = scale) of the network and of bicubic on a validation folder, each epoch.

    With `degrade` specs (e.g. ["jpeg75", "noise5"]), image i's LR input is degraded by spec
    i mod len(specs), seeded by i, so every epoch sees the same inputs; `crop` keeps the centre
    crop x crop LR pixels of each image (cut from the HR image before the shrink, as a smaller
    photo would be), which makes validating on large photos cheap.
    """

    def __init__(self, folder: str, scale: int, degrade=(), crop: int = 0):
        super().__init__()
        self.scale, self.pairs = scale, []
        for i, path in enumerate(list_images(folder)):
            hr = read_rgb_or_gray(path)
            if crop:
                side = crop * scale
                y, x = max(0, (hr.shape[0] - side) // 2), max(0, (hr.shape[1] - side) // 2)
                hr = hr[y : y + side, x : x + side]
            pair = make_pair(hr, scale, path.name, keep_image=bool(degrade))
            if degrade:
                pair.lr = luma(apply_spec(pair.lr_image, degrade[i % len(degrade)], seed=i)) / 255.0
            self.pairs.append(pair)
        self.bicubic = float(np.mean([self._psnr(p.hr, imresize(p.lr, scale)) for p in self.pairs]))

    def _psnr(self, hr, sr):
        b = self.scale
        sr = np.clip(sr, 16 / 255, 235 / 255)  # what a rounded, clipped RGB output can hold
        err = (hr - sr)[b:-b, b:-b]
        return 10 * math.log10(1.0 / float(np.mean(err * err)))

    def on_epoch_end(self, epoch, logs=None):
        with self.model.averaged_weights() as net:
            net = collapse(net)
            psnr = float(np.mean([self._psnr(p.hr, luma_forward(net, p.lr, self.scale)) for p in self.pairs]))
        if logs is not None:
            logs["val_psnr"], logs["val_gain"] = psnr, psnr - self.bicubic
        print(f" - val_psnr {psnr:.3f} dB (bicubic {self.bicubic:.3f}, gain {psnr - self.bicubic:+.3f})", flush=True)


class Redegrade(keras.callbacks.Callback):
    """Degrade the training LR images anew before each epoch (a fresh draw of the chain).

    Each epoch's draw is seeded by the epoch, so a resumed run sees what an uninterrupted one
    would, and the next epoch's draw is made on a thread while this epoch trains (JPEG coding
    and numpy release the GIL), so the model does not wait for it.
    """

    def __init__(self, sampler: PatchSampler, pairs, chain, seed: int | None):
        super().__init__()
        self.sampler, self.pairs, self.chain, self.seed = sampler, pairs, chain, seed
        self.pool, self.next = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redegrade"), {}

    def _draw(self, epoch: int):
        t0 = time.perf_counter()
        pairs = redegrade(self.pairs, self.chain, np.random.default_rng([self.seed or 0, epoch]))
        return pairs, time.perf_counter() - t0

    def on_epoch_begin(self, epoch, logs=None):
        waited = time.perf_counter()
        pairs, took = (self.next.pop(epoch) if epoch in self.next else self.pool.submit(self._draw, epoch)).result()
        self.sampler.replace_lr(pairs)
        log.info("epoch %d: training images degraded anew (%.1fs of work, %.1fs waited for)",
                 epoch + 1, took, time.perf_counter() - waited)
        self.next = {epoch + 1: self.pool.submit(self._draw, epoch + 1)}

    def on_train_end(self, logs=None):
        for future in self.next.values():  # a phase may follow (deconv_only_epochs): keep the pool
            future.cancel()
        self.next = {}


class SaveState(keras.callbacks.Callback):
    """Checkpoint after every epoch, with this process's session appended to the run's record."""

    def __init__(self, state: RunState, config: TrainConfig, command: str | None = None):
        super().__init__()
        self.state, self.config, self.command = state, config, command
        self.previous, self.started = state.wall_seconds(), time.time()
        self.sessions, self.first_epoch = state.sessions(), state.epochs_done()
        self.cpu_started = time.process_time()  # all of this process's threads
        # The file a new run starts from, as it is now: the lineage names this one, even if
        # the file is replaced before the run ends.
        init = config.init_from if self.first_epoch == 0 else None
        self.started_from = {"init_from_sha256": sha256(init)} if init else {}

    def on_epoch_end(self, epoch, logs=None):
        wall = time.time() - self.started
        this = {"command": self.command, "seed": self.config.seed, "first_epoch": self.first_epoch,
                "epochs_done": epoch + 1, **self.started_from,
                "wall_seconds": round(wall, 1), "cpu_seconds": round(time.process_time() - self.cpu_started, 1)}
        self.state.save(self.model, epoch + 1, self.config, self.previous + wall, self.sessions + [this])


def make_trainer(config: TrainConfig) -> Trainer:
    if config.collapsible:
        net = build_collapsible(config.scale, config.d, config.s, config.m, config.prelu_init,
                                config.expansion, config.edges, config.identity)
    else:
        net = build_fsrcnn(config.scale, config.d, config.s, config.m, config.prelu_init)
    if config.init_from:
        # Every weight, the deconvolution's included, has the same shape at every scale.
        source = load_model(config.init_from)
        if config.collapsible:
            start_from(net, source)
        else:
            net.set_weights(source.get_weights())
    total = config.epochs * config.steps_per_epoch

    def schedule(lr):
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total, alpha=config.final_lr_fraction)

    trainer = Trainer(
        net,
        config.scale,
        receptive_radius(config.scale, config.m),
        keras.optimizers.Adam(schedule(config.lr)),
        keras.optimizers.Adam(schedule(config.deconv_lr)),
        config.ema,
    )
    return trainer


def train(config: TrainConfig, resume: bool = False, recipe: str | None = None, command: str | None = None) -> Trainer:
    """Train (or resume) a run in `config.run_dir`; returns the trainer with the final weights.

    `command` (as typed) is recorded with each session, and `recipe` with the output in the
    lineage.json beside it (fsrcnn/lineage.py).
    """
    missing = [name for name in ("data", "scale", "run_dir") if not getattr(config, name)]
    if missing:
        raise ValueError(f"training needs {', '.join(missing)} (as options or in the recipe)")
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    run = RunState(Path(config.run_dir))
    if run.exists() and not resume:
        raise FileExistsError(f"{run.dir} already holds a run: pass --resume to continue it, or pick another --run-dir")

    t0 = time.time()
    chain = config.chain()
    pairs = load_pairs(config.data, config.scale, config.downscales, chain, config.seed)
    edge = receptive_radius(config.scale, config.m) if config.mirror_edges else 0
    # A resumed run draws a fresh patch stream that still follows from the recipe's seed (and the epoch
    # it resumes at), so resuming never needs a new --seed and never replays the patches it saw.
    first = run.epochs_done() if resume else 0
    patch_seed = None if config.seed is None else [config.seed, first]
    sampler = PatchSampler(pairs, config.scale, config.patch, config.batch_size, patch_seed, edge)
    log.info("%d training images (with shrunk copies) ready in %.1fs", len(sampler), time.time() - t0)

    gpus = tf.config.list_logical_devices("GPU")
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    with strategy.scope():
        trainer = make_trainer(config)
        trainer.compile(jit_compile="auto" if config.jit_compile else False)
        # Every slot of both optimizers exists from the start, so that a checkpoint taken while only
        # the deconvolution learns (a transfer's first epochs) still holds the body's, to resume from.
        trainer.build_optimizers()
        done = run.load(trainer) if resume and run.exists() else 0
    if done:
        print(f"resuming {run.dir} after epoch {done}/{config.epochs}", flush=True)

    callbacks = [SaveState(run, config, command), keras.callbacks.CSVLogger(str(run.dir / "log.csv"), append=True)]
    if config.val:
        callbacks.insert(0, Validate(config.val, config.scale, list(config.val_degrade), config.val_crop))
    if chain:
        callbacks.insert(0, Redegrade(sampler, pairs, chain, config.seed))
    run.dir.mkdir(parents=True, exist_ok=True)
    dataset = sampler.dataset()
    phases = [(0, config.deconv_only_epochs, False), (config.deconv_only_epochs, config.epochs, True)]
    for start, end, body in phases:
        if end <= max(start, done):
            continue
        trainer.train_body = body
        trainer.train_function = None  # retrace for the phase's set of trained variables
        if not body:
            print(f"epochs {start + 1}-{end}: only the deconvolution learns", flush=True)
        trainer.fit(
            dataset,
            epochs=end,
            initial_epoch=max(start, done),
            steps_per_epoch=config.steps_per_epoch,
            shuffle=False,  # the dataset draws random patches itself (Keras would warn that it ignores shuffle)
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,  # one line per epoch in log files
        )
    trainer.use_averages()
    if config.output:
        Path(config.output).parent.mkdir(parents=True, exist_ok=True)
        collapse(trainer.net).save(config.output)
        record(config.output, entry(config.output, run.meta(), recipe))
        print(f"saved {config.output} (its lineage: {Path(config.output).parent / LINEAGE})", flush=True)
    return trainer
