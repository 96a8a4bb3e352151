"""The restore-your-own-images command: any picture size in, the same size out."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from restorebench.restore.cli import _as_written, main, output_names, restore_picture, tile_starts


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 250, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "length,tile,overlap", [(517, 32, 8), (300, 32, 0), (32, 32, 8), (33, 32, 31), (7, 32, 8)]
)
def test_tiles_cover_every_pixel(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = np.zeros(max(length, tile), bool)
    for start in starts:
        covered[start : start + tile] = True
        assert start + tile <= max(length, tile)
    assert covered[:length].all()
    assert starts == sorted(set(starts))


@pytest.mark.parametrize("shape", [(300, 517), (517, 300), (10, 7), (32, 32), (40, 33)])
def test_tiling_an_identity_model_gives_the_picture_back_exactly(shape):
    image = photo(*shape)
    calls = []

    def identity(batch):
        assert batch.shape[1:] == (32, 32, 3)
        calls.append(len(batch))
        return batch

    np.testing.assert_array_equal(
        restore_picture(identity, image, 32, "tile", overlap=8, batch_size=5), image
    )
    assert max(calls) <= 5  # the model gets a batch at a time, never the whole picture's tiles


def _whole_picture_blend(restore, image, size, overlap):
    """The tile blend as first written: every tile at once, sums over the whole picture."""
    height, width = image.shape[:2]
    padded = np.pad(
        image, ((0, max(0, size - height)), (0, max(0, size - width)), (0, 0)), mode="symmetric"
    )
    corners = [
        (top, left)
        for top in tile_starts(padded.shape[0], size, overlap)
        for left in tile_starts(padded.shape[1], size, overlap)
    ]
    restored = restore(
        np.stack([padded[top : top + size, left : left + size] for top, left in corners])
    )
    total = np.zeros(padded.shape, np.float64)
    weight = np.zeros(padded.shape[:2] + (1,), np.float64)
    ramp = np.minimum(np.arange(1, size + 1), np.arange(size, 0, -1)).astype(np.float64)
    tent = np.outer(ramp, ramp)[..., None]
    for (top, left), tile in zip(corners, restored):
        total[top : top + size, left : left + size] += tile * tent
        weight[top : top + size, left : left + size] += tent
    return np.clip(np.rint(total / weight), 0, 255).astype(np.uint8)[:height, :width]


def _lopsided(batch: np.ndarray) -> np.ndarray:
    """A stand-in model whose output depends on the tile's row (so a tile must arrive
    upright) and on the tile's own mean (so tiles must not be mixed up)."""
    rows = np.arange(batch.shape[1], dtype=np.int64)[None, :, None, None] * 3
    means = batch.mean(axis=(1, 2, 3), keepdims=True).astype(np.int64) // 4
    return np.clip(batch // 2 + rows + means, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "shape,overlap,batch_size",
    [
        *(
            (shape, overlap, batch_size)
            for shape in [(300, 517), (517, 300), (10, 7), (32, 32), (40, 33), (7, 90)]
            for overlap, batch_size in [(8, 1), (8, 7), (0, 1000)]
        ),
        ((45, 70), 31, 32),  # a stride of one pixel
        ((70, 45), 31, 32),
    ],
)
def test_tiles_blended_batch_by_batch_equal_the_whole_picture_blend(shape, overlap, batch_size):
    image = photo(*shape, seed=5)
    np.testing.assert_array_equal(
        restore_picture(_lopsided, image, 32, "tile", overlap, batch_size),
        _whole_picture_blend(_lopsided, image, 32, overlap),
    )


