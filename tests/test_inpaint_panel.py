"""The inpainting canvas and the walkback animation: the image + mask document and its undo commands (each
storing only the changed rectangle), the custom-painted canvas driven in image coordinates (point_at), the
Inpaint view running the engine's inpaint job on a tiny RBM and applying a variation, bad image files, and the
sampling panel's walkback animation of a tiny Variational Walkback model. Tiny models only."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QToolBar

from studio.documents.canvas import CanvasDocument, EditRegion, stroke_mask
from studio.widgets.canvas_view import CanvasView
from windows import make_window, window_fixture

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE = Qt.KeyboardModifier.NoModifier
MNIST = {"name": "mnist", "binarize": "threshold"}


def random_image(shape=(28, 28), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# ----- the document -----

def test_a_stroke_covers_the_pixels_within_the_brush_radius_of_its_path():
    (x, y, w, h), hit = stroke_mask([(2.5, 2.5), (8.5, 2.5)], 3, (28, 28))
    full = np.zeros((28, 28), bool)
    full[y:y + h, x:x + w] = hit
    assert full[1:4, 2:9].all()  # the row of the path and one row either side, from end to end
    assert not full[0].any() and not full[4:].any() and not full[:, 11:].any()
    (_, _, _, _), one = stroke_mask([(5.2, 6.7)], 1, (28, 28))
    assert one.sum() == 1  # a one-pixel brush paints the pixel under the point


def test_rect_invert_clear_and_feather_undo_round_trips():
    doc = CanvasDocument()
    doc.open_image(random_image())
    image = doc.image.copy()
    doc.mask_rect(4, 6, 12, 20)
    assert doc.selection().sum() == 8 * 14 and doc.selection()[6:20, 4:12].all()
    snapshots = [doc.mask.copy()]
    doc.invert_mask()
    np.testing.assert_array_equal(doc.mask, 255 - snapshots[0])
    snapshots.append(doc.mask.copy())
    doc.clear_mask()
    assert not doc.mask.any()
    snapshots.append(doc.mask.copy())
    doc.mask_rect(10, 10, 14, 14)
    snapshots.append(doc.mask.copy())
    cmd = doc.feather(3)
    soft = doc.mask[(doc.mask > 0) & (doc.mask < 255)]
    assert len(soft) > 0 and (doc.mask[10:14, 10:14] == 255).all()  # a soft rim; the masked pixels stay
    assert cmd.rect != (0, 0, 28, 28) and cmd.nbytes < 2 * doc.mask.nbytes  # only the rectangle it changed
    after_feather = doc.mask.copy()
    assert doc.undo_stack.count() == 1 + 5  # open, then one step per edit
    for snap in reversed(snapshots):
        doc.undo_stack.undo()
        np.testing.assert_array_equal(doc.mask, snap)
    doc.undo_stack.undo()
    assert not doc.mask.any()
    for _ in range(5):
        doc.undo_stack.redo()
    np.testing.assert_array_equal(doc.mask, after_feather)
    np.testing.assert_array_equal(doc.image, image)  # mask edits never touch the image
    assert doc.clear_mask() is not None and doc.clear_mask() is None  # nothing to clear: no undo step


def test_applying_a_result_changes_only_masked_pixels_and_blends_the_feathered_rim():
    doc = CanvasDocument()
    doc.open_image(random_image((56, 56)))  # twice the model's size: the result is scaled up to it
    before = doc.image.copy()
    doc.mask_rect(0, 28, 56, 56)
    doc.feather(4)
    alpha = doc.alpha()
    result = np.ones((28, 28), np.float32)
    cmd = doc.apply_result(result)
    assert isinstance(cmd, EditRegion) and cmd.new_mask is None and cmd.rect[1] > 0  # the masked rows only
    np.testing.assert_array_equal(doc.image[alpha == 0], before[alpha == 0])
    np.testing.assert_allclose(doc.image, before * (1 - alpha) + alpha, atol=1e-6)
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.image, before)


# ----- the canvas, driven in image coordinates -----

@pytest.fixture
def canvas(qtbot):
    doc = CanvasDocument()
    doc.open_image(random_image())
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(420, 420)
    view.show()
    view.fit()
    return view


def drag(qtbot, view, points, button=LEFT):
    pts = [view.point_at(x, y).toPoint() for x, y in points]
    qtbot.mousePress(view, button, NONE, pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(view, p)
    qtbot.mouseRelease(view, button, NONE, pts[-1])


def test_each_brush_or_eraser_stroke_is_one_undo_step_that_undo_restores_exactly(qtbot, canvas):
    doc, stack = canvas.doc, canvas.doc.undo_stack
    image, empty = doc.image.copy(), doc.mask.copy()
    canvas.set_brush_size(3)
    drag(qtbot, canvas, [(3.5, 3.5), (8.5, 5.5), (14.5, 5.5), (20.5, 9.5)])
    assert stack.count() == 2  # open, one stroke
    stroke = stack.command(1)
    x, y, w, h = stroke.rect
    assert w * h < 28 * 28 / 2 and stroke.old_mask.shape == (h, w) and stroke.old_image is None
    painted = doc.mask.copy()
    assert painted[4:7, 8:15].all() and painted[3, 3] and not painted[15:].any()
    assert painted[y:y + h, x:x + w].sum() == painted.sum()  # all of it inside the stored rectangle
    # the eraser (here: the brush's right button) takes part of it away, again one step
    drag(qtbot, canvas, [(8.5, 5.5), (8.5, 4.5)], button=RIGHT)
    assert stack.count() == 3 and 0 < doc.mask.sum() < painted.sum() and doc.mask[5, 8] == 0
    stack.undo()
    np.testing.assert_array_equal(doc.mask, painted)
    stack.undo()
    np.testing.assert_array_equal(doc.mask, empty)
    np.testing.assert_array_equal(doc.image, image)
    stack.redo()
    np.testing.assert_array_equal(doc.mask, painted)


def test_the_rectangle_tool_masks_the_pixels_it_spans_and_keys_change_the_brush(qtbot, canvas):
    doc = canvas.doc
    canvas.set_tool("rect")
    drag(qtbot, canvas, [(0.5, 14.5), (10.5, 20.5), (27.5, 27.5)])
    expected = np.zeros((28, 28), bool)
    expected[14:, :] = True
    np.testing.assert_array_equal(doc.selection(), expected)
    assert doc.undo_stack.count() == 2 and doc.undo_stack.command(1).rect == (0, 14, 28, 14)
    drag(qtbot, canvas, [(0.5, 14.5), (27.5, 20.5)], button=RIGHT)  # the right button unmasks
    expected[14:21] = False
    np.testing.assert_array_equal(doc.selection(), expected)
    canvas.set_tool("brush")
    canvas.set_brush_size(10)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_size == 12
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_size == 8
    qtbot.keyClick(canvas, Qt.Key.Key_E)
    assert canvas.tool == "eraser"


def test_zoom_keeps_the_point_under_the_cursor_and_fit_shows_the_whole_image(qtbot, canvas):
    anchor = canvas.point_at(7.0, 21.0)
    canvas.zoom_by(2.0, anchor)
    assert canvas.image_at(anchor) == pytest.approx((7.0, 21.0))
    assert not canvas.fitted
    canvas.pan_by(30, -10)
    canvas.fit()
    r = canvas.image_rect()
    assert r.left() >= 0 and r.top() >= 0 and r.right() <= canvas.width() and r.bottom() <= canvas.height()
    assert max(r.width(), r.height()) > 0.8 * min(canvas.width(), canvas.height())


# ----- the Inpaint view with a tiny RBM -----

@pytest.fixture
def window(qtbot, tmp_path, mnist_root):
    yield from window_fixture(qtbot, tmp_path)


def describe_data(ctx, model, spec, shape):
    """A job standing in for training: the model now says what data it models."""
    entry = ctx.registry[model]
    entry.data = {"spec": dict(spec), "shape": list(shape)}
    ctx.registry.changed(model)


def new_model(qtbot, w, kind, config, name, data=True):
    w.create_model(kind, config, name)
    qtbot.waitUntil(lambda: name in w.library.infos, timeout=10_000)
    if data:
        w.engine.call(describe_data, name, MNIST, (28, 28))
        qtbot.waitUntil(lambda: bool(w.library.infos[name]["data"]), timeout=10_000)
    w.library.set_current(name)
    return name


def click(qtbot, w, name):
    action = w.findChild(QAction, name)
    assert action is not None and action.isEnabled(), name
    bar = w.findChild(QToolBar, name.split("_")[0] + "_bar")
    qtbot.mouseClick(bar.widgetForAction(action), LEFT)


def test_the_panel_inpaints_a_test_digit_with_a_tiny_rbm_and_applies_a_variation(qtbot, window):
    from engine.data import cached_dataset

    w = window
    name = new_model(qtbot, w, "rbm", {"n_visible": 784, "n_hidden": 8, "init_std": 1.0}, "tiny")
    panel = w.panels["inpaint"]
    w.workspace.setCurrentWidget(panel)
    assert panel.model_name() == name and panel.model_note.isHidden()
    panel.digit_index.setValue(3)
    click(qtbot, w, "image_digit")
    qtbot.waitUntil(lambda: panel.doc.source.endswith("test example 3"), timeout=20_000)
    np.testing.assert_array_equal(panel.doc.image, cached_dataset(MNIST).test[3].reshape(28, 28))

    panel.canvas.set_tool("rect")
    drag(qtbot, panel.canvas, [(0.5, 14.5), (27.5, 27.5)])  # the bottom half
    selection = panel.doc.selection()
    assert selection.sum() == 14 * 28
    panel.steps.setValue(30)
    panel.variations.setValue(3)
    panel.fps.setValue(0)
    with qtbot.waitSignal(panel.results_ready, timeout=30_000) as done:
        click(qtbot, w, "inpaint_run")
    # three variations, most probable first (the RBM ranks them by free energy), then their average
    assert done.args == [3] and panel.results.shape == (4, 28, 28) and panel.thumbs.count() == 4
    assert panel.canvas.previewing
    assert "most probable first" in panel.status.text() and "their average" in panel.status.text()
    tips = [panel.thumbs.item(k).toolTip() for k in range(3)]
    energies = [float(t.split("free energy ")[1].split(" ")[0]) for t in tips]
    assert energies == sorted(energies)
    assert panel.average == 3 and panel.thumbs.item(3).text() == "average"
    assert "expected completion" in panel.thumbs.item(3).toolTip()
    average = panel.results[3]
    assert 0 < np.abs(average[selection] - panel.results[0][selection]).max() and (average >= 0).all()

    before = panel.doc.image.copy()
    panel.thumbs.setCurrentRow(1)
    assert panel.chosen == 1
    chosen = panel.results[1].copy()
    count = panel.doc.undo_stack.count()
    click(qtbot, w, "inpaint_apply")
    image = panel.doc.image
    assert panel.doc.undo_stack.count() == count + 1 and not panel.canvas.previewing
    np.testing.assert_array_equal(image[~selection], before[~selection])  # only masked pixels change
    np.testing.assert_array_equal(image[selection], chosen[selection])  # the chosen variation, there
    assert np.abs(image[selection] - before[selection]).max() > 0
    panel.doc.undo_stack.undo()
    np.testing.assert_array_equal(panel.doc.image, before)
    np.testing.assert_array_equal(panel.doc.selection(), selection)  # undo leaves the mask as it was
    with qtbot.waitSignal(panel.results_ready, timeout=30_000):
        click(qtbot, w, "inpaint_run")
    panel.thumbs.setCurrentRow(3)
    average = panel.results[3].copy()
    click(qtbot, w, "inpaint_apply")
    assert "Applied the average" in panel.status.text()
    np.testing.assert_array_equal(panel.doc.image[selection], average[selection])
    assert "average" in panel.doc.undo_stack.text(panel.doc.undo_stack.count() - 1)



def test_the_masked_region_animates_and_stop_keeps_the_variations_so_far(qtbot, window):
    w = window
    new_model(qtbot, w, "rbm", {"n_visible": 784, "n_hidden": 8, "init_std": 1.0}, "tiny", data=False)
    panel = w.panels["inpaint"]
    panel.doc.open_image(random_image())
    panel.doc.mask_rect(8, 8, 20, 20)
    selection = panel.doc.selection()
    shown: list[int] = []
    panel.frame_shown.connect(shown.append)
    panel.steps.setValue(1_000_000)  # runs until stopped
    panel.fps.setValue(0)
    panel.variations.setValue(2)
    assert panel.run() is not None
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=20_000)
    assert shown[-1] > shown[0] and panel.canvas.previewing and panel.thumbs.count() == 2
    preview = panel.canvas._preview
    np.testing.assert_array_equal(preview[~selection], panel.canvas._gray[~selection])  # the rest stays
    with qtbot.waitSignal(w.bridge.job_cancelled, timeout=10_000):
        click(qtbot, w, "inpaint_stop")
    assert panel.handle is None and panel.results.shape == (2, 28, 28) and "Stopped at step" in panel.status.text()
    assert w.findChild(QAction, "inpaint_apply").isEnabled()
    panel.apply(0)
    assert panel.doc.undo_stack.count() == 3


def drop(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, LEFT, NONE)
    widget.dropEvent(event)


def test_a_bad_image_file_shows_a_message_and_changes_nothing_and_a_good_one_opens(qtbot, window, tmp_path):
    w = window
    panel = w.panels["inpaint"]
    panel.doc.open_image(random_image())
    panel.doc.mask_rect(0, 0, 5, 5)
    image, mask, count = panel.doc.image.copy(), panel.doc.mask.copy(), panel.doc.undo_stack.count()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a picture")
    drop(panel, bad)
    assert "Cannot open broken.png" in panel.status.text()
    assert w.notification.isVisible() and "broken.png" in w.notification.message()
    assert not panel.open_image(str(tmp_path / "missing.jpg"))
    assert "missing.jpg" in panel.status.text()
    np.testing.assert_array_equal(panel.doc.image, image)
    np.testing.assert_array_equal(panel.doc.mask, mask)
    assert panel.doc.undo_stack.count() == count
    # a colour JPEG of another size opens as grey levels at its own size, the mask empty
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[:, 20:] = (255, 255, 255)
    Image.fromarray(rgb).save(tmp_path / "half.jpg", quality=95)
    drop(panel, tmp_path / "half.jpg")
    assert panel.doc.shape == (30, 40) and not panel.doc.mask.any()
    assert panel.doc.image[:, :18].max() < 0.05 and panel.doc.image[:, 22:].min() > 0.95
    assert panel.doc.undo_stack.count() == count + 1
    out = panel.save_png(str(tmp_path / "out.png"))
    with Image.open(out) as im:
        assert im.size == (40, 30)


def test_a_model_of_sequences_cannot_inpaint_and_the_panel_says_so(qtbot, window):
    w = window
    panel = w.panels["inpaint"]
    new_model(qtbot, w, "rtrbm", {"n_visible": 36, "n_hidden": 4}, "seq", data=False)
    assert panel.model.count() == 0 and not w.findChild(QAction, "inpaint_run").isEnabled()
    assert not panel.model_note.isHidden() and "seq is a model of sequences (rtrbm): it cannot inpaint" in \
        panel.model_note.text()
    panel.doc.mask_rect(0, 0, 4, 4)
    assert panel.run() is None and "cannot inpaint" in panel.status.text()
    new_model(qtbot, w, "rbm", {"n_visible": 36, "n_hidden": 4}, "img", data=False)
    assert panel.model_name() == "img" and panel.model_note.isHidden()
    w.library.set_current("seq")
    assert "Inpainting uses img" in panel.model_note.text()


# ----- the walkback animation -----

def test_the_walkback_animation_shows_the_temperature_of_each_cooling_and_heating_step(qtbot, tmp_path, mnist_root):
    # errors are collected, not raised, to check that none happens: the Filters panel asks every new model
    # for filters, and a walkback model has none (the panel says so, no error)
    w = make_window(qtbot, tmp_path, raise_errors=False)
    failures: list[str] = []
    w.bridge.job_failed.connect(lambda e: failures.append(e.message))
    cfg = {"n_visible": 784, "n_hidden": 16, "n_layers": 1, "t_max": 8.0, "n1": 1}
    new_model(qtbot, w, "walkback", cfg, "walk")
    panel = w.sampling_panel
    assert panel.pages.currentWidget() is panel.walkback
    qtbot.waitUntil(lambda: "no receptive fields" in w.filters_panel.status.text(), timeout=10_000)
    panel.chains.setValue(4)
    panel.extra_steps.setValue(2)
    panel.walk_fps.setValue(240)
    panel.heat_from.setValue(7)
    click(qtbot, w, "sample_start")
    qtbot.waitUntil(lambda: panel.handle is None and panel.heat_handle is None and panel._heat_request is None
                    and bool(panel.walkback.trajectory["heat"]), timeout=30_000)
    panel._repaint()
    view = panel.walkback
    cool, heat = view.temperatures("cool"), view.temperatures("heat")
    # cooling: from the hottest step of the walk down to T = 1, then the extra steps at T = 1
    assert cool[0] > 1 and cool[-3:] == [1.0, 1.0, 1.0] and all(a >= b for a, b in zip(cool, cool[1:]))
    # heating from the data point: T = 1 at the start, doubling after that
    assert heat[0] == 1.0 and max(heat) > 1 and all(a <= b for a, b in zip(heat, heat[1:]))
    assert view.captions["cool"].text() == f"step {len(cool) - 1} · T = 1"
    assert view.captions["heat"].text().endswith(f"T = {heat[-1]:g}")
    assert view.titles["heat"].text() == "Heating from test example 7"
    assert len(view.strips["cool"].frames) == len(cool) and view.views["cool"].image is not None
    assert "cooling: step" in panel.status.text() and "heating: step" in panel.status.text()
    # a plain RBM goes back to the grid of Gibbs chains
    new_model(qtbot, w, "rbm", {"n_visible": 784, "n_hidden": 8}, "rbm", data=False)
    assert panel.pages.currentWidget() is panel.view
    assert failures == []
    w.close()
