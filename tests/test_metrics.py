"""Metrics against values worked out by hand, and the metrics CSV contract."""

import math

import numpy as np
import pytest

from restorebench import contract
from restorebench.scoring.metrics import (
    RESCORE_HINT,
    image_metrics,
    read_metrics,
    score_images,
    write_metrics,
)

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def constant(value: int, size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.uint8)


def whole(clean, restored, protocol: str = "ours") -> tuple[float, ...]:
    """MSE, NRMSE, SSIM and PSNR of the whole image (the perceptual scores: test_perceptual.py)."""
    scores = dict(zip(contract.metric_names(), image_metrics(clean, restored, protocol=protocol)))
    return tuple(scores[name] for name in ("mse", "nrmse", "ssim", "psnr"))


def test_identical_images_score_perfectly():
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mse, nrmse, ssim, psnr = whole(image, image.copy())
    assert mse == 0.0
    assert nrmse == 0.0
    assert ssim == pytest.approx(1.0)
    assert psnr == math.inf


def test_constant_offset_by_hand():
    mse, nrmse, ssim, psnr = whole(constant(100), constant(110))
    assert mse == pytest.approx(100.0)  # every pixel off by 10
    assert nrmse == pytest.approx(10.0 / 100.0)  # sqrt(mse) / sqrt(mean(clean ** 2))
    assert psnr == pytest.approx(10 * math.log10(255**2 / 100.0))
    # flat images: no variance, so SSIM is its luminance term alone
    assert ssim == pytest.approx((2 * 100 * 110 + C1) / (100**2 + 110**2 + C1))


def test_uint8_difference_does_not_wrap_around():
    # 10 - 250 in uint8 would wrap to 16; the true error is 240.
    assert image_metrics(constant(250), constant(10))[0] == pytest.approx(240.0**2)


def test_ssim_of_one_window_by_hand():
    """A 7x7 image holds exactly one 7x7 window: SSIM is the textbook formula on whole channels."""
    rng = np.random.default_rng(1)
    clean = rng.integers(0, 256, (7, 7, 3), dtype=np.uint8)
    restored = rng.integers(0, 256, (7, 7, 3), dtype=np.uint8)
    per_channel = []
    for channel in range(3):
        x = clean[..., channel].astype(float).ravel()
        y = restored[..., channel].astype(float).ravel()
        mx, my = x.mean(), y.mean()
        vx, vy = x.var(ddof=1), y.var(ddof=1)
        cxy = ((x - mx) * (y - my)).sum() / (len(x) - 1)
        per_channel.append(
            ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
        )
    assert image_metrics(clean, restored)[2] == pytest.approx(np.mean(per_channel), rel=1e-9)


def test_psnr_and_mse_by_hand_on_one_changed_pixel():
    clean = constant(50, size=8)
    restored = clean.copy()
    restored[0, 0, 0] = 90  # one of 192 values off by 40
    mse, _, _, psnr = whole(clean, restored)
    assert mse == pytest.approx(40**2 / 192)
    assert psnr == pytest.approx(10 * math.log10(255**2 / (40**2 / 192)))


def test_origin_protocol_rescales_each_image_by_its_max():
    # clean peaks at 100 -> scaled x2.55; restored peaks at 200 -> scaled x1.275: both become 255-peaked.
    clean = constant(50)
    clean[0, 0] = 100
    restored = (clean.astype(int) * 2).astype(np.uint8)
    mse, nrmse, ssim, _ = whole(clean, restored, protocol="origin")
    assert mse == pytest.approx(0.0, abs=1e-18)
    assert nrmse == pytest.approx(0.0, abs=1e-9)
    assert ssim == pytest.approx(1.0)
    assert image_metrics(clean, restored)[0] > 2000  # our protocol sees the real difference


def test_bad_shapes_and_protocol_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        image_metrics(constant(1, 8), constant(1, 9))
    with pytest.raises(ValueError, match="protocol"):
        image_metrics(constant(1), constant(1), protocol="theirs")


def test_score_images_matches_image_by_image_with_threads():
    rng = np.random.default_rng(2)
    clean = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    restored = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    values = score_images(clean, restored, workers=2)
    assert values.shape == (5, len(contract.METRICS))
    for index in range(5):
        np.testing.assert_array_equal(values[index], image_metrics(clean[index], restored[index]))


def test_metrics_csv_round_trips_exactly(tmp_path):
    names = ["a", "b,with comma", "c"]
    values = np.random.default_rng(3).random((3, len(contract.METRICS))) / 3
    values[0, 3] = values[2, 3] = math.inf  # identical images
    hole = [contract.metric_names().index(spec.name) for spec in contract.metrics_in("hole")]
    values[1, hole] = math.nan  # an image without damage has no damaged-pixel scores
    path = tmp_path / "metrics" / "m.csv"
    write_metrics(path, names, values)
    assert path.read_text().splitlines()[0] == ",".join(("name", *contract.metric_names()))
    read_names, read_values = read_metrics(path)
    assert read_names == names
    np.testing.assert_array_equal(read_values, values)


def test_read_metrics_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    header = ",".join(("name", *contract.metric_names()))
    row = ["1"] * len(contract.METRICS)
    row[2] = "x"
    path.write_text(f"{header}\na,{','.join(row)}\n")
    with pytest.raises(ValueError, match=r"bad\.csv, line 2"):
        read_metrics(path)
    path.write_text("image,mse\n")
    with pytest.raises(ValueError, match="expected header"):
        read_metrics(path)


@pytest.mark.parametrize(
    "keep, where",
    [
        (lambda text: 0, "expected header"),  # emptied by a full disk
        (lambda text: len(text) - 20, "line 4: "),  # cut within the last row
        (
            lambda text: text.index("caf\u00e9".encode()) + 4,
            "not a readable CSV file",
        ),  # within a letter
    ],
    ids=["empty", "last-row-cut", "letter-cut"],
)
def test_a_truncated_metrics_file_is_named_with_the_fix(tmp_path, keep, where):
    """A truncated file is newer than its inputs, so Snakemake never rescores it by itself."""
    path = tmp_path / "m.csv"
    values = np.random.default_rng(0).random((3, len(contract.METRICS)))
    write_metrics(path, ["a", "b", "caf\u00e9"], values)
    text = path.read_bytes()
    path.write_bytes(text[: keep(text)])
    with pytest.raises(ValueError) as error:
        read_metrics(path)
    message = str(error.value)
    assert message.startswith(f"{path}") and where in message
    assert message.endswith(f"; {RESCORE_HINT}")
