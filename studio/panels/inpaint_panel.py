"""The Inpaint view: paint over the part of an image to replace, let an image model fill it, pick a variation.

The panel owns a :class:`~studio.documents.canvas.CanvasDocument` (the image and the mask, one undo stack) and
shows it in a :class:`~studio.widgets.canvas_view.CanvasView`. Images come from a file (Open, or drop a PNG or
JPEG on the view; a file that cannot be read shows one line saying so and changes nothing) or from the
model's own data (Test digit: test example number N of the data the model was trained on). The mask is
painted with the brush, the eraser and the rectangle tool, inverted, cleared and feathered; every gesture is
one undo step.

Inpaint runs :func:`engine.inpainting.inpaint` on the engine thread through the bridge with the chosen image
model (RBM: clamped Gibbs sampling; Variational Walkback: a clamped cooling walk). The job sees the image and
mask resized to the model's input; its frames (only the newest kept, drawn at most ~30 times a second) are
blended back over the image where the mask is, so the masked region settles on the canvas while the rest
stays as it was, and every variation is drawn as a thumbnail. Click a thumbnail to look at it on the canvas,
Apply (or double-click) to put it in the image: one undoable command that changes only masked pixels. Stop
keeps the variations as far as they got. Save PNG writes the image.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QActionGroup, QDragEnterEvent, QDropEvent, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QFrame, QGroupBox, QHBoxLayout, QLabel,
                               QListView, QListWidget, QListWidgetItem, QScrollArea, QSlider, QVBoxLayout, QWidget)

from studio.documents.canvas import CanvasDocument, ImageFileError, bbox, qimage_gray, to_gray8
from studio.widgets.action_bar import action_bar
from studio.widgets.canvas_view import BRUSH_DEFAULT, BRUSH_MAX, BRUSH_MIN, CanvasView
from studio.widgets.controls import Throttle, spin_box

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff", ".webp")
THUMB = 88
HINT = "Open an image (or drop a PNG / JPEG here) or pick a test digit, paint over the part to replace, Inpaint."
#: the label of the last thumbnail: the average of the variations (the expected completion)
AVERAGE = "average"


class InpaintPanel(QWidget):
    #: a message for the window's banner (text, level "error" / "warning" / "info")
    notified = Signal(str, str)
    #: an inpainting job ended with results (how many variations)
    results_ready = Signal(int)
    #: a variation was applied to the image (its index)
    result_applied = Signal(int)
    #: a frame of a running job was drawn (its step)
    frame_shown = Signal(int)

    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.data_root = data_root
        self.doc = CanvasDocument(parent=self)
        self.canvas = CanvasView(self.doc)
        self.handle: Any = None
        self._job: dict[str, Any] | None = None  # model, seed, steps of the running or last job
        self._latest: Any = None  # the newest Frame of the running job
        self.results: np.ndarray | None = None  # the variations (n, h, w) at the model's size
        self.average: int | None = None  # the index of their average in ``results``, when it is there
        self.chosen = 0
        self._loading: Any = None  # the job fetching a test digit
        self.setAcceptDrops(True)

        # ----- the image: files, test digits, undo -----
        image_bar, self.buttons = action_bar(self, "image", (
            ("open", "Open image…", "Open a PNG or JPEG (or drop one on the canvas); colours become grey levels",
             lambda: self.open_image()),
            ("digit", "Test digit", "Open test example N of the data the model was trained on",
             lambda: self.pick_test_digit()),
            ("save", "Save PNG…", "Save the image (without the mask) as a PNG", lambda: self.save_png()),
            ("undo", "Undo", "Undo the last edit (Ctrl+Z)", lambda: self.doc.undo_stack.undo()),
            ("redo", "Redo", "Redo (Ctrl+Shift+Z)", lambda: self.doc.undo_stack.redo())))
        self.digit_index = spin_box(0, 1_000_000, 0, "Which test example Test digit opens")
        self.digit_index.setObjectName("inpaint_digit_index")
        image_bar.insertWidget(self.buttons["save"], self.digit_index)
        image_bar.insertSeparator(self.buttons["save"])
        image_bar.insertSeparator(self.buttons["undo"])

        # ----- the mask: tools, brush size, whole-mask edits, zoom -----
        mask_bar, mask_buttons = action_bar(self, "mask", (
            ("brush", "Brush", "Paint the region to replace (B); the right button erases",
             lambda: self.set_tool("brush")),
            ("eraser", "Eraser", "Take the mask away (E); the right button paints", lambda: self.set_tool("eraser")),
            ("rect", "Rectangle", "Drag a rectangle to mask (R); the right button unmasks one",
             lambda: self.set_tool("rect")),
            ("invert", "Invert", "Replace what is kept and keep what was to be replaced", self.doc.invert_mask),
            ("clear", "Clear", "Remove the whole mask", self.doc.clear_mask),
            ("feather", "Feather", "Soften the mask's edge outwards, so a result fades into the image",
             lambda: self.doc.feather(self.feather_radius.value())),
            ("zoom_out", "Zoom −", "Zoom out (Ctrl+wheel)", lambda: self.canvas.zoom_by(1 / 1.25)),
            ("zoom_in", "Zoom +", "Zoom in (Ctrl+wheel)", lambda: self.canvas.zoom_by(1.25)),
            ("fit", "Fit", "Fit the image to the view (F); middle-drag or Space-drag pans", self.canvas.fit),
            ("show", "Mask", "Show the mask over the image", lambda: self.canvas.set_show_mask(
                self.buttons["show"].isChecked()))))
        self.buttons.update(mask_buttons)
        tools = QActionGroup(self)
        for key in ("brush", "eraser", "rect"):
            self.buttons[key].setCheckable(True)
            tools.addAction(self.buttons[key])
        self.buttons["brush"].setChecked(True)
        self.buttons["show"].setCheckable(True)
        self.buttons["show"].setChecked(True)
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setObjectName("inpaint_brush_size")
        self.brush_slider.setRange(BRUSH_MIN, 64)
        self.brush_slider.setFixedWidth(110)
        self.brush_slider.setToolTip("Brush diameter in image pixels ([ and ] change it)")
        self.brush_label = QLabel("")
        self.brush_label.setMinimumWidth(44)
        self.feather_radius = spin_box(1, 256, 2, "How far (image pixels) Feather softens the mask's edge")
        self.feather_radius.setObjectName("inpaint_feather_radius")
        self.feather_radius.setSuffix(" px")
        mask_bar.insertSeparator(self.buttons["invert"])
        mask_bar.insertWidget(self.buttons["invert"], QLabel(" Size "))
        mask_bar.insertWidget(self.buttons["invert"], self.brush_slider)
        mask_bar.insertWidget(self.buttons["invert"], self.brush_label)
        mask_bar.insertSeparator(self.buttons["invert"])
        mask_bar.insertWidget(self.buttons["zoom_out"], self.feather_radius)
        mask_bar.insertSeparator(self.buttons["zoom_out"])
        mask_bar.insertSeparator(self.buttons["show"])

        # ----- the model and its job -----
        self.model = QComboBox()
        self.model.setObjectName("inpaint_model")
        self.model.setToolTip("The image model that fills the mask (RBM, Variational Walkback)")
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(14)
        self.model.currentIndexChanged.connect(lambda _: self._update_buttons())
        self.steps = spin_box(1, 1_000_000, 200, "Gibbs steps (walkback steps) of each chain, known pixels clamped")
        self.steps.setObjectName("inpaint_steps")
        self.variations = spin_box(1, 16, 4, "Completions made at once, to compare and choose from")
        self.variations.setObjectName("inpaint_variations")
        self.seed = spin_box(0, 2**31 - 1, 0, "Seed: the same seed gives the same completions")
        self.seed.setObjectName("inpaint_seed")
        self.fps = spin_box(0, 240, 60, "At most this many steps a second, to watch the region settle (max: as "
                                        "fast as the model goes)")
        self.fps.setObjectName("inpaint_fps")
        self.fps.setSpecialValueText("max")
        self.model_note = QLabel("")
        self.model_note.setObjectName("inpaint_model_note")
        self.model_note.setWordWrap(True)
        self.model_note.setStyleSheet("color: rgb(200, 120, 20);")
        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Steps", self.steps)
        form.addRow("Variations", self.variations)
        form.addRow("Seed", self.seed)
        form.addRow("Steps/s", self.fps)
        form.addRow(self.model_note)
        run_bar, run_buttons = action_bar(self, "inpaint", (
            ("run", "Inpaint", "Fill the masked region with the model (Ctrl+Return)", lambda: self.run()),
            ("stop", "Stop", "Stop the model; the variations so far stay", self.stop),
            ("apply", "Apply", "Put the chosen variation into the image (one undo step)", lambda: self.apply())))
        self.buttons.update(run_buttons)
        box = QGroupBox("Inpainting")
        v = QVBoxLayout(box)
        v.addLayout(form)
        v.addWidget(run_bar)

        self.thumbs = QListWidget()
        self.thumbs.setObjectName("inpaint_variations_list")
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(THUMB, THUMB))
        self.thumbs.setMovement(QListView.Movement.Static)
        self.thumbs.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbs.setGridSize(QSize(THUMB + 14, THUMB + 26))
        self.thumbs.setStyleSheet("QListWidget::item { border: 2px solid transparent; border-radius: 3px; }"
                                  "QListWidget::item:selected { border: 2px solid rgb(240, 140, 40); "
                                  "background: transparent; color: palette(text); }")
        self.thumbs.setToolTip("Click a variation to see it on the canvas, double-click to apply it")
        self.thumbs.currentRowChanged.connect(self._on_thumb)
        self.thumbs.itemDoubleClicked.connect(lambda item: self.apply(self.thumbs.row(item)))
        results = QGroupBox("Variations")
        rv = QVBoxLayout(results)
        rv.addWidget(self.thumbs)
        side = QVBoxLayout()
        side.addWidget(box)
        side.addWidget(results, 1)
        side.setContentsMargins(0, 0, 0, 0)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMinimumHeight(THUMB * 2 + 260)  # the form and two rows of thumbnails, when there is room
        side_scroll = QScrollArea()  # a short window scrolls the settings instead of growing taller
        side_scroll.setWidget(side_widget)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setFixedWidth(2 * THUMB + 112)

        shortcuts = {"undo": QKeySequence.StandardKey.Undo, "redo": QKeySequence.StandardKey.Redo,
                     "run": "Ctrl+Return"}
        for key, seq in shortcuts.items():
            a = self.buttons[key]
            a.setShortcut(QKeySequence(seq))
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(a)

        self.status = QLabel(HINT)
        self.status.setObjectName("inpaint_status")
        self.status.setWordWrap(True)
        self.info = QLabel("")
        self.info.setObjectName("inpaint_info")
        foot = QHBoxLayout()
        foot.addWidget(self.status, 1)
        foot.addWidget(self.info)
        body = QHBoxLayout()
        body.addWidget(self.canvas, 1)
        body.addWidget(side_scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(image_bar)
        layout.addWidget(mask_bar)
        layout.addLayout(body, 1)
        layout.addLayout(foot)

        self.brush_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.brush_size_changed.connect(self._on_brush_size)
        self.canvas.tool_changed.connect(lambda t: self.buttons[t].setChecked(True))
        self.canvas.view_changed.connect(lambda _: self._update_info())
        self.canvas.hovered.connect(self._update_info)
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.reset.connect(self._on_doc_reset)
        self.doc.undo_stack.canUndoChanged.connect(self.buttons["undo"].setEnabled)
        self.doc.undo_stack.canRedoChanged.connect(self.buttons["redo"].setEnabled)
        self.bridge.frame_ready.connect(self._on_frame)
        self.bridge.progress_changed.connect(self._on_progress)
        self.bridge.job_failed.connect(self._on_job_end)
        self.bridge.job_cancelled.connect(self._on_job_end)
        library.models_changed.connect(self._fill_models)
        library.current_changed.connect(self._on_current_model)
        self.repaints = Throttle(33, self._repaint, self)
        self.canvas.set_brush_size(BRUSH_DEFAULT)
        self._on_brush_size(self.canvas.brush_size)
        self._fill_models()
        self._on_current_model(library.current)

    # ----- models -----
    def image_models(self) -> list[str]:
        """The models in the library that work on single images (every kind but sequence models)."""
        return [n for n, i in self.library.infos.items() if not i.get("sequence")]

    def model_name(self) -> str:
        return self.model.currentText()

    def _fill_models(self) -> None:
        names = self.image_models()
        if names == [self.model.itemText(i) for i in range(self.model.count())]:
            self._update_buttons()
            return
        keep = self.model_name()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(names)
        current = self.library.current if self.library.current in names else keep
        if current in names:
            self.model.setCurrentText(current)
        self.model.blockSignals(False)
        self._on_current_model(self.library.current)

    def _on_current_model(self, name: str) -> None:
        """Inpaint with the current model when it is an image model; say so when it cannot inpaint."""
        info = self.library.infos.get(name) or {}
        note = ""
        if name and info.get("sequence"):
            kind = info.get("kind", "")
            what = "music" if info.get("music") else "sequences"
            note = f"{name} is a model of {what} ({kind}): it cannot inpaint images."
            others = self.image_models()
            note += (f" Inpainting uses {self.model_name() or others[0]}." if others else
                     " Open or create an image model (RBM, Variational Walkback) to inpaint.")
        elif name and self.model.findText(name) >= 0:
            self.model.setCurrentText(name)
        if not self.image_models():
            note = note or "No image model yet: open or create an RBM or a Variational Walkback model."
        self.model_note.setText(note)
        self.model_note.setVisible(bool(note))
        self._update_buttons()

    # ----- the job -----
    def run(self) -> Any:
        """Start inpainting the masked region with the chosen model; returns the job handle (or None)."""
        from engine.inpainting import inpaint

        name = self.model_name()
        if not name:
            self._say(self.model_note.text() or "Choose an image model to inpaint with.")
            return None
        selection = self.doc.selection()
        if not selection.any():
            self._say("Paint over the region to replace first (Brush or Rectangle), then press Inpaint.")
            return None
        self.stop()
        self.close_variations()
        self._job = {"model": name, "seed": self.seed.value(), "steps": self.steps.value()}
        self.handle = self.bridge.submit(
            inpaint, name, self.doc.image.copy(), selection, steps=self.steps.value(),
            variations=self.variations.value(), seed=self.seed.value(), every=1, fps=float(self.fps.value()),
            on_done=self._on_done, job_name=f"inpaint {name}")
        self.status.setText(f"{name} is filling {int(selection.sum()):,} pixels…")
        self._update_buttons()
        return self.handle

    def stop(self) -> None:
        if self.handle is not None:
            self.bridge.cancel(self.handle)

    def _mine(self, e: Any) -> bool:
        return self.handle is not None and e.job == self.handle.id

    def _on_frame(self, e: Any) -> None:
        if self._mine(e) and e.label == "inpaint":
            self._latest = e  # only the newest counts
            self.repaints.request()

    def _on_progress(self, e: Any) -> None:
        if self._mine(e) and self._job is not None:
            self.status.setText(f"{self._job['model']}: step {e.step:,} of {e.total:,}")

    def _repaint(self) -> None:
        e = self._latest
        if self.handle is not None and e is not None:
            self._show(np.asarray(e.image))
            self.frame_shown.emit(e.step)
        elif self.results is not None:
            self._show(self.results)

    def _on_done(self, out: dict) -> None:
        self.handle = None
        self._latest = None
        images = np.asarray(out["images"], np.float32)
        n = len(images)
        expected = out.get("expected")
        if expected is not None and n > 1:  # the average, after the variations
            images = np.concatenate([images, np.asarray(expected, np.float32)[None]])
        self._finish(images)
        self.average = n if len(images) > n else None
        fe = out.get("free_energy")
        ranked = fe is not None and n > 1
        for k in range(min(n, self.thumbs.count())):
            self.thumbs.item(k).setToolTip(
                f"Variation {k + 1}" + (f" · free energy {fe[k]:.1f} (lower: more probable)" if fe else ""))
        if self.average is not None:
            item = self.thumbs.item(self.average)
            item.setText(AVERAGE)
            item.setToolTip(f"The average of the {n} variations over their last half of the steps: the model's "
                            "expected completion,\nsmoother than any one of them and the best guess on average "
                            "(the best of an RBM fine-tuned for inpainting)")
        self.status.setText(f"{self._job['model']}: done · " + (
            f"{n} variations{', most probable first' if ranked else ''} and their average: click one to look at "
            "it, Apply to keep it" if n > 1 else "Apply to keep it") + " (Undo takes it back)")
        self.results_ready.emit(n)

    def _on_job_end(self, e: Any) -> None:
        if not self._mine(e):
            return
        from engine import events as ev

        self.handle = None
        latest, self._latest = self._latest, None
        if isinstance(e, ev.Failed):
            self.close_variations()
            self._say(f"Inpainting stopped with an error: {e.message}", "error")
        elif latest is not None:
            self._finish(np.array(latest.image, np.float32))
            self.status.setText(f"Stopped at step {latest.step:,}: the variations as far as they got can be "
                                "applied.")
        else:
            self.close_variations()
            self.status.setText("Stopped before the first step; nothing to apply.")
        self._update_buttons()

    def _finish(self, images: np.ndarray) -> None:
        self.results = images
        self.chosen = min(self.chosen, len(images) - 1)
        self._show(images)
        self._update_buttons()

    def _show(self, images: np.ndarray) -> None:
        """Variation ``chosen`` on the canvas (blended in where the mask is), every variation as a thumbnail."""
        rect = bbox(self.doc.mask > 0)
        if rect is None:
            self.canvas.set_preview(None)
            return
        x, y, w, h = rect
        while self.thumbs.count() < len(images):
            item = QListWidgetItem(f"{self.thumbs.count() + 1}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.thumbs.addItem(item)
        base = to_gray8(self.doc.image)
        for k, result in enumerate(images):
            _, pixels = self.doc.composite(result, rect)
            if k == self.chosen:
                self.canvas.set_preview(pixels, rect)
            full = base.copy()
            full[y:y + h, x:x + w] = to_gray8(pixels)
            pixmap = thumbnail(full)
            icon = QIcon(pixmap)
            icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the frame marks the chosen one, not a tint
            self.thumbs.item(k).setIcon(icon)
        if self.thumbs.currentRow() != self.chosen:
            self.thumbs.blockSignals(True)
            self.thumbs.setCurrentRow(self.chosen)
            self.thumbs.blockSignals(False)

    def _on_thumb(self, row: int) -> None:
        if row >= 0:
            self.choose(row)

    def choose(self, k: int) -> None:
        """Look at variation ``k`` on the canvas."""
        self.chosen = max(0, int(k))
        if self.thumbs.currentRow() != self.chosen:
            self.thumbs.setCurrentRow(self.chosen)
        self._repaint()

    def apply(self, k: int | None = None) -> Any:
        """Put variation ``k`` (default: the chosen one) into the image as one undoable command."""
        if self.results is None:
            return None
        k = self.chosen if k is None else int(k)
        job = self._job or {}
        what = "the average of the variations" if k == self.average else f"variation {k + 1}"
        cmd = self.doc.apply_result(self.results[k], f"inpaint with {job.get('model', 'the model')} "
                                                     f"({what}, seed {job.get('seed', 0)})")
        self.close_variations()
        self.status.setText(f"Applied {what}. Undo (Ctrl+Z) takes it back.")
        self.result_applied.emit(k)
        return cmd

    def close_variations(self) -> None:
        self.results = None
        self.average = None
        self.chosen = 0
        self._latest = None
        self.thumbs.blockSignals(True)
        self.thumbs.clear()
        self.thumbs.blockSignals(False)
        self.canvas.set_preview(None)
        self._update_buttons()

    # ----- the image -----
    def open_image(self, path: str | None = None) -> bool:
        """Open an image file; one that cannot be read shows its one-line message and changes nothing."""
        if path is None:
            filt = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
            path = QFileDialog.getOpenFileName(self, "Open image", "", filt)[0]
            if not path:
                return False
        try:
            self.doc.load_file(path)
        except ImageFileError as exc:
            self._say(str(exc), "error")
            return False
        h, w = self.doc.shape
        self.status.setText(f"Opened {Path(path).name} ({w} × {h}). Paint over the part to replace.")
        return True

    def pick_test_digit(self, index: int | None = None) -> Any:
        """Open test example ``index`` (default: the spin box's) of the chosen model's data."""
        from engine.jobs import data_example

        name = self.model_name()
        spec = dict(((self.library.infos.get(name) or {}).get("data") or {}).get("spec") or {})
        if not spec:
            self._say(f"{name} does not say what data it was trained on: open an image instead." if name else
                      "Choose an image model first: its test examples are the digits on offer.")
            return None
        if self.data_root():
            spec["root"] = self.data_root()
        if index is not None:
            self.digit_index.setValue(int(index))

        def done(out: dict) -> None:
            self._loading = None
            self.doc.open_image(out["image"], f"{out['name']} test example {out['index']}")
            self.status.setText(f"Test example {out['index']:,} of {out['count']:,} ({out['name']}). Paint over "
                                "the part to replace.")

        def failed(message: str) -> None:
            self._loading = None
            self._say(f"Cannot open a test example: {message}", "error")

        self._loading = self.bridge.submit(data_example, spec, self.digit_index.value(), on_done=done,
                                           on_error=failed, job_name="open a test example")
        return self._loading

    def save_png(self, path: str | None = None) -> str | None:
        if path is None:
            stem = Path(self.doc.source).stem if self.doc.source and Path(self.doc.source).suffix else "inpainted"
            path = QFileDialog.getSaveFileName(self, "Save image", f"{stem}.png", "PNG (*.png)")[0]
            if not path:
                return None
        try:
            out = self.doc.save_png(path)
        except OSError as exc:
            self._say(str(exc), "error")
            return None
        self.status.setText(f"Saved {out}")
        return str(out)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if self._image_urls(e.mimeData()):
            e.acceptProposedAction()
        else:
            e.ignore()

    def dropEvent(self, e: QDropEvent) -> None:
        paths = self._image_urls(e.mimeData())
        if paths:
            self.open_image(paths[0])
            e.acceptProposedAction()

    @staticmethod
    def _image_urls(mime: QMimeData) -> list[str]:
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile().lower().endswith(
            IMAGE_SUFFIXES)]

    # ----- the document and the view -----
    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.canvas.setFocus()

    def _on_brush_size(self, size: int) -> None:
        if self.brush_slider.maximum() < size:
            self.brush_slider.setMaximum(BRUSH_MAX)
        self.brush_slider.blockSignals(True)
        self.brush_slider.setValue(size)
        self.brush_slider.blockSignals(False)
        self.brush_label.setText(f"{size} px")

    def _on_doc_changed(self, *_: int) -> None:
        if self.results is not None or self._latest is not None:
            self.repaints.request()  # the mask or the image under the preview changed: blend again
        self._update_buttons()

    def _on_doc_reset(self) -> None:
        self.stop()
        self.close_variations()  # they were made for the image before
        h, w = self.doc.shape
        self.brush_slider.setMaximum(max(64, min(BRUSH_MAX, max(h, w) // 2)))
        self._update_info()
        self._update_buttons()

    def _update_info(self, x: int = -1, y: int = -1) -> None:
        h, w = self.doc.shape
        where = f" · pixel ({x}, {y})" if x >= 0 else ""
        masked = int((self.doc.mask > 0).sum())
        self.info.setText(f"{w} × {h} · {masked:,} masked · zoom {self.canvas.zoom * 100:.0f}%{where}")

    def _say(self, message: str, level: str = "warning") -> None:
        self.status.setText(message)
        self.notified.emit(message, level)

    def _update_buttons(self) -> None:
        b = self.buttons
        running = self.handle is not None
        stack = self.doc.undo_stack
        b["undo"].setEnabled(stack.canUndo())
        b["redo"].setEnabled(stack.canRedo())
        b["digit"].setEnabled(bool(((self.library.infos.get(self.model_name()) or {}).get("data") or {})
                                   .get("spec")))
        has_mask = bool(self.doc.mask.any())
        b["clear"].setEnabled(has_mask)
        b["feather"].setEnabled(has_mask)
        b["run"].setEnabled(bool(self.model_name()) and has_mask)
        b["stop"].setEnabled(running)
        b["apply"].setEnabled(self.results is not None and not running)
        self._update_info()


def thumbnail(gray: np.ndarray) -> QPixmap:
    """A variation's image (H, W uint8) as a pixmap THUMB pixels on its longer side (crisp pixels when
    enlarged)."""
    img = qimage_gray(gray)
    small = max(gray.shape) <= THUMB
    mode = Qt.TransformationMode.FastTransformation if small else Qt.TransformationMode.SmoothTransformation
    return QPixmap.fromImage(img.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, mode))
