"""Tests for dcgan_tf.readers: IDX, .npz, CIFAR-10 batches and image folders."""

import logging
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from dcgan_tf import readers
from dcgan_tf.readers import DataError

# --- IDX -------------------------------------------------------------------------------


def _random_images(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_images_round_trip_returns_exact_pixels(tmp_path, write_idx_images, name):
    images = _random_images((5, 7, 6))
    path = write_idx_images(str(tmp_path / name), images)

    read = readers.read_idx_images(path)

    assert read.dtype == np.uint8
    assert read.shape == (5, 7, 6, 1)
    np.testing.assert_array_equal(read[..., 0], images)


def test_read_idx_images_accepts_pathlib_path(tmp_path, write_idx_images):
    path = write_idx_images(tmp_path / "images-idx3-ubyte.gz", _random_images((2, 4, 4)))

    assert readers.read_idx_images(path).shape == (2, 4, 4, 1)


def test_read_idx_images_wrong_magic_raises_data_error_naming_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">II", 0x00000801, 3) + bytes(3 * 16))

    with pytest.raises(DataError, match="not an IDX image file") as raised:
        readers.read_idx_images(str(path))

    assert str(path) in str(raised.value)
    assert "0x00000801" in str(raised.value)


def test_read_idx_images_truncated_raises_data_error_naming_file(tmp_path, write_idx_images):
    path = write_idx_images(str(tmp_path / "images-idx3-ubyte"), _random_images((4, 5, 5)))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:-7])

    with pytest.raises(DataError, match="truncated") as raised:
        readers.read_idx_images(path)

    assert path in str(raised.value)


def test_read_idx_images_shorter_than_header_raises_data_error(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03\x00")

    with pytest.raises(DataError, match="too short") as raised:
        readers.read_idx_images(str(path))

    assert str(path) in str(raised.value)


def test_read_idx_images_gz_that_is_not_gzip_raises_data_error(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(b"this is plain text, not gzip")

    with pytest.raises(DataError, match="cannot read") as raised:
        readers.read_idx_images(str(path))

    assert str(path) in str(raised.value)


def test_read_idx_images_damaged_deflate_stream_raises_data_error(tmp_path):
    # A valid gzip header followed by a deflate block of the reserved type 3:
    # gzip raises zlib.error, not OSError, for this.
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x07" + bytes(16))

    with pytest.raises(DataError) as raised:
        readers.read_idx_images(str(path))

    assert str(path) in str(raised.value)


def test_read_idx_images_missing_file_raises_data_error(tmp_path):
    path = str(tmp_path / "absent-idx3-ubyte")

    with pytest.raises(DataError, match="absent-idx3-ubyte"):
        readers.read_idx_images(path)


# --- .npz ------------------------------------------------------------------------------


def test_read_npz_images_3d_x_train_gets_channel_axis(tmp_path):
    images = _random_images((6, 8, 8))
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images, y_train=np.arange(6), x_test=images[:2])

    read = readers.read_npz_images(str(path))

    assert read.shape == (6, 8, 8, 1)
    np.testing.assert_array_equal(read[..., 0], images)


def test_read_npz_images_4d_x_train_is_returned_unchanged(tmp_path):
    images = _random_images((3, 8, 8, 3))
    path = tmp_path / "cifar.npz"
    np.savez(path, x_train=images)

    np.testing.assert_array_equal(readers.read_npz_images(str(path)), images)


def test_read_npz_images_without_x_train_raises_data_error_naming_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, images=_random_images((2, 4, 4)))

    with pytest.raises(DataError, match="x_train") as raised:
        readers.read_npz_images(str(path))

    assert str(path) in str(raised.value)
    assert "images" in str(raised.value)  # Lists what the archive does hold.


