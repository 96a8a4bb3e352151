"""What made a run's outputs, in the viewer: the records the Run reads, their text, the model
boxes' tooltips and *File → About this run* (pytest-qt, offscreen)."""

from __future__ import annotations

import h5py
import pytest
from viewer_fixtures import GAN_TRAINING, as_shown, small_run, write_records

from restorebench import __version__, contract
from restorebench.runtime import provenance
from viewer.about import model_tooltip, run_text, setting_lines
from viewer.run_models import PREDICTED, SCORED, TRAINED
from viewer.runfiles import Run
from viewer.window import ViewerWindow

NOT_RECORDED = provenance.describe(None)


@pytest.fixture
def fake_run(tmp_path):
    return small_run(tmp_path)


def open_window(qtbot, run) -> ViewerWindow:
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def about_action(win: ViewerWindow):
    return next(a for a in win.actions() if a.text() == "About this run…")


def test_every_stage_record_is_read(fake_run):
    codes = write_records(fake_run)
    with Run(fake_run) as run:
        assert run.problems == []
        assert run.dataset_record.entry["code"] == codes["dataset"]
        assert run.dataset_record.entry["settings"]["damage"] == {"strokes": 4}
        gan = run.models["gan"].records
        assert list(gan) == [TRAINED, PREDICTED, SCORED]  # in the order they ran
        assert {stage: r.entry["code"] for stage, r in gan.items()} == {
            stage: codes[f"gan/{stage}"] for stage in gan
        }
        assert gan[TRAINED].entry["settings"] == GAN_TRAINING
        assert gan[SCORED].entry["settings"]["metrics"] == list(contract.metric_names())
        # Baselines are not trained; the input's pixels are dataset.h5's, only its scores
        # have a record of their own.
        assert list(run.models["inpaint"].records) == [PREDICTED, SCORED]
        assert list(run.models[contract.INPUT_MODEL].records) == [SCORED]
        line = gan[PREDICTED].line()
        assert line == f"restorebench {__version__}, code {codes['gan/predicted']}"


def test_a_run_from_before_records_reads_as_not_recorded(fake_run):
    (fake_run / "models" / "gan").mkdir(parents=True)
    (fake_run / "models" / "gan" / "restorer.keras").write_bytes(b"stand-in")
    # An empty sidecar is what `snakemake --touch` leaves: no record either.
    (fake_run / "metrics" / "vae.provenance.json").write_text("")
    with Run(fake_run) as run:
        assert run.problems == []
        assert run.dataset_record.line() == NOT_RECORDED
        assert list(run.models["gan"].records) == [TRAINED, PREDICTED, SCORED]
        assert list(run.models["vae"].records) == [PREDICTED, SCORED]  # no model on disk
        lines = [r.line() for m in run.models.values() for r in m.records.values()]
        assert lines and set(lines) == {NOT_RECORDED}


def test_a_broken_record_is_a_problem_and_the_output_still_shows(fake_run):
    write_records(fake_run)
    (fake_run / "models" / "gan" / "provenance.json").write_text("{cut")
    (fake_run / "metrics" / "vae.provenance.json").write_text("[1, 2]")
    with h5py.File(fake_run / "predictions" / "inpaint.h5", "r+", locking=False) as file:
        file.attrs[provenance.ATTRIBUTE] = "{half a record"
    with Run(fake_run) as run:
        assert len(run.problems) == 3
        trained = run.models["gan"].records[TRAINED]
        assert trained.entry is None and trained.broken in run.problems
        assert f"{fake_run}/models/gan/provenance.json: not a provenance record" in trained.broken
        assert "delete it" in trained.broken  # restorebench.runtime.provenance's fix, kept whole
        assert (
            "vae.provenance.json: not a provenance record"
            in run.models["vae"].records[SCORED].line()
        )
        predicted = run.models["inpaint"].records[PREDICTED]
        assert predicted.broken.startswith(
            "predictions/inpaint.h5: its 'provenance' attribute is not a provenance record"
        )
        assert predicted.line().startswith("unreadable record: predictions/inpaint.h5")
        # The outputs themselves are untouched by their records.
        assert run.image("inpaint", 0) is not None and run.models["vae"].scores is not None
        assert run.models["gan"].records[SCORED].entry is not None


