"""Training throughput: the TF tutorial's loop against dcgan_tf's, in one process.

    python benchmarks/throughput.py                 # the variants below
    python benchmarks/throughput.py --only="dcgan_tf --jit_compile" --reps=5

Both train the tutorial's 28x28 networks (dcgan_tf.models with the `tutorial`
preset: Dense -> 7x7x256 -> Conv2DTranspose..., 2,330,944 + 212,865 parameters)
at the same batch on the bundled 10,000-image MNIST sample.

  reference   the tutorial's loop as it is written: float32 images normalised in
              NumPy, `from_tensor_slices(...).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)`,
              a plain `@tf.function` train_step with two GradientTapes and
              `tf.random.normal` noise, called once per batch from Python.
  dcgan_tf    `dcgan_tf.loop.run`, the loop `train.py` runs (without its
              recorder: no files), with the flags of each variant.

Every variant is warmed up first (tracing, XLA compilation), then timed for
--steps steps per repetition; repetitions are interleaved (each rep runs every
variant, in a rotated order) so that a noisy machine slows all of them alike,
and the ratio to the reference is taken within each rep. The table gives the
median and, in brackets, the range over reps.

FLOPs per training image are counted from the layer shapes (multiply-adds x 2
of every Dense, Conv2D and Conv2DTranspose; BatchNorm and activations are
elementwise and left out): a step runs G forward once, D forward twice (real
and fake), D's backward for both passes and G's backward through D's fake pass,
a backward pass costing about twice its forward: 3 F_G + 7 F_D.
"""

import dataclasses
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from dcgan_tf import cli, config as config_lib, data, devices, doc_blocks, loop, models  # noqa: E402
from dcgan_tf.state import TrainState  # noqa: E402
from quality_report import throughput_text  # noqa: E402  Beside this file.

flags.DEFINE_integer("batch_size", 256, "BATCH_SIZE for every variant (the tutorial's).")
flags.DEFINE_integer("steps", 0, "Timed steps per variant per repetition; 0 = one epoch of "
                     "the sample at --batch_size. dcgan_tf's loop is timed in whole epochs, as "
                     "train.py runs it (a call that starts mid-epoch would also pay for "
                     "skipping the batches already seen): with --steps it trains on the "
                     "first steps x batch_size images, so that an epoch is --steps steps.")
flags.DEFINE_integer("reps", 3, "Interleaved repetitions.")
flags.DEFINE_integer("warmup", 3, "Untimed steps per variant before the first repetition.")
flags.DEFINE_list("only", [], "Run only these variants (names from the table); the "
                  "reference always runs.")
flags.DEFINE_float("peak_gflops", 0.0, "The device's peak float32 GFLOP/s for the "
                   "fraction-of-peak column; 0 = estimate it for a CPU from /proc/cpuinfo.")
flags.DEFINE_string("save", "", "Store the table as benchmarks/results/throughput/NAME.json, "
                    "which --report puts into docs/performance.md.")
flags.DEFINE_bool("report", False, "Fill docs/performance.md's measured block from the stored "
                  "tables, and train nothing.")
FLAGS = flags.FLAGS

RESULTS = os.path.join(REPO, "benchmarks", "results", "throughput")
BUFFER_SIZE = 60000  # The tutorial's: larger than the sample, so a full shuffle.


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict  # Config settings on top of the preset.
    preset: str = "tutorial"  # The networks: the tutorial's, or "dcgan" (the defaults').


