"""Which panels the window shows: the damaged input, the clean reference and the models
ticked in the boxes at the top (every trained model by default)."""

from __future__ import annotations

from PyQt6.QtWidgets import QCheckBox

from viewer.about import model_tooltip
from viewer.runfiles import FIXED_PANELS
from viewer.scores import label
from viewer.table import plain_tooltip


class ModelPanels:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): the model boxes and the panels they choose."""

    def _choose_defaults(self) -> None:
        """Tick every trained model not offered before (unless the panels were asked for);
        name the asked-for models the run does not have."""
        if self.asked is None:
            self.chosen.update(m for m in self.run.trained_models() if m not in self._offered)
        elif why := self.run.unknown_models(self.asked):
            self.problems.append(f"panels asked for: {why}")
        self._offered.update(self.run.image_models())

    def _rebuild_model_boxes(self) -> None:
        for box in self.model_boxes.values():
            self.model_bar.removeWidget(box)
            box.deleteLater()
        self.model_boxes = {}
        for model in self.run.image_models() if self.run else []:
            # '&' would otherwise mark a keyboard accelerator and vanish from the label.
            box = QCheckBox(label(model).replace("&", "&&"), checked=model in self.chosen)
            box.setProperty("model", model)
            box.setToolTip(plain_tooltip(model_tooltip(self.run.models[model])))
            box.toggled.connect(self._model_box_toggled)
            self.model_bar.addWidget(box)
            self.model_boxes[model] = box

    def _model_box_toggled(self, on: bool) -> None:
        self.choose_model(self.sender().property("model"), on)

    def choose_model(self, model: str, on: bool) -> None:
        """Add or remove a model's panel (the same as ticking its box)."""
        (self.chosen.add if on else self.chosen.discard)(model)
        if model in self.model_boxes and self.model_boxes[model].isChecked() != on:
            self.model_boxes[model].setChecked(on)
        self._rebuild_panels()
        if self.current is not None:
            self.show_index(self.current)

    def _rebuild_panels(self) -> None:
        models = self.run.image_models() if self.run else []
        self.panels.set_panels([*FIXED_PANELS, *(m for m in models if m in self.chosen)])
        self._fill_compare_choices()
