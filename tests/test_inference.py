"""The Inference view of Recurrent Ladders: the engine job (shapes, the model's own predictions, errors), the
video view (frames, prediction, class bars that follow the slider, the true label), the piano-roll overlay of a
music ladder, and the placeholder; tiny ladders trained a few updates."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from engine import JobError, jobs
from engine.data import load_dataset
from engine.training.trainer import train
from studio.panels.inference_panel import BAR, PAD, TRUE_BAR
from windows import window_fixture

VIDEOS = {"name": "occluded_moving_mnist", "limit": 64, "n_test": 8}
JSB = {"name": "jsb_chorales", "limit": 4}
LADDER = {"n_visible": 1024, "n_units": 16, "n_levels": 2}
TC = {"epochs": 1, "batch_size": 16, "lr": 0.01, "optimizer": "adam", "monitor_every": 5, "monitor_size": 8}


@pytest.fixture(scope="module")
def videos(mnist_root):
    return load_dataset(VIDEOS)


@pytest.fixture
def window(qtbot, tmp_path, mnist_root):
    yield from window_fixture(qtbot, tmp_path)


def trained(qtbot, w, name, config=LADDER, data=VIDEOS, tc=TC, kind="ladder"):
    """Create ``name`` (it becomes the current model) and train it; returns the training job."""
    w.create_model(kind, config, name)
    qtbot.waitUntil(lambda: w.library.current == name, timeout=10_000)
    return w.bridge.submit(train, name, data, tc)


def test_the_job_gives_the_models_own_predictions_and_clear_errors(engine, videos):
    name = engine.call(jobs.create_model, "ladder", LADDER, seed=0)["name"]
    with pytest.raises(JobError, match="has not been trained yet"):
        engine.call(jobs.ladder_inference, name)
    engine.submit(train, name, VIDEOS, TC).result(60)
    r = engine.call(jobs.ladder_inference, name, index=5)
    assert r["frames"].shape == r["prediction"].shape == (5, 32, 32) and r["classes"].shape == (5, 10)
    assert np.array_equal(r["frames"].reshape(5, -1), videos.test[5])
    assert r["label"] == videos.meta["labels"]["test"][5] and r["shape"] == (32, 32)
    assert (r["index"], r["n"], r["music"], r["lo"]) == (5, 8, False, None)
    out = engine.call(lambda ctx: ctx.registry[name].module.infer(videos.test[5]))
    assert np.allclose(r["prediction"].reshape(5, -1), out["prediction"][0].numpy(), atol=1e-6)
    assert np.allclose(r["classes"], out["classes"][0].numpy(), atol=1e-6)
    assert np.allclose(r["classes"].sum(1), 1, atol=1e-5)
    assert engine.call(jobs.ladder_inference, name, index=2, length=3)["frames"].shape == (3, 32, 32)
    with pytest.raises(JobError, match="there is no sequence 8: occluded_moving_mnist has 8 test sequences"):
        engine.call(jobs.ladder_inference, name, index=8)
    rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 1024, "n_hidden": 4})["name"]
    with pytest.raises(JobError, match="is a rbm model: inference step by step is for Recurrent Ladder"):
        engine.call(jobs.ladder_inference, rbm, data=VIDEOS)


def test_a_video_ladder_shows_frames_predictions_and_class_bars_that_follow_the_slider(qtbot, window, videos):
    panel = window.inference_panel
    trained(qtbot, window, "ladder")
    assert window.workspace.currentWidget() is panel  # choosing a ladder shows the inference view
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30_000)  # the end of training refreshes it
    r = panel.result
    assert panel.model == "ladder" and panel.pages.currentWidget() is panel.video_page
    assert not panel.belief_box.isHidden() and panel.slider.maximum() == 4
    assert panel.strip.image.shape == (2 * 32 + PAD, 5 * 32 + 4 * PAD)  # T observed frames, T predictions
    assert np.array_equal(panel.strip.image[:32, 2 * (32 + PAD):2 * (32 + PAD) + 32], r["frames"][2])
    label = int(videos.meta["labels"]["test"][0])
    assert r["label"] == label and f"true class: {label}" in panel.belief_caption.text()
    brushes = [b.color().getRgb()[:3] for b in panel.bars.opts["brushes"]]
    assert brushes == [TRUE_BAR if k == label else BAR for k in range(10)]
    for t in (3, 0, 4):
        panel.slider.setValue(t)
        qtbot.waitUntil(lambda: panel.step_label.text() == f"frame {t + 1} / 5", timeout=2_000)
        heights = panel.bars.opts["height"]
        assert len(heights) == 10 and heights.sum() == pytest.approx(1, abs=1e-5)
        assert np.array_equal(heights, r["classes"][t])
        assert np.array_equal(panel.observed.image, r["frames"][t])
        assert np.array_equal(panel.predicted.image, r["prediction"][t])
        assert panel.strip_marker.rect().center().x() == pytest.approx(t * (32 + PAD) + 16)
        assert panel.predicted_caption.text().startswith(f"Predicted: frame {t + 2}")

    panel.sequence.setValue(3)  # another test sequence
    qtbot.waitUntil(lambda: panel.result["index"] == 3, timeout=10_000)
    assert np.array_equal(panel.observed.image, videos.test[3, 0].reshape(32, 32))
    assert panel.sequence.maximum() == 7 and panel.slider.value() == 0
    panel.buttons["random"].trigger()
    qtbot.waitUntil(lambda: panel.result["index"] != 3, timeout=10_000)
    panel.speed.setValue(60)
    panel.buttons["play"].trigger()
    assert panel.buttons["play"].text() == "Pause"
    qtbot.waitUntil(lambda: not panel.play_timer.isActive(), timeout=5_000)  # it stops at the last step
    assert panel.slider.value() == 4 and panel.buttons["play"].text() == "Play"
    window.workspace.setCurrentWidget(window.video_panel)
    window.actions["sample"].trigger()  # Run > Sample on a ladder reads a sequence in the inference view
    assert window.workspace.currentWidget() is panel


def test_a_music_ladder_draws_its_predictions_under_the_notes_and_hides_the_bars(qtbot, window):
    panel = window.inference_panel
    trained(qtbot, window, "jsb", {"n_visible": 88, "n_units": 16, "n_levels": 2}, JSB, {**TC, "seq_chunk": 20})
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30_000)
    r = panel.result
    T = len(r["frames"])
    assert r["music"] and r["lo"] == 21 and r["shape"] == (88,) and r["label"] is None
    assert r["classes"] is not None  # a classifier, but the music has no labels to have trained it on
    assert panel.pages.currentWidget() is panel.roll_page and panel.belief_box.isHidden()
    heat = panel.heat.image
    assert heat.shape == (88, T + 1) and np.array_equal(heat[:, 1:], r["prediction"].T) and not heat[:, 0].any()
    path = panel.notes.path()
    outlined = np.array([[path.contains(QPointF(t + 1, 21 + k)) for k in range(88)] for t in range(T)])
    assert np.array_equal(outlined, r["frames"] > 0.5)
    assert panel.roll.getAxis("left")._tickLevels[0][0] == (24, "C1")
    panel.slider.setValue(7)
    qtbot.waitUntil(lambda: panel.now_band.getRegion() == (7.5, 8.5), timeout=2_000)
    assert panel.step_label.text() == f"frame 8 / {T}"
    panel.length.setValue(10)
    qtbot.waitUntil(lambda: len(panel.result["frames"]) == 10, timeout=10_000)
    assert panel.heat.image.shape == (88, 11) and panel.slider.maximum() == 9


def test_a_hidden_view_waits_to_be_shown_other_models_get_the_placeholder_and_late_results_are_dropped(
        qtbot, window):
    panel = window.inference_panel
    job = trained(qtbot, window, "ladder")
    assert "Train it first" in panel.status.text() and "appears here" in panel.placeholder.text()
    assert panel.pages.currentWidget() is panel.placeholder
    window.workspace.setCurrentWidget(window.sampling_panel)
    qtbot.waitUntil(lambda: job.done, timeout=30_000)
    qtbot.wait(50)
    assert panel.handle is None  # hidden when its training ended: nothing asked ...
    window.workspace.setCurrentWidget(panel)  # ... until it is shown
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)

    window.create_model("rbm", {"n_visible": 16, "n_hidden": 4}, "rbm")
    qtbot.waitUntil(lambda: window.library.current == "rbm", timeout=10_000)
    assert panel.result is None and window.workspace.currentWidget() is not panel
    window.workspace.setCurrentWidget(panel)
    assert panel.pages.currentWidget() is panel.placeholder and panel.belief_box.isHidden()
    assert "choose one in the Models panel" in panel.placeholder.text()
    assert not panel.buttons["play"].isEnabled() and not panel.buttons["random"].isEnabled()
    window.library.set_current("ladder")  # asks at once ...
    assert window.workspace.currentWidget() is panel and "Reading test sequence 0" in panel.status.text()
    asked = panel.handle
    window.library.set_current("rbm")  # ... and the answer, back after the RBM is chosen, is dropped
    qtbot.waitUntil(lambda: window.bridge.handle(asked.id) is None, timeout=10_000)
    assert panel.result is None and panel.pages.currentWidget() is panel.placeholder
