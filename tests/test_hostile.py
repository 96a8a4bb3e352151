"""Hostile and careless input, one case per line: every case gets a message, never harm.

Each section is a table and one parametrized test. To add a case, add a line to the
table of its kind (the config, an image folder, the restore command) with what to set up
and the message a user must see; the test checks the refusal and that nothing a user
owns changed. Cases that need code of their own follow each table.
"""

import csv
import logging
import re
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import merge, run_snakemake, save_pair, save_photo, write_config
from PIL import Image

from restorebench.data.damage import REFERENCE_SIZE, DamageSettings, damage_pair
from restorebench.data.download import download_humanface8000
from restorebench.data.images import fit_square
from restorebench.data.prepare import PrepareSettings, prepare
from restorebench.data.sources import HUMANFACE_FOLDER
from restorebench.restore.cli import main as restore_main
from restorebench.runtime.logs import run_logged


# ---------------------------------------------------------------------------------------
# The workflow's config: each case is refused before any job starts (nothing is written
# under results/), with a message naming the key or file. One line per case:
# (id, overrides of the test config or None, the raw text of config.yaml or None,
#  the files to make first (FILES), the expected message)
def _alias_bomb() -> str:
    lines = ["run: t", "dataset: {source: demo, image_size: 32, test_fraction: 0.2, seed: 1}"]
    lines.append('a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]')
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join([*lines, "bomb: *a8"]) + "\n"


NAN, INF = float("nan"), float("inf")

# fmt: off
CONFIG_CASES = [
    ("test-fraction-nan", {"dataset": {"test_fraction": NAN}}, None, (), "config key dataset.test_fraction: nan is not a finite number"),
    ("learning-rate-nan", {"models": {"vae": {"learning_rate": NAN}}}, None, (), "config key models.vae.learning_rate: nan is not a finite number"),
    ("learning-rate-inf", {"models": {"gan": {"learning_rate": INF}}}, None, (), "config key models.gan.learning_rate: inf is not a finite number"),
    ("strokes-reversed", {"dataset": {"damage": {"strokes": [24, 2]}}}, None, (), "config key dataset.damage.strokes: [24, 2] is reversed"),
    ("blobs-reversed", {"dataset": {"damage": {"blobs": [6, 0]}}}, None, (), "config key dataset.damage.blobs: [6, 0] is reversed"),
    ("width-reversed", {"dataset": {"damage": {"stroke_width": [5, 2]}}}, None, (), "config key dataset.damage.stroke_width: [5, 2] is reversed"),
    ("no-damage", {"dataset": {"damage": {"strokes": [0, 0], "blobs": [0, 0]}}}, None, (), "config key dataset.damage: strokes and blobs are both at most 0"),
    ("buckets-unsorted", {"score": {"mask_share_buckets": [0.1, 0.05]}}, None, (), "config key score.mask_share_buckets: [0.1, 0.05] must increase"),
    ("run-name-newline", {"run": "ok\n"}, None, (), "config key run: 'ok\\n' does not match"),
    ("model-name-newline", {"models": {"vae2\n": {"family": "vae"}}}, None, (), "config key models: 'vae2\\n' does not match"),
    ("yaml-syntax-error", None, "run: demo\ndataset: {source: demo\n  image_size: [1,\n", (), "config.yaml, line 3, column 13: not valid YAML"),
    ("yaml-alias-bomb", None, _alias_bomb(), (), "more than 10000 values"),
    ("test-split-empty", {"dataset": {"source": "clean", "path": "photos", "test_fraction": 0.01}}, None, ("3 photos",), "config key dataset.test_fraction: 0.01 of 3 usable pairs puts no image in the test split"),
    ("dataset-truncated", {}, None, ("dataset.h5",), "results/t/dataset.h5: not a readable HDF5 file"),
    ("predictions-truncated", {}, None, ("vae.h5",), "results/t/predictions/vae.h5: not a readable HDF5 file"),
]
# fmt: on


