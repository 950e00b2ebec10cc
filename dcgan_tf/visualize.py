"""Pictures of a run: sample grids, the progress GIF and the loss plot."""

import io
import math

import imageio.v3 as iio
import numpy as np
# A bare Figure draws into files without pyplot, so importing dcgan_tf leaves the user's
# matplotlib backend (a notebook's inline plots, a GUI window) as it was.
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from dcgan_tf import files

MIN_GRID_WIDTH = 256  # Small grids (4x4 MNIST digits = 112 px) are enlarged to this.


def to_uint8(images):
    """float [-1, 1] (tanh range) -> uint8 [0, 255], inverting (x - 127.5) / 127.5."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round(images * 127.5 + 127.5), 0, 255).astype(np.uint8)


def image_grid(images, padding=2, columns=None):
    """Tiles images into a grid, row by row.

    Args:
        images: float [N, H, W, C] in [-1, 1], C in {1, 3}.
        padding: pixels of black border around each image.
        columns: images per row; None = ceil(sqrt(N)), a near-square grid.

    Returns:
        uint8 [rows * (H + padding) + padding, cols * (W + padding) + padding, C],
        enlarged by an integer factor (nearest neighbour, so pixels stay crisp)
        until it is at least MIN_GRID_WIDTH wide.
    """
    images = to_uint8(images)
    count, height, width, channels = images.shape
    cols = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    grid = np.zeros((rows * (height + padding) + padding,
                     cols * (width + padding) + padding, channels), np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // cols) * (height + padding)
        left = padding + (index % cols) * (width + padding)
        grid[top:top + height, left:left + width] = image
    scale = max(1, math.ceil(MIN_GRID_WIDTH / grid.shape[1]))
    return grid.repeat(scale, axis=0).repeat(scale, axis=1)


def side_by_side(real_grid, fake_grid, gap=8, header=16):
    """Two grids from image_grid next to each other, headed "real" and "generated".

    Args:
        real_grid, fake_grid: uint8 [H, W, C] with the same C (heights may differ).

    Returns:
        uint8 [header + max(H), W_real + gap + W_fake, C], on white.
    """
    height = max(real_grid.shape[0], fake_grid.shape[0])
    width = real_grid.shape[1] + gap + fake_grid.shape[1]
    canvas = np.full((header + height, width, real_grid.shape[2]), 255, np.uint8)
    canvas[header:header + real_grid.shape[0], :real_grid.shape[1]] = real_grid
    canvas[header:header + fake_grid.shape[0], real_grid.shape[1] + gap:] = fake_grid
    picture = Image.fromarray(canvas[..., 0] if canvas.shape[2] == 1 else canvas)
    draw = ImageDraw.Draw(picture)
    fill = 0 if canvas.shape[2] == 1 else (0, 0, 0)
    draw.text((2, 2), "real", fill=fill)
    draw.text((real_grid.shape[1] + gap + 2, 2), "generated", fill=fill)
    result = np.asarray(picture)
    return result[..., np.newaxis] if result.ndim == 2 else result


def save_png(path, image):
    """Writes uint8 [H, W, C] (C in {1, 3}) as a PNG, atomically."""
    image = image[..., 0] if image.shape[-1] == 1 else image
    with files.atomic_path(path) as temporary:
        Image.fromarray(image).save(temporary, format="PNG")


def save_gif(path, frames, seconds_per_frame=0.5):
    """Writes uint8 frames [H, W, C] as a looping GIF, atomically."""
    frames = [frame[..., 0] if frame.shape[-1] == 1 else frame for frame in frames]
    with files.atomic_path(path) as temporary:
        iio.imwrite(temporary, np.stack(frames), extension=".gif",
                    duration=int(seconds_per_frame * 1000), loop=0)


def read_png(path):
    """Reads a PNG written by save_png as uint8 [H, W, C]."""
    image = np.asarray(Image.open(path))
    return image[..., np.newaxis] if image.ndim == 2 else image


def plot_losses(path, history, steps_per_epoch):
    """Plots both losses, and D's mean outputs on real and fake images, per step.

    Args:
        path: PNG to write.
        history: dict of equal-length sequences with keys step, generator_loss,
            discriminator_loss, real_score (mean D(x)), fake_score (mean D(G(z))).
        steps_per_epoch: for the epoch axis on top.
    """
    steps = np.asarray(history["step"])
    figure = Figure(figsize=(8, 6))
    loss_axis, score_axis = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    loss_axis.plot(steps, history["generator_loss"], label="generator", linewidth=0.8)
    loss_axis.plot(steps, history["discriminator_loss"], label="discriminator",
                   linewidth=0.8)
    loss_axis.set_ylabel("loss")
    loss_axis.legend()
    score_axis.plot(steps, history["real_score"], label="D(x), real", linewidth=0.8)
    score_axis.plot(steps, history["fake_score"], label="D(G(z)), fake", linewidth=0.8)
    score_axis.axhline(0.5, color="gray", linewidth=0.5, linestyle="--")
    score_axis.set_ylim(0, 1)
    score_axis.set_ylabel("mean D output")
    score_axis.set_xlabel("step")
    score_axis.legend()
    epoch_axis = loss_axis.secondary_xaxis(
        "top", functions=(lambda s: s / steps_per_epoch, lambda e: e * steps_per_epoch))
    epoch_axis.set_xlabel("epoch")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=100, format="png")
    save_palette_png(Image.open(buffer), path)


def save_palette_png(image, path):
    """Writes a PIL image as a 256-colour PNG, atomically: enough colours for plots
    and figures, at about a third of the RGB file's size."""
    with files.atomic_path(path) as temporary:
        image.convert("RGB").quantize(colors=256).save(temporary, format="PNG", optimize=True)