def test_read_npz_images_corrupt_archive_raises_data_error_naming_file(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 definitely not a zip archive")

    with pytest.raises(DataError, match="not a readable .npz") as raised:
        readers.read_npz_images(str(path))

    assert str(path) in str(raised.value)


def test_read_npz_images_float_x_train_raises_data_error(tmp_path):
    path = tmp_path / "floats.npz"
    np.savez(path, x_train=np.zeros((2, 4, 4), np.float32))

    with pytest.raises(DataError, match="float32"):
        readers.read_npz_images(str(path))


# --- CIFAR-10 python batches --------------------------------------------------------------


def _write_cifar_batch(path, images, key=b"data"):
    """Writes uint8 [N, 32, 32, 3] as CIFAR-10 stores it: rows of R, then G, then B planes."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3 * 32 * 32)
    with open(path, "wb") as f:
        pickle.dump({key: rows, b"labels": [0] * len(images)}, f)


def test_read_cifar_batches_returns_images_in_batch_order(tmp_path):
    first, second = _random_images((3, 32, 32, 3), 1), _random_images((2, 32, 32, 3), 2)
    _write_cifar_batch(tmp_path / "data_batch_2", second)
    _write_cifar_batch(tmp_path / "data_batch_1", first)
    _write_cifar_batch(tmp_path / "test_batch", _random_images((4, 32, 32, 3), 3))

    read = readers.read_cifar_batches(str(tmp_path))

    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, np.concatenate([first, second]))


def test_read_cifar_batches_accepts_str_keys(tmp_path):
    images = _random_images((2, 32, 32, 3))
    _write_cifar_batch(tmp_path / "data_batch_1", images, key="data")

    np.testing.assert_array_equal(readers.read_cifar_batches(str(tmp_path)), images)


def test_read_cifar_batches_corrupt_batch_raises_data_error_naming_file(tmp_path):
    _write_cifar_batch(tmp_path / "data_batch_1", _random_images((2, 32, 32, 3)))
    (tmp_path / "data_batch_2").write_bytes(b"not a pickle")

    with pytest.raises(DataError, match="data_batch_2"):
        readers.read_cifar_batches(str(tmp_path))


def test_read_cifar_batches_wrong_row_length_raises_data_error(tmp_path):
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8)}, f)

    with pytest.raises(DataError, match="3072"):
        readers.read_cifar_batches(str(tmp_path))


def test_read_cifar_batches_without_batches_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="data_batch_"):
        readers.read_cifar_batches(str(tmp_path))


# --- Image folders ----------------------------------------------------------------------


def _save(path, image, **params):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def _solid(color, mode="RGB", size=(16, 16)):
    return Image.new(mode, size, color)


def test_list_image_files_finds_images_recursively_and_sorted(tmp_path):
    expected = [
        _save(tmp_path / "a.png", _solid("red")),
        _save(tmp_path / "d.gif", _solid("red")),
        _save(tmp_path / "sub" / "b.JPG", _solid("red"), format="JPEG"),
        _save(tmp_path / "sub" / "deeper" / "c.bmp", _solid("red")),
        _save(tmp_path / "sub" / "e.jpeg", _solid("red")),
    ]
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub" / "labels.csv").write_text("a,b")

    found = readers.list_image_files(str(tmp_path))

    assert found == sorted(str(path) for path in expected)


def test_read_image_folder_returns_resized_uint8_array(tmp_path):
    _save(tmp_path / "a.png", _solid((255, 0, 0), size=(40, 30)))
    _save(tmp_path / "sub" / "b.jpg", _solid((0, 0, 255), size=(20, 50)))

    images = readers.read_image_folder(str(tmp_path), image_size=16, channels=3)

    assert images.shape == (2, 16, 16, 3)
    assert images.dtype == np.uint8


def test_load_image_wide_image_keeps_centre_square(tmp_path):
    # 60x20: a white centre square between two black ones. Resizing the shorter
    # side and cropping the centre keeps only the white; squashing would not.
    image = np.zeros((20, 60), np.uint8)
    image[:, 20:40] = 255
    path = _save(tmp_path / "wide.png", Image.fromarray(image))

    loaded = readers.load_image(str(path), image_size=10, channels=1)

    assert loaded.shape == (10, 10, 1)
    assert loaded[:, 2:8].min() >= 250
    assert loaded.mean() > 200


def test_load_image_tall_image_keeps_centre_square(tmp_path):
    image = np.zeros((60, 20), np.uint8)
    image[20:40, :] = 255
    path = _save(tmp_path / "tall.png", Image.fromarray(image))

    loaded = readers.load_image(str(path), image_size=10, channels=1)

    assert loaded[2:8].min() >= 250
    assert loaded.mean() > 200


def test_load_image_rgb_as_grayscale_uses_luma(tmp_path):
    path = _save(tmp_path / "red.png", _solid((255, 0, 0)))

    loaded = readers.load_image(str(path), image_size=16, channels=1)

    assert loaded.shape == (16, 16, 1)
    np.testing.assert_array_equal(loaded, 76)  # round(0.299 * 255)


def test_load_image_grayscale_as_rgb_repeats_the_value(tmp_path):
    path = _save(tmp_path / "gray.png", _solid(90, mode="L"))

    loaded = readers.load_image(str(path), image_size=16, channels=3)

    assert loaded.shape == (16, 16, 3)
    np.testing.assert_array_equal(loaded, 90)


@pytest.mark.parametrize("rgba, expected", [
    ((10, 20, 30, 255), (10, 20, 30)),   # opaque: unchanged
    ((200, 100, 50, 0), (0, 0, 0)),      # transparent: the black background
    ((200, 100, 50, 128), (100, 50, 25)),  # half: composited on black
])
def test_load_image_rgba_is_composited_on_black(tmp_path, rgba, expected):
    path = _save(tmp_path / "rgba.png", _solid(rgba, mode="RGBA"))

    loaded = readers.load_image(str(path), image_size=16, channels=3)

    np.testing.assert_allclose(loaded[8, 8], expected, atol=1)


@pytest.mark.parametrize("name", ["palette.png", "palette.gif", "palette.bmp"])
def test_load_image_palette_gives_palette_colour(tmp_path, name):
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 12, 34, 56] + [0, 0, 0] * 254)
    path = _save(tmp_path / name, image)

    loaded = readers.load_image(str(path), image_size=16, channels=3)

    np.testing.assert_array_equal(loaded, np.broadcast_to([12, 34, 56], (16, 16, 3)))


def test_load_image_palette_transparent_index_becomes_black(tmp_path):
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 200, 200, 200] + [0, 0, 0] * 254)
    path = _save(tmp_path / "transparent.png", image, transparency=1)

    loaded = readers.load_image(str(path), image_size=16, channels=3)

    np.testing.assert_array_equal(loaded, 0)


def test_load_image_cmyk_jpeg_converts_to_rgb(tmp_path):
    path = _save(tmp_path / "cmyk.jpg", _solid((0, 255, 255, 0), mode="CMYK"), quality=95)
    with Image.open(path) as image:
        assert image.mode == "CMYK"

    loaded = readers.load_image(str(path), image_size=16, channels=3)

    np.testing.assert_allclose(loaded[8, 8], (255, 0, 0), atol=3)


@pytest.mark.parametrize("value16, expected", [(65535, 255), (32768, 128), (0, 0)])
def test_load_image_16_bit_grayscale_scales_to_8_bits(tmp_path, value16, expected):
    path = _save(tmp_path / "deep.png", Image.fromarray(np.full((16, 16), value16, np.uint16)))
    with Image.open(path) as image:
        assert image.mode.startswith("I;16")

    for channels in (1, 3):
        loaded = readers.load_image(str(path), image_size=16, channels=channels)
        assert loaded.shape == (16, 16, channels)
        np.testing.assert_array_equal(loaded, expected)


def test_load_image_applies_exif_orientation(tmp_path):
    image = np.zeros((16, 16), np.uint8)
    image[:8] = 255  # Stored: top half white.
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: display rotated 90 degrees clockwise.
    path = _save(tmp_path / "photo.jpg", Image.fromarray(image), exif=exif, quality=95)

    loaded = readers.load_image(str(path), image_size=16, channels=1)[..., 0]

    assert loaded[:, 10:].mean() > 230  # Displayed: right half white.
    assert loaded[:, :6].mean() < 25


def test_read_image_folder_skips_unreadable_files_with_warning(tmp_path, caplog):
    _save(tmp_path / "good1.png", _solid((255, 0, 0)))
    _save(tmp_path / "sub" / "good2.jpg", _solid((0, 255, 0)))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "sub" / "notes.png").write_text("not an image at all")

    with caplog.at_level(logging.WARNING, logger=readers.__name__):
        images = readers.read_image_folder(str(tmp_path), image_size=8, channels=3)

    assert images.shape == (2, 8, 8, 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Skipped 2" in warnings[0]
    assert str(tmp_path / "empty.png") in warnings[0]
    assert str(tmp_path / "sub" / "notes.png") in warnings[0]
    assert "good1.png" not in warnings[0]


def test_read_image_folder_truncated_png_is_skipped(tmp_path, caplog):
    good = _save(tmp_path / "good.png", Image.fromarray(_random_images((32, 32, 3))))
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:200])

    with caplog.at_level(logging.WARNING, logger=readers.__name__):
        images = readers.read_image_folder(str(tmp_path), image_size=8, channels=3)

    assert len(images) == 1
    assert "cut.png" in caplog.text


def test_read_image_folder_all_broken_raises_data_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.jpg").write_text("text")

    with pytest.raises(DataError, match="none of the 2 image files") as raised:
        readers.read_image_folder(str(tmp_path), image_size=8, channels=3)

    assert str(tmp_path) in str(raised.value)


def test_read_image_folder_empty_raises_data_error_naming_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")

    with pytest.raises(DataError, match="no images found") as raised:
        readers.read_image_folder(str(tmp_path), image_size=8, channels=3)

    assert str(tmp_path) in str(raised.value)


def test_read_image_folder_real_jpegs_decode_as_pillow_does():
    folder = os.path.join(os.path.dirname(__file__), "data", "photos")
    images = readers.read_image_folder(folder, 64, 3)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".jpg"))
    assert images.shape == (len(names), 64, 64, 3) == (100, 64, 64, 3)
    with Image.open(os.path.join(folder, names[0])) as first:
        np.testing.assert_array_equal(images[0], np.asarray(first.convert("RGB")))


def _second_idat_type_damaged(tmp_path):
    """A PNG whose second IDAT chunk has invalid type bytes: Pillow opens it, then
    raises SyntaxError('broken PNG file ...') while decoding."""
    pixels = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    data = bytearray(_save(tmp_path / "big.png", Image.fromarray(pixels)).read_bytes())
    second = data.find(b"IDAT", data.find(b"IDAT") + 4)
    assert second > 0  # Pillow splits this image's data over two chunks.
    data[second:second + 4] = b"\x00\x01\x02\x03"
    return bytes(data)


def test_read_image_folder_skips_png_with_broken_chunk_type(tmp_path, caplog):
    folder = tmp_path / "photos"
    _save(folder / "good.png", _solid((0, 0, 255)))
    (folder / "broken.png").write_bytes(_second_idat_type_damaged(tmp_path))
    with pytest.raises(SyntaxError):  # What Pillow itself does with the file.
        readers.load_image(str(folder / "broken.png"), image_size=8, channels=3)

    with caplog.at_level(logging.WARNING, logger=readers.__name__):
        images = readers.read_image_folder(str(folder), image_size=8, channels=3)

    assert images.shape == (1, 8, 8, 3)
    assert "broken.png (SyntaxError: broken PNG file" in caplog.text


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP"])
def test_read_image_folder_survives_randomly_corrupted_files(tmp_path, image_format, caplog):
    """Fuzzing: flipped bytes, truncations and inserted junk in copies of one valid
    file. Every copy is either decoded or skipped and named; none ends the read."""
    rng = np.random.default_rng(sum(map(ord, image_format)))
    original = _save(tmp_path / f"original.{image_format.lower()}",
                     Image.fromarray(_random_images((40, 40, 3)))).read_bytes()
    folder = tmp_path / "fuzz"
    folder.mkdir()
    for k in range(60):
        data = bytearray(original)
        if k % 3 == 0:
            data = data[:int(rng.integers(1, len(data)))]
        elif k % 3 == 1:
            for position in rng.integers(0, len(data), size=int(rng.integers(1, 8))):
                data[position] = int(rng.integers(0, 256))
        else:
            position = int(rng.integers(0, len(data)))
            data[position:position] = rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
        (folder / f"copy{k:02d}.{image_format.lower()}").write_bytes(bytes(data))
    (folder / "zz_broken_chunk.png").write_bytes(_second_idat_type_damaged(tmp_path))
    _save(folder / "zzz_broken_chunk.png", _solid((9, 9, 9)))

    with caplog.at_level(logging.WARNING, logger=readers.__name__):
        images = readers.read_image_folder(str(folder), image_size=8, channels=3)

    assert 1 <= len(images) <= 61
    skipped = 62 - len(images)
    if skipped:
        assert f"Skipped {skipped} unreadable file(s) of 62" in caplog.text
    assert "zz_broken_chunk.png (SyntaxError" in caplog.text
    assert images.dtype == np.uint8 and images.shape[1:] == (8, 8, 3)


# --- Hostile inputs: nothing hangs, inflates or reaches another decoder ----------------


def test_read_image_folder_skips_a_fifo_named_png_without_waiting(tmp_path, caplog):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "good.png")
    os.mkfifo(tmp_path / "pipe.png")  # Opening it for reading would block forever.

    images = readers.read_image_folder(str(tmp_path), 8, 3)

    assert images.shape == (1, 8, 8, 3)
    assert "not regular files" in caplog.text and "pipe.png" in caplog.text


def test_load_image_decodes_only_the_format_its_extension_names(tmp_path):
    postscript = tmp_path / "page.png"
    postscript.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    jpeg_named_png = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), "red").save(jpeg_named_png, format="JPEG")

    for path in (postscript, jpeg_named_png):
        with pytest.raises(Exception) as raised:  # Pillow's UnidentifiedImageError.
            readers.load_image(str(path), 8, 3)
        assert "cannot identify" in str(raised.value)


def test_load_image_long_strip_is_cropped_before_it_is_resized(tmp_path):
    path = tmp_path / "strip.png"
    strip = np.zeros((1, 30000), np.uint8)
    strip[0, 14999:15001] = 255  # The centre: the only pixel the square crop keeps.
    Image.fromarray(strip).save(path, optimize=True)
    assert path.stat().st_size < 1000

    image = readers.load_image(str(path), 64, 1)

    assert image.shape == (64, 64, 1) and image.min() == 255


def test_read_idx_images_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    import gzip
    import resource

    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(struct.pack(">IIII", 0x803, 10, 28, 28))
        block = bytes(2**20)
        for _ in range(2048):  # 2 GiB of zeros after 7,840 promised bytes.
            f.write(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    with pytest.raises(DataError, match="truncated or padded"):
        readers.read_idx_images(str(path))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 2**10  # KiB


@pytest.mark.parametrize("shape", [(0, 28, 28), (5, 0, 0)])
def test_read_idx_images_with_nothing_to_read_raises_data_error(tmp_path, shape):
    path = tmp_path / "empty-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x803, *shape))
    with pytest.raises(DataError, match="nothing to read") as raised:
        readers.read_idx_images(str(path))
    assert str(path) in str(raised.value)