def _damaged_hdf5(path: Path) -> None:
    """A real HDF5 file cut in half, as a full disk or a killed copy leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        file.create_dataset("images", data=np.zeros((64, 16, 16, 3), np.uint8))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# The files a case needs in the working directory, by the name its line gives.
FILES = {
    "dataset.h5": lambda workdir: _damaged_hdf5(workdir / "results/t/dataset.h5"),
    "vae.h5": lambda workdir: _damaged_hdf5(workdir / "results/t/predictions/vae.h5"),
    "3 photos": lambda workdir: [
        save_photo(workdir / "photos" / f"p{i}.jpg", seed=i) for i in range(3)
    ],
}


@pytest.mark.workflow
@pytest.mark.parametrize(
    "overrides, text, files, message",
    [case[1:] for case in CONFIG_CASES],
    ids=[case[0] for case in CONFIG_CASES],
)
def test_a_bad_config_is_refused_before_any_job(tmp_path, overrides, text, files, message):
    if text is None:
        write_config(tmp_path, merge({"run": "t"}, overrides))
    else:
        (tmp_path / "config.yaml").write_text(text)
    for name in files:
        FILES[name](tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = run_snakemake(tmp_path, "--cores", "1", "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output, output[-3000:]
    assert len(output) < 5000  # one readable message, not a dump of the value
    assert sorted(path for path in tmp_path.rglob("*") if ".snakemake" not in path.parts) == [
        path for path in before if ".snakemake" not in path.parts
    ]


# ---------------------------------------------------------------------------------------
# Raw image folders: prepare skips each bad pair with its reason in skipped.tsv, or
# refuses the run naming the key. One line per case: (id, how to make the folder, the
# dataset settings, the skipped name and reason, or the error).
def _misaligned(root: Path, how: str) -> None:
    for i in range(6):
        save_pair(root / "clean" / f"p{i}.jpg", root / "damaged" / f"p{i}.png", (48, 40), i)
    save_photo(root / "clean" / "odd.jpg", (48, 40), seed=9)
    picture = Image.open(root / "clean" / "odd.jpg")
    if how == "mirrored":
        picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "damaged" / "odd.png")
    elif how == "cropped":  # another aspect ratio of the same photo, then center-cropped
        picture.crop((0, 0, 48, 24)).save(root / "damaged" / "odd.png")
    elif how == "stretched":  # close enough to pass the intact-pixel check once both are cropped
        picture.resize((48, 44), Image.Resampling.LANCZOS).save(root / "damaged" / "odd.png")
    else:  # EXIF says "rotate 90" on the damaged side only
        exif = Image.Exif()
        exif[0x0112] = 6
        picture.save(root / "damaged" / "odd.jpg", exif=exif.tobytes())


def _broken_link(root: Path) -> None:
    for i in range(6):
        save_pair(root / "clean" / f"p{i}.jpg", root / "damaged" / f"p{i}.png", seed=i)
    save_photo(root / "damaged" / "gone.png")
    (root / "clean" / "gone.jpg").symlink_to(root / "nowhere.jpg")


def _unicode_forms(root: Path) -> None:
    for i in range(6):
        save_pair(root / "clean" / f"p{i}.jpg", root / "damaged" / f"p{i}.png", seed=i)
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    save_pair(root / "clean" / f"{decomposed}.jpg", root / "damaged" / f"{composed}.png", seed=7)
    save_pair(root / "clean" / f"{composed}x.jpg", root / "damaged" / f"{composed}x.png", seed=8)
    save_photo(root / "clean" / f"{decomposed}x.png", seed=8)


def _few(root: Path) -> None:
    for i in range(3):
        save_pair(root / "clean" / f"p{i}.jpg", root / "damaged" / f"p{i}.png", seed=i)


# fmt: off
FOLDER_CASES = [
    ("pair-mirrored", lambda root: _misaligned(root, "mirrored"), {}, ("odd", "misaligned pair")),
    ("pair-other-crop", lambda root: _misaligned(root, "cropped"), {"fit": "center_crop"}, ("odd", "aspect ratios differ")),
    ("pair-stretched-center-crop", lambda root: _misaligned(root, "stretched"), {"fit": "center_crop"}, ("odd", "aspect ratios differ: clean 48x40, damaged 48x44")),
    ("pair-exif-one-side", lambda root: _misaligned(root, "exif"), {}, ("odd", "misaligned pair")),
    ("clean-broken-link", _broken_link, {}, ("gone", "broken symbolic link")),
    ("two-unicode-forms", _unicode_forms, {}, ("caf\u00e9x", "one name in two Unicode forms")),
    ("empty-test-split", _few, {"test_fraction": 0.001}, "dataset.test_fraction: 0.001 of 3 usable pairs puts no image in the test split"),
    ("empty-train-split", _few, {"test_fraction": 0.999}, "puts no image in the train split"),
]
# fmt: on


@pytest.mark.parametrize(
    "make, overrides, expected",
    [case[1:] for case in FOLDER_CASES],
    ids=[case[0] for case in FOLDER_CASES],
)
def test_a_bad_image_folder_is_skipped_with_its_reason_or_refused(
    tmp_path, make, overrides, expected
):
    make(tmp_path / "raw")
    settings = PrepareSettings(
        **{
            "source": "pairs",
            "image_size": 16,
            "test_fraction": 0.3,
            "seed": 5,
            "min_side": 8,
            **overrides,
        }
    )
    out, skipped = tmp_path / "dataset.h5", tmp_path / "skipped.tsv"
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=re.escape(expected)):
            prepare(settings, tmp_path / "raw", out, skipped)
        assert not out.exists()
        return
    prepare(settings, tmp_path / "raw", out, skipped)
    with open(skipped, newline="") as handle:
        reasons = {row["name"]: row["reason"] for row in csv.DictReader(handle, delimiter="\t")}
    name, reason = expected
    assert reason in reasons[name], reasons
    assert len(reasons) == 1  # the good pairs all pass


# ---------------------------------------------------------------------------------------
# A script's failure: one line naming the cause, in the rule's log too.
def test_no_network_for_the_download_is_one_line_not_a_chain_of_tracebacks(tmp_path, monkeypatch):
    pytest.importorskip("kaggle")
    monkeypatch.setenv("KAGGLE_USERNAME", "nobody")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef0123456789abcdef")
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(ConnectionError, match="cannot download .* from the Kaggle API") as error:
        download_humanface8000(tmp_path / "download")
    assert error.value.__cause__ is None and "\n" not in str(error.value)
    assert "check the network and the Kaggle credentials" in str(error.value)


def test_an_unexpected_error_is_logged_with_its_traceback(tmp_path):
    """The rule's log names what went wrong, not only Snakemake's terminal."""
    log = tmp_path / "job.log"

    def broken():
        raise RuntimeError("a bug, not a bad input")

    with pytest.raises(SystemExit) as stop:
        run_logged(log, broken)
    assert stop.value.code == 1
    text = log.read_text()
    assert "unexpected error" in text and "RuntimeError: a bug, not a bad input" in text
    assert "Traceback" in text


# ---------------------------------------------------------------------------------------
# restorebench-restore: each case exits with status 2 and a one-line message naming the
# file or option, changes no input and writes no output. One line per case:
# (id, how to make the case's files, the command's arguments, the expected message).
# In the arguments: {model} a tiny identity restorer, {models} the folder of odd models,
# {in} a folder with two photos, {out} a fresh output folder, {tmp} the case's folder.
def _odd_models(folder: Path) -> None:
    import keras

    folder.mkdir()
    image = keras.Input((16, 16, 3))
    odd = {
        "discriminator": keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(image)),
        "one_channel": keras.layers.Conv2D(1, 1)(image),
        "half_size": keras.layers.AveragePooling2D(2)(image),
    }
    for name, output in odd.items():
        keras.Model(image, output).save(folder / f"{name}.keras")
    grey = keras.Input((16, 16, 1))
    keras.Model(grey, grey).save(folder / "grey_input.keras")
    two = [keras.Input((16, 16, 3)), keras.Input((16, 16, 3))]
    keras.Model(two, keras.layers.Add()(two)).save(folder / "two_inputs.keras")
    (folder / "text.keras").write_text("this is not a model")
    (folder / "random.keras").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "empty.keras").write_bytes(b"")
    with zipfile.ZipFile(folder / "no_config.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    (folder / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    (folder / "a_folder.keras").mkdir()


def _existing_output(tmp: Path) -> None:
    (tmp / "out").mkdir()
    (tmp / "out" / "a.png").write_bytes(b"the user's own file")


def _output_is_a_file(tmp: Path) -> None:
    (tmp / "out").write_text("a file, not a folder")


def _dangling_link(tmp: Path) -> None:
    (tmp / "out").mkdir()
    (tmp / "out" / "a.png").symlink_to(tmp / "elsewhere.png")


def _hard_link_to_input(tmp: Path) -> None:
    (tmp / "out").mkdir()
    (tmp / "out" / "a.png").hardlink_to(tmp / "in" / "a.png")


# fmt: off
RESTORE_CASES = [
    ("output-is-input", None, "{model} {in} {in}", "is the input folder or inside it"),
    ("output-inside-input", None, "{model} {in} {in}/restored", "is the input folder or inside it"),
    ("output-replaces-its-input", None, "{model} {in}/a.png {in}", "would replace its own input"),
    ("existing-output-file", _existing_output, "{model} {in} {out}", "1 file(s) would be replaced (a.png); pass --overwrite"),
    ("output-dangling-symlink", _dangling_link, "{model} {in} {out}", "1 file(s) would be replaced (a.png); pass --overwrite"),
    ("output-hard-link-to-input", _hard_link_to_input, "{model} {in} {out} --overwrite", "would replace its own input"),
    ("output-is-a-file", _output_is_a_file, "{model} {in} {out}", "exists and is not a folder"),
    ("output-below-a-file", _output_is_a_file, "{model} {in} {out}/sub", "cannot create the output folder"),
    ("model-discriminator", None, "{models}/discriminator.keras {in} {out}", "this model gives float32 (1, 1)"),
    ("model-one-channel", None, "{models}/one_channel.keras {in} {out}", "(1, 16, 16, 1)"),
    ("model-half-size", None, "{models}/half_size.keras {in} {out}", "(1, 8, 8, 3)"),
    ("model-grey-input", None, "{models}/grey_input.keras {in} {out}", "takes square RGB images"),
    ("model-two-inputs", None, "{models}/two_inputs.keras {in} {out}", "one input and one output"),
    ("model-text", None, "{models}/text.keras {in} {out}", "text.keras: not a Keras archive"),
    ("model-random-bytes", None, "{models}/random.keras {in} {out}", "random.keras: not a Keras archive"),
    ("model-empty", None, "{models}/empty.keras {in} {out}", "empty.keras: empty file (0 bytes)"),
    ("model-without-config", None, "{models}/no_config.keras {in} {out}", "no_config.keras: the archive holds no config.json"),
    ("model-wrong-suffix", None, "{models}/model.h5 {in} {out}", "model.h5: expected a .keras file"),
    ("model-is-a-folder", None, "{models}/a_folder.keras {in} {out}", "a_folder.keras: a folder, not a model file"),
    ("model-missing", None, "{models}/missing.keras {in} {out}", "missing.keras: no such model file"),
    ("batch-size-zero", None, "{model} {in} {out} --batch-size 0", "--batch-size: must be at least 1, got 0"),
    ("threshold-too-high", None, "{model} {in} {out} --threshold 999", "--threshold: must be 0..255, got 999"),
    ("overlap-negative", None, "{model} {in} {out} --overlap -1", "--overlap: must be at least 0, got -1"),
    ("max-pixels-zero", None, "{model} {in} {out} --max-pixels 0", "--max-pixels: must be at least 1"),
]
# fmt: on


@pytest.fixture(scope="module")
def restore_files(tmp_path_factory):
    import keras

    folder = tmp_path_factory.mktemp("restore")
    image = keras.Input((16, 16, 3))
    keras.Model(image, keras.layers.Identity()(image)).save(folder / "identity.keras")
    _odd_models(folder / "models")
    return folder


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(
    "make, arguments, message",
    [case[1:] for case in RESTORE_CASES],
    ids=[case[0] for case in RESTORE_CASES],
)
def test_a_harmful_restore_is_refused(tmp_path, restore_files, capsys, make, arguments, message):
    photos = tmp_path / "in"
    photos.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(photos / f"{name}.png")
    if make:
        make(tmp_path)
    before = _snapshot(tmp_path)
    values = {
        "model": restore_files / "identity.keras",
        "models": restore_files / "models",
        "in": photos,
        "out": tmp_path / "out",
        "tmp": tmp_path,
    }
    try:
        status = restore_main(arguments.format(**values).split())
    except SystemExit as stop:  # argparse exits on a bad option
        status = stop.code
    error = capsys.readouterr().err
    assert status == 2 and message in error, error
    assert "Traceback" not in error and error.count("error:") == 1, error
    assert _snapshot(tmp_path) == before


def test_every_input_gets_its_own_output(tmp_path, restore_files):
    """a.jpg, a.png, a_jpg.png and A.PNG: four inputs, four files, even where case is not told apart."""
    photos = tmp_path / "in"
    photos.mkdir()
    for index, name in enumerate(("a.jpg", "a.png", "a_jpg.png", "A.PNG", "a_png.png")):
        Image.fromarray(np.full((20, 24, 3), 40 * index, np.uint8)).save(photos / name)
    status = restore_main(
        [str(restore_files / "identity.keras"), str(photos), str(tmp_path / "out")]
    )
    assert status == 0
    written = [path.name.casefold() for path in (tmp_path / "out").iterdir()]
    assert len(written) == 5 and len(set(written)) == 5


def test_overwrite_replaces_only_when_asked(tmp_path, restore_files):
    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(photos / "a.png")
    (out / "a.png").write_bytes(b"old")
    arguments = [str(restore_files / "identity.keras"), str(photos), str(out)]
    assert restore_main(arguments) == 2 and (out / "a.png").read_bytes() == b"old"
    assert restore_main([*arguments, "--overwrite"]) == 0
    assert Image.open(out / "a.png").size == (24, 20)


def test_overwrite_replaces_a_symlink_not_the_file_it_points_to(tmp_path, restore_files):
    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(photos / "a.png")
    (tmp_path / "notes.png").write_bytes(b"the user's file elsewhere")
    (out / "a.png").symlink_to(tmp_path / "notes.png")
    arguments = [str(restore_files / "identity.keras"), str(photos), str(out), "--overwrite"]
    assert restore_main(arguments) == 0
    assert (tmp_path / "notes.png").read_bytes() == b"the user's file elsewhere"
    assert not (out / "a.png").is_symlink() and Image.open(out / "a.png").size == (24, 20)
    assert sorted(path.name for path in out.iterdir()) == ["a.png"]  # no temporary left


def test_a_greyscale_photo_comes_back_greyscale(tmp_path, restore_files):
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (20, 24), np.uint8)).save(
        photos / "g.png"
    )
    assert (
        restore_main(
            [
                str(restore_files / "identity.keras"),
                str(photos),
                str(tmp_path / "out"),
                "--mode",
                "tile",
            ]
        )
        == 0
    )
    restored = Image.open(tmp_path / "out" / "g.png")
    assert restored.mode == "L"
    np.testing.assert_array_equal(np.asarray(restored), np.asarray(Image.open(photos / "g.png")))


def test_a_tiny_photo_is_restored_with_a_warning(tmp_path, restore_files, capsys):
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(photos / "t.png")
    assert (
        restore_main([str(restore_files / "identity.keras"), str(photos), str(tmp_path / "out")])
        == 0
    )
    assert "t.png: 8x8 pixels, a side below --min-side 32" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Pair alignment at the sizes users bring: every genuine pair kept, another photo refused,
# and a reason that takes many pairs said so in the log.
HEAVY_DAMAGE = DamageSettings(strokes=(36, 36))
SMALL_SIDE = 64  # the smallest damaged side the check must keep every genuine pair at


def _small_damaged_copy(clean: Path, damaged: Path, name: str) -> None:
    """humanface8000's way of damaging (stretched to 256 px, then painted), saved small."""
    photo = np.asarray(Image.open(clean).convert("RGB"))
    square = fit_square(photo, REFERENCE_SIZE, "stretch")
    painted, _ = damage_pair(square, 5, name, HEAVY_DAMAGE)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    small = Image.fromarray(painted).resize((SMALL_SIDE, SMALL_SIDE), Image.Resampling.LANCZOS)
    small.save(damaged, quality=90)


