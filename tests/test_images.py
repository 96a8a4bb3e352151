"""Every kind of bad or unusual image file: converted when usable, a clear reason when not."""

import numpy as np
import pytest
from conftest import save_photo
from PIL import Image

from restorebench.data.images import ImageError, fit_square, load_rgb

LIMITS = {"max_pixels": 10_000_000, "min_side": 16}


def test_plain_jpeg_loads_as_rgb_uint8(tmp_path):
    image = load_rgb(save_photo(tmp_path / "a.jpg", (48, 40)), **LIMITS)
    assert image.shape == (40, 48, 3) and image.dtype == np.uint8


@pytest.mark.parametrize(
    "write, reason",
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("this is not an image"), "not a readable image"),
        (lambda p: p.write_bytes(np.random.default_rng(1).bytes(5000)), "not a readable image"),
    ],
    ids=["zero-byte", "text-with-jpg-extension", "random-bytes"],
)
def test_unreadable_files_give_a_reason(tmp_path, write, reason):
    path = tmp_path / "bad.jpg"
    write(path)
    with pytest.raises(ImageError, match=reason):
        load_rgb(path, **LIMITS)


def test_truncated_jpeg_is_refused(tmp_path):
    full = save_photo(tmp_path / "full.jpg", (200, 160)).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_rgb(path, **LIMITS)


def test_tiny_image_is_refused(tmp_path):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), (10, 20, 30)).save(path)
    with pytest.raises(ImageError, match="too small: 1x1"):
        load_rgb(path, **LIMITS)


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)  # 400 MP in a few kilobytes
    assert path.stat().st_size < 200_000
    with pytest.raises(ImageError, match="decompression bomb"):
        load_rgb(path, **LIMITS)


def test_image_over_max_pixels_is_refused(tmp_path):
    path = save_photo(tmp_path / "big.png", (400, 300))
    with pytest.raises(ImageError, match="exceeds max_pixels=100000"):
        load_rgb(path, max_pixels=100_000, min_side=16)


def test_greyscale_becomes_three_equal_channels(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.arange(32 * 32, dtype=np.uint8).reshape(32, 32) % 251).save(path)
    image = load_rgb(path, **LIMITS)
    assert image.shape == (32, 32, 3)
    assert np.array_equal(image[..., 0], image[..., 2])
    assert image[0, 5, 0] == 5


def test_rgba_transparency_becomes_white(tmp_path):
    path = tmp_path / "rgba.png"
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[..., 0] = 200
    pixels[:16, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(pixels, "RGBA").save(path)
    image = load_rgb(path, **LIMITS)
    assert tuple(image[0, 0]) == (200, 0, 0)
    assert tuple(image[31, 0]) == (255, 255, 255)


def test_palette_image_keeps_its_colours(tmp_path):
    path = tmp_path / "palette.gif"
    Image.new("RGB", (32, 32), (0, 128, 255)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        path
    )
    assert tuple(load_rgb(path, **LIMITS)[3, 3]) == (0, 128, 255)


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    values = np.full((32, 32), 32768, dtype=np.uint16)
    values[0, 0] = 65535
    Image.fromarray(values).save(path)
    image = load_rgb(path, **LIMITS)
    assert image[0, 0, 0] == 255
    assert image[5, 5, 0] == 128  # mid-grey, not 255 as a clipping conversion would give


def test_cmyk_jpeg_converts_to_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (32, 32), (255, 0, 0)).convert("CMYK").save(path, quality=95)
    red, green, blue = (int(v) for v in load_rgb(path, **LIMITS)[10, 10])
    assert red > 200 and green < 60 and blue < 60


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    save_photo(path, (64, 32), exif=exif.tobytes())
    assert load_rgb(path, **LIMITS).shape == (64, 32, 3)


@pytest.mark.parametrize("fit", ["stretch", "center_crop"])
def test_fit_square_gives_the_working_size(fit):
    image = np.zeros((30, 70, 3), np.uint8)
    image[:, 20:50] = 255  # a white centre band
    square = fit_square(image, 16, fit)
    assert square.shape == (16, 16, 3) and square.dtype == np.uint8
    if fit == "center_crop":
        assert square.min() > 200  # the crop keeps only the white centre


def test_fit_square_refuses_unknown_fit():
    with pytest.raises(ValueError, match="unknown fit 'zoom'"):
        fit_square(np.zeros((8, 8, 3), np.uint8), 4, "zoom")


def test_max_pixels_is_the_only_size_limit(tmp_path, monkeypatch):
    """Pillow's own limit (89 MP by default) must not refuse what max_pixels allows."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a stand-in for the 89 MP default
    path = save_photo(tmp_path / "a.png", (48, 40))
    assert load_rgb(path, max_pixels=10_000, min_side=1).shape == (40, 48, 3)
    assert Image.MAX_IMAGE_PIXELS == 100  # left as it was
    with pytest.raises(ImageError, match="exceeds max_pixels=1000"):
        load_rgb(path, max_pixels=1000, min_side=1)