@pytest.mark.parametrize("shape", [(1000, 1500), (1500, 1000)])
def test_tile_memory_follows_the_tile_and_the_batch_not_the_picture(shape):
    """Beyond the uint8 output, tile mode may hold a few copies of a batch of tiles and the
    float64 sums of one band of tile rows across the shorter side (docs/scoring.md); a float
    copy of the picture, or all its tiles at once, is far more than that."""
    size, batch_size = 32, 32
    image = photo(*shape, seed=6)
    batches = []

    def model(batch):
        batches.append(batch.shape)
        return 255 - batch

    tracemalloc.start()
    try:
        restored = restore_picture(model, image, size, "tile", size // 4, batch_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(restored, 255 - image)
    assert {batch[1:] for batch in batches} == {(size, size, 3)}
    assert max(batch[0] for batch in batches) == batch_size
    band = 64 * size * min(shape)  # the sums (32 bytes a pixel) and as much again moving them
    tiles = 8 * batch_size * size * size * 3  # the batch, the model's answer, turned copies
    assert peak - restored.nbytes < band + tiles  # a float64 copy of the picture: 36 MB


def test_resize_mode_returns_the_input_size_through_the_model():
    image = photo(300, 517)
    seen = []

    def invert(batch):
        seen.append(batch.shape)
        return 255 - batch

    restored = restore_picture(invert, image, 32, "resize", overlap=0)
    assert seen == [(1, 32, 32, 3)]
    assert restored.shape == image.shape
    assert abs(restored.mean() - (255 - image.mean())) < 3


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two tiny saved Keras models of 32 px input: identity and colour inversion."""
    import keras

    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, layer in (
        ("identity", keras.layers.Identity()),
        ("invert", keras.layers.Rescaling(-1.0, offset=1.0)),
    ):
        inputs = keras.Input((32, 32, 3))
        paths[name] = folder / f"{name}.keras"
        keras.Model(inputs, layer(inputs)).save(paths[name])
    return paths


def test_command_restores_odd_sizes_to_their_own_size(tmp_path, models):
    source = tmp_path / "in"
    source.mkdir()
    pictures = {"wide": photo(300, 517, 1), "tall": photo(517, 300, 2), "tiny": photo(10, 7, 3)}
    for name, image in pictures.items():
        Image.fromarray(image).save(source / f"{name}.png")
    (source / "notes.txt").write_text("not an image")

    assert (
        main([str(models["identity"]), str(source), str(tmp_path / "tiled"), "--mode", "tile"]) == 0
    )
    assert main([str(models["invert"]), str(source), str(tmp_path / "resized")]) == 0
    assert sorted(p.name for p in (tmp_path / "tiled").iterdir()) == [
        "tall.png",
        "tiny.png",
        "wide.png",
    ]
    for name, image in pictures.items():
        tiled = np.asarray(Image.open(tmp_path / "tiled" / f"{name}.png"))
        np.testing.assert_array_equal(tiled, image)  # an identity model restores nothing away
        resized = np.asarray(Image.open(tmp_path / "resized" / f"{name}.png"))
        assert resized.shape == image.shape
        assert abs(resized.mean() - (255 - image.mean())) < 5  # the model's output, not the input


def test_keep_undamaged_replaces_only_the_white_damage(tmp_path, models):
    image = photo(60, 90, 4)
    image[20:23, 10:80] = 255  # a white scratch
    path = tmp_path / "scratched.png"
    Image.fromarray(image).save(path)
    assert (
        main(
            [
                str(models["invert"]),
                str(path),
                str(tmp_path / "out"),
                "--mode",
                "tile",
                "--keep-undamaged",
            ]
        )
        == 0
    )
    restored = np.asarray(Image.open(tmp_path / "out" / "scratched.png"))
    changed = (restored != image).any(axis=-1)
    assert changed[20:23, 10:80].all()  # the inverted white is black: replaced
    assert not changed[:18].any() and not changed[25:].any()  # away from the scratch: the original


def test_unreadable_files_are_reported_and_the_rest_restored(tmp_path, models, capsys):
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(photo(40, 50)).save(source / "a.png")
    Image.fromarray(photo(40, 50, 1)).save(source / "a.jpg")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert main([str(models["identity"]), str(source), str(tmp_path / "out")]) == 1
    assert "broken.jpg" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_jpg.png", "a_png.png"]


def test_bad_arguments_get_a_clear_message(tmp_path, models, capsys):
    assert main([str(models["identity"]), str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err
    Image.fromarray(photo(40, 40)).save(tmp_path / "x.png")
    assert (
        main(
            [
                str(models["identity"]),
                str(tmp_path / "x.png"),
                str(tmp_path / "out"),
                "--overlap",
                "32",
            ]
        )
        == 2
    )
    assert "--overlap" in capsys.readouterr().err


def test_command_hands_the_model_batches_of_its_batch_size(tmp_path, models, monkeypatch):
    import restorebench.restore.inference

    seen = []
    real = restorebench.restore.inference.restore_with

    def spy(model, damaged, batch_size=32):
        seen.append(len(damaged))
        return real(model, damaged, batch_size)

    monkeypatch.setattr(restorebench.restore.inference, "restore_with", spy)
    image = photo(130, 150, 7)
    Image.fromarray(image).save(tmp_path / "x.png")
    arguments = [str(models["identity"]), str(tmp_path / "x.png"), str(tmp_path / "out")]
    assert main([*arguments, "--mode", "tile", "--batch-size", "4"]) == 0
    assert len(seen) > 1 and max(seen) == 4
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "x.png")), image)


def test_grey_pictures_are_written_with_the_rounded_mean_of_the_channels():
    sums = np.arange(766)
    channels = np.stack([sums // 3, (sums + 1) // 3, (sums + 2) // 3], axis=-1)
    restored = channels.astype(np.uint8)[None]
    written = np.asarray(_as_written(restored, grey=True))
    np.testing.assert_array_equal(written[0], np.rint(restored.mean(axis=-1))[0])


def test_output_names_keep_files_sharing_a_stem_apart(tmp_path):
    paths = [tmp_path / "a.jpg", tmp_path / "a.PNG", tmp_path / "b.tif"]
    assert output_names(paths) == {paths[0]: "a_jpg.png", paths[1]: "a_png.png", paths[2]: "b.png"}


def test_module_entry_point_states_both_modes():
    result = subprocess.run(
        [sys.executable, "-m", "restorebench.restore", "--help"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "--mode {resize,tile}" in result.stdout
    assert "stretches each picture" in result.stdout and "overlapping" in result.stdout


def _inpainter(size):
    """A local restorer: near-white pixels become the mean of the other pixels around them."""
    import keras

    image = keras.Input((size, size, 3))
    known = keras.layers.Lambda(
        lambda x: 1.0 - keras.ops.cast(keras.ops.min(x, -1, keepdims=True) > 0.97, "float32")
    )(image)
    mean = keras.layers.AveragePooling2D(7, strides=1, padding="same")
    total = mean(keras.layers.Multiply()([image, known]))
    weight = keras.layers.Lambda(lambda k: keras.ops.maximum(k, 1e-3))(mean(known))
    filled = keras.layers.Lambda(lambda t: t[0] / t[1])([total, weight])
    output = keras.layers.Lambda(lambda t: t[0] * t[1] + t[2] * (1 - t[1]))([image, known, filled])
    return keras.Model(image, output)


def test_tiles_leave_no_seams_or_fragments_where_a_stroke_crosses_their_borders():
    """Overlap and tent blending: a stroke across many tile borders is filled everywhere,
    as the same local restorer filling the whole picture at once fills it."""
    import keras

    rng = np.random.default_rng(0)
    coarse = rng.integers(40, 200, (12, 12, 3)).astype(np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((150, 130), Image.Resampling.BILINEAR))
    damaged = image.copy()
    damaged[60:63, :] = 255  # crosses every column of tiles
    damaged[:, 71:73] = 255  # and every row

    def restore(model):
        def run(batch):
            output = keras.ops.convert_to_numpy(model(batch.astype(np.float32) / 255))
            return np.rint(np.clip(output, 0, 1) * 255).astype(np.uint8)

        return run

    tiled = restore_picture(restore(_inpainter(32)), damaged, 32, "tile", overlap=8)
    whole = restore(_inpainter(None))(damaged[None])[0]
    stroke = (damaged == 255).all(axis=-1)
    assert not (tiled[stroke] >= 248).all(axis=-1).any()  # no white fragment left on the stroke
    difference = np.abs(tiled.astype(int) - whole.astype(int))
    assert difference[stroke].mean() < 3 and np.percentile(difference[stroke], 99) < 20
    assert difference[~stroke].max() == 0  # intact pixels pass through untouched