def _skipped_reasons(path: Path) -> dict[str, str]:
    with open(path, newline="") as handle:
        return {row["name"]: row["reason"] for row in csv.DictReader(handle, delimiter="\t")}


@pytest.mark.parametrize("source", ["humanface8000", "pairs"])
def test_a_small_jpeg_of_a_heavily_damaged_photo_is_kept_and_another_photo_refused(
    tmp_path, source
):
    raw = tmp_path / "raw"
    if source == "humanface8000":
        clean, damaged = raw / HUMANFACE_FOLDER / "color", raw / HUMANFACE_FOLDER / "gray"
    else:
        clean, damaged = raw / "clean", raw / "damaged"
    for i in range(6):
        save_photo(clean / f"p{i}.jpg", (200, 240), seed=i)
        _small_damaged_copy(clean / f"p{i}.jpg", damaged / f"p{i}.jpg", f"p{i}")
    save_photo(clean / "other.jpg", (200, 240), seed=6)
    _small_damaged_copy(clean / "p0.jpg", damaged / "other.jpg", "other")
    settings = PrepareSettings(source=source, image_size=16, test_fraction=0.3, seed=5)
    skipped = tmp_path / "skipped.tsv"
    prepare(settings, raw, tmp_path / "dataset.h5", skipped)
    reasons = _skipped_reasons(skipped)
    assert list(reasons) == ["other"], reasons
    assert "misaligned pair" in reasons["other"] and f"at {SMALL_SIDE} px" in reasons["other"]