VARIANTS = (
    Variant("dcgan_tf --nojit_compile", dict(jit_compile=False)),
    Variant("dcgan_tf --jit_compile", dict(jit_compile=True)),
    Variant("dcgan_tf --steps_per_call=10", dict(steps_per_call=10, jit_compile=False)),
    Variant("dcgan_tf --precision=mixed_bfloat16", dict(precision="mixed_bfloat16",
                                                        jit_compile=True)),
    Variant("dcgan_tf --precision=mixed_float16", dict(precision="mixed_float16",
                                                       jit_compile=True)),
    # bfloat16 through oneDNN, without XLA: on CPUs with AMX (or AVX512-BF16) oneDNN
    # runs the matrix math on those units.
    Variant("dcgan_tf --precision=mixed_bfloat16 --nojit_compile",
            dict(precision="mixed_bfloat16", jit_compile=False)),
    # Class-conditional: the label's cost per step (docs/conditional.md).
    Variant("dcgan_tf --conditional", dict(conditional=True, jit_compile=False)),
    # train.py's default networks (resize-convolution, Dropout 0.1), plain and conditional,
    # in float32, and in bfloat16 (what --precision=auto picks on CPUs with AMX).
    Variant("dcgan_tf defaults", dict(jit_compile=False, precision="float32"), preset="dcgan"),
    Variant("dcgan_tf defaults --conditional",
            dict(conditional=True, jit_compile=False, precision="float32"), preset="dcgan"),
    Variant("dcgan_tf defaults --precision=mixed_bfloat16",
            dict(jit_compile=False, precision="mixed_bfloat16"), preset="dcgan"),
)
# 16-bit math is emulated on CPUs without native support, and slow: these run on
# a CPU only when --only names them, or (bfloat16 without XLA) when the CPU has
# bfloat16 units.
GPU_ONLY = ("dcgan_tf --precision=mixed_bfloat16", "dcgan_tf --precision=mixed_float16")
BFLOAT16_UNITS = ("dcgan_tf --precision=mixed_bfloat16 --nojit_compile",
                  "dcgan_tf defaults --precision=mixed_bfloat16")
# Intel's figure for AMX on 4th-generation Xeon (Sapphire Rapids): 1,024 bfloat16
# operations per cycle per core, against 2,048 INT8 (as cited in Wikipedia's
# "Advanced Matrix Extensions"), counted here as FLOPs, as the float32 peak counts
# an FMA as two.
AMX_BF16_FLOPS_PER_CYCLE = 1024


class ReferenceLoop:
    """The tutorial's training loop (its code structure, our model builders)."""

    name = "reference"

    def __init__(self, images, config):
        self.generator = models.build_generator(config)
        self.discriminator = models.build_discriminator(config)
        cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        generator_optimizer = keras.optimizers.Adam(1e-4)
        discriminator_optimizer = keras.optimizers.Adam(1e-4)
        batch_size, noise_dim = config.batch_size, config.noise_dim
        generator, discriminator = self.generator, self.discriminator

        @tf.function
        def train_step(images):
            noise = tf.random.normal([batch_size, noise_dim])
            with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
                generated_images = generator(noise, training=True)
                real_output = discriminator(images, training=True)
                fake_output = discriminator(generated_images, training=True)
                gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
                disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                             + cross_entropy(tf.zeros_like(fake_output), fake_output))
            gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
            gradients_of_discriminator = disc_tape.gradient(
                disc_loss, discriminator.trainable_variables)
            generator_optimizer.apply_gradients(
                zip(gradients_of_generator, generator.trainable_variables))
            discriminator_optimizer.apply_gradients(
                zip(gradients_of_discriminator, discriminator.trainable_variables))
            return gen_loss

        train_images = (images.astype("float32") - 127.5) / 127.5
        dataset = (tf.data.Dataset.from_tensor_slices(train_images)
                   .shuffle(BUFFER_SIZE).batch(batch_size))
        self.train_step = train_step
        self.batches = iter(dataset.repeat())  # The tutorial loops over epochs instead.

    def run(self, steps):
        """Trains `steps` batches; returns the images they held."""
        images = 0
        for _ in range(steps):
            batch = next(self.batches)
            images += int(batch.shape[0])  # Static: the last batch of an epoch is short.
            loss = self.train_step(batch)
        float(loss)  # Waits for the device.
        return images