def test_the_about_text_lists_every_stage_with_its_settings(fake_run):
    codes = write_records(fake_run)
    with Run(fake_run) as run:
        text = run_text(run)
        tooltip = model_tooltip(run.models["gan"])
    lines = text.splitlines()
    assert lines[0] == f"Run {fake_run}"
    assert f"dataset: restorebench {__version__}, code {codes['dataset']}" in lines
    assert "  damage.strokes: 4" in lines
    start = lines.index("GAN")
    gan = lines[start : lines.index("", start)]
    for stage in (TRAINED, PREDICTED, SCORED):
        assert f"  {stage}: restorebench {__version__}, code {codes[f'gan/{stage}']}" in gan
    # The family's resolved settings, one per line.
    for setting in ("family: gan", "model.ema: 0.999", "model.loss.l1: 100.0", "options.seed: 42"):
        assert f"    {setting}" in gan
    assert f"    metrics: [{', '.join(contract.metric_names())}]" in gan
    assert any(line.startswith("    versions: ") and "numpy" in line for line in gan)
    assert tooltip.splitlines()[1:4] == [
        f"{stage}: restorebench {__version__}, code {codes[f'gan/{stage}']}"
        for stage in (TRAINED, PREDICTED, SCORED)
    ]


def test_settings_read_as_a_config_writes_them():
    settings = {"fit": "stretch", "ema": None, "jit": True, "loss": {"l1": 1.5}, "sizes": [32, 64]}
    assert setting_lines(settings) == [
        "fit: stretch",
        "ema: null",
        "jit: true",
        "loss.l1: 1.5",
        "sizes: [32, 64]",
    ]


# -- the window ---------------------------------------------------------------------------
def test_the_window_shows_each_models_records(qtbot, fake_run):
    codes = write_records(fake_run)
    win = open_window(qtbot, fake_run)
    assert win.problems == [] and win.banner.isHidden()
    tip = as_shown(win.model_boxes["gan"].toolTip())
    for stage in (TRAINED, PREDICTED, SCORED):
        assert f"{stage}: restorebench {__version__}, code {codes[f'gan/{stage}']}" in tip
    assert "restorebench" in as_shown(win.model_boxes["inpaint"].toolTip())
    action = about_action(win)
    assert action.shortcut().toString() == "Ctrl+I"
    action.trigger()
    qtbot.waitExposed(win.about)
    assert win.about.isVisible() and win.about.windowTitle() == "About this run"
    text = win.about_text.toPlainText()
    assert text == run_text(win.run)
    assert f"code {codes['dataset']}" in text and "    model.ema: 0.999" in text


def test_an_old_run_in_the_window_says_not_recorded_until_records_appear(qtbot, fake_run):
    win = open_window(qtbot, fake_run)
    assert win.problems == []
    assert NOT_RECORDED in as_shown(win.model_boxes["gan"].toolTip())
    win.show_about()
    assert f"dataset: {NOT_RECORDED}" in win.about_text.toPlainText()
    # The workflow reruns (writing in place here, so the window lets go of the files first):
    # the open dialog and the tooltips follow the reload.
    win.run.close()
    codes = write_records(fake_run)
    win.reload()
    assert f"dataset: restorebench {__version__}, code {codes['dataset']}" in (
        win.about_text.toPlainText()
    )
    assert codes["gan/trained"] in as_shown(win.model_boxes["gan"].toolTip())


def test_a_broken_record_is_in_the_banner_not_a_crash(qtbot, fake_run):
    write_records(fake_run)
    (fake_run / "models" / "gan" / "provenance.json").write_text("{cut")
    with h5py.File(fake_run / "dataset.h5", "r+", locking=False) as file:
        file.attrs[provenance.ATTRIBUTE] = "not json"
    win = open_window(qtbot, fake_run)
    banner = as_shown(win.banner.text())
    assert win.banner.isVisible()
    assert "models/gan/provenance.json: not a provenance record" in banner
    assert "dataset.h5: its 'provenance' attribute is not a provenance record" in banner
    assert win.panels.panels["gan"].rgb.image is not None  # the model is shown all the same
    assert "trained: unreadable record" in as_shown(win.model_boxes["gan"].toolTip())
    win.show_about()
    assert "dataset: unreadable record: dataset.h5" in win.about_text.toPlainText()