def test_a_stretched_damaged_side_is_kept_under_fit_stretch(tmp_path):
    """Stretching loses nothing when both sides are stretched: humanface8000 is made so."""
    _misaligned(tmp_path / "raw", "stretched")
    settings = PrepareSettings(source="pairs", image_size=16, test_fraction=0.3, seed=5, min_side=8)
    skipped = tmp_path / "skipped.tsv"
    report = prepare(settings, tmp_path / "raw", tmp_path / "dataset.h5", skipped)
    assert report.total_written == 7 and _skipped_reasons(skipped) == {}


def test_a_reason_that_takes_many_pairs_is_counted_and_warned_about(tmp_path, caplog):
    raw = tmp_path / "raw"
    for i in range(20):
        save_pair(raw / "clean" / f"p{i}.jpg", raw / "damaged" / f"p{i}.png", seed=i)
    for i in range(3):  # another photo's damaged image under each name
        save_photo(raw / "clean" / f"wrong{i}.jpg", seed=100 + i)
        save_pair(tmp_path / "other" / f"{i}.jpg", raw / "damaged" / f"wrong{i}.png", seed=200 + i)
    save_photo(raw / "damaged" / "orphan.png", seed=300)
    caplog.set_level(logging.INFO, logger="restorebench.data.prepare")
    settings = PrepareSettings(source="pairs", image_size=16, test_fraction=0.3, seed=5, min_side=8)
    prepare(settings, raw, tmp_path / "dataset.h5", tmp_path / "skipped.tsv")
    messages = [record.getMessage() for record in caplog.records]
    counts = [message for message in messages if message.startswith("skipped by reason")]
    assert counts == [
        f"skipped by reason: 3 misaligned pair, 1 no clean partner in {raw / 'clean'}"
    ], messages
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "pairs found" in record.getMessage()
    ]
    assert len(warnings) == 1, messages  # the one orphan is under the share that warns
    assert warnings[0].startswith("3 of the 24 pairs found (12 %) were skipped as misaligned pair")
    assert str(tmp_path / "skipped.tsv") in warnings[0]