class DcganTfLoop:
    """dcgan_tf's own loop (`dcgan_tf.loop.run`, what train.py runs) with one
    variant's settings, continuing across calls as a resumed run would."""

    def __init__(self, images, labels, config, name):
        self.name = name
        self.config = config
        self.images = tf.convert_to_tensor(images)
        self.labels = labels if config.conditional else None
        self.state = TrainState.create(config)
        self.train_steps = loop.build_train_steps(config, self.state)

    def run(self, steps):
        epoch = int(self.images.shape[0]) // self.config.batch_size
        steps = -(-steps // epoch) * epoch  # Whole epochs.
        until = int(self.state.step) + steps
        loop.run(self.state, self.config, self.images, until, train_steps=self.train_steps,
                 show_progress=False, labels=self.labels)  # Reads every metric back.
        return steps * self.config.batch_size


def layer_flops(model):
    """(layer name, output shape, forward FLOPs per image) for each Dense/Conv layer."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            inputs, units = layer.kernel.shape
            flops = 2 * inputs * units
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            height, width = layer.input.shape[1:3]  # Each input pixel scatters k*k*Cout.
            flops = 2 * height * width * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]  # Each output pixel gathers k*k*Cin.
            flops = 2 * height * width * int(np.prod(layer.kernel.shape))
        else:
            continue
        rows.append((layer.name, tuple(layer.output.shape[1:]), flops))
    return rows


def cpu_peak_gflops():
    """cores x clock x float32 FLOPs per cycle (two FMA units: 32 with AVX2, 64 with
    AVX-512), from /proc/cpuinfo; (value, how it was computed)."""
    with open("/proc/cpuinfo") as f:
        text = f.read()
    flags_line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    megahertz = float(next(line.split(":")[1] for line in text.splitlines()
                           if line.startswith("cpu MHz")))
    per_cycle = 64 if " avx512f" in flags_line else 32 if " fma" in flags_line else 8
    cores = len(os.sched_getaffinity(0))
    return (cores * megahertz / 1000 * per_cycle,
            f"{cores} cores x {megahertz / 1000:.2f} GHz x {per_cycle} FLOP/cycle")


def describe_device():
    if tf.config.list_physical_devices("GPU"):
        return devices.describe()
    return f"CPU: {devices.cpu_name(len(os.sched_getaffinity(0)))}"


def print_flops_table(config, show_layers=True, title="the tutorial's networks"):
    if show_layers:
        print(f"FLOPs per training image of {title}, from the layer shapes:\n")
        print("| network | layer | output | forward MFLOP |\n| --- | --- | --- | ---: |")
    totals = {}
    for name, model in (("G", models.build_generator(config)),
                        ("D", models.build_discriminator(config))):
        rows = layer_flops(model)
        for layer, shape, flops in rows if show_layers else ():
            print(f"| {name} | {layer} | {shape} | {flops / 1e6:.2f} |")
        totals[name] = sum(flops for _, _, flops in rows)
    per_image = 3 * totals["G"] + 7 * totals["D"]
    print(f"{'' if show_layers else title + ': '}F_G = {totals['G'] / 1e6:.1f} MFLOP, F_D = "
          f"{totals['D'] / 1e6:.1f} MFLOP; a training step costs 3 F_G + 7 F_D = "
          f"{per_image / 1e9:.3f} GFLOP per image.\n")
    return per_image


def main():
    if FLAGS.report:
        report()
        return
    config = config_lib.preset("tutorial", image_size=28, channels=1,
                               batch_size=FLAGS.batch_size)
    bundled = data.read_local_copy(data.BUNDLED_MNIST_DIR, labelled=True)
    images = bundled.images
    print(f"# Throughput, {datetime.date.today()}\n\nDevice: {describe_device()}. "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python "
          f"{platform.python_version()}.\nCommand: python benchmarks/throughput.py "
          f"{' '.join(sys.argv[1:])}\nBatch {FLAGS.batch_size}, {len(images)} MNIST images, "
          f"{FLAGS.steps or 'one epoch of'} timed steps x {FLAGS.reps} interleaved reps after "
          f"{FLAGS.warmup} "
          "warm-up steps.\n")
    flops_per_image = {"reference": print_flops_table(config)}
    if FLAGS.peak_gflops:
        peak, peak_source = FLAGS.peak_gflops, "--peak_gflops"
    elif tf.config.list_physical_devices("GPU"):
        peak, peak_source = None, "unknown for a GPU: pass --peak_gflops"
    else:
        peak, peak_source = cpu_peak_gflops()
    print(f"Peak: {f'{peak:.0f} GFLOP/s' if peak else 'not known'} ({peak_source}).")
    peaks = {"reference": peak}
    bfloat16_units = not tf.config.list_physical_devices("GPU") and devices.has_bfloat16_units()
    bfloat16_peak = None
    if bfloat16_units and not FLAGS.peak_gflops:
        cores = len(os.sched_getaffinity(0))
        megahertz = peak / cores / (64 if "64 FLOP" in peak_source else 32) * 1000
        bfloat16_peak = cores * megahertz / 1000 * AMX_BF16_FLOPS_PER_CYCLE
        print(f"bfloat16 peak on AMX: {bfloat16_peak:.0f} GFLOP/s ({cores} cores x "
              f"{megahertz / 1000:.2f} GHz x {AMX_BF16_FLOPS_PER_CYCLE} FLOP/cycle).")
    print()

    tf.get_logger().setLevel("ERROR")  # Each variant traces its own loop: not a retrace.
    keras.utils.set_random_seed(0)
    loops = [ReferenceLoop(images, config)]
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    for variant in VARIANTS:
        wanted = (variant.name in FLAGS.only if FLAGS.only else
                  on_gpu or variant.name not in GPU_ONLY
                  and (variant.name not in BFLOAT16_UNITS or bfloat16_units))
        if wanted:
            keras.utils.set_random_seed(0)
            variant_config = data.resolve(config_lib.preset(
                variant.preset, image_size=28, channels=1, batch_size=FLAGS.batch_size,
                **variant.overrides))
            flops_per_image[variant.name] = (
                flops_per_image["reference"] if variant.preset == "tutorial"
                and not variant_config.conditional
                else print_flops_table(variant_config, show_layers=False, title=variant.name))
            peaks[variant.name] = (bfloat16_peak if "bfloat16" in variant.name
                                   and bfloat16_peak else peak)
            # With --steps, an epoch of dcgan_tf's loop is that many steps (the first
            # images of the sample), so the timed calls are whole epochs.
            count = FLAGS.steps * FLAGS.batch_size if FLAGS.steps else len(images)
            loops.append(DcganTfLoop(images[:count], bundled.labels[:count], variant_config,
                                     variant.name))
    steps = FLAGS.steps or len(images) // FLAGS.batch_size
    for variant_loop in loops:
        start = time.perf_counter()
        variant_loop.run(FLAGS.warmup)  # dcgan_tf's loop warms up for one whole epoch.
        print(f"warm-up {variant_loop.name}: {time.perf_counter() - start:.1f} s", flush=True)
    rates = {variant_loop.name: [] for variant_loop in loops}
    for rep in range(FLAGS.reps):
        order = loops[rep % len(loops):] + loops[:rep % len(loops)]
        for variant_loop in order:
            start = time.perf_counter()
            count = variant_loop.run(steps)
            rates[variant_loop.name].append(count / (time.perf_counter() - start))
        print(f"rep {rep + 1}/{FLAGS.reps}: " + ", ".join(
            f"{name} {values[-1]:.0f}" for name, values in rates.items()) + " images/s",
            flush=True)
    table = print_results(rates, flops_per_image, peaks)
    if FLAGS.save:
        save(FLAGS.save, table, peaks)


def print_results(rates, flops_per_image, peaks):
    """Prints and returns the table: each variant's images/s, its ratio to the
    reference, and its GFLOP/s as a fraction of the peak of the units it runs on
    (bfloat16 variants: AMX's, where the CPU has it)."""
    reference = rates["reference"]
    lines = ["| loop | images/s | vs reference | GFLOP/s | of peak |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, values in rates.items():
        ratios = [value / base for value, base in zip(values, reference)]
        median = statistics.median(values)
        gflops = median * flops_per_image[name] / 1e9
        peak = peaks[name]
        lines.append(f"| {name} | {median:.0f} ({min(values):.0f}-{max(values):.0f}) | "
                     f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-"
                     f"{max(ratios):.2f}) | {gflops:.1f} | "
                     f"{f'{gflops / peak:.1%}' if peak else 'n/a'} |")
    print("\n" + "\n".join(lines))
    return "\n".join(lines)


def save(name, table, peaks):
    """Stores one run's table and how it was made under RESULTS/<name>.json."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(dict(date=str(datetime.date.today()), device=describe_device(),
                       load=round(os.getloadavg()[0], 1), batch_size=FLAGS.batch_size,
                       command=shlex.join(["python", "benchmarks/throughput.py"] + [
                           arg for arg in sys.argv[1:] if not arg.startswith("--save")]),
                       peaks=sorted({round(peak) for peak in peaks.values() if peak}),
                       table=table), f, indent=1, ensure_ascii=False)


def report():
    """Fills docs/performance.md's block from every stored run (quality_report.py
    writes the text, which tests/test_quality_report.py checks against the page)."""
    text = throughput_text(RESULTS)
    doc_blocks.fill_block(os.path.join(REPO, "docs", "performance.md"), "measured", text,
                          tool="throughput.py")
    print(text)


if __name__ == "__main__":
    cli.run(main, FLAGS)
