"""The Behaviour view: a tiny professor-forcing model's hidden states, teacher-forced and free-running, on
a few JSB chorales; the time slider; and the placeholder for a model that is not a recurrent generator."""
from __future__ import annotations

import numpy as np
import pytest

from engine.settings import data_root
from engine.training.trainer import train
from windows import window_fixture

JSB = {"name": "jsb_chorales", "limit": 6}
TC = {"epochs": 1, "batch_size": 8, "lr": 0.01, "optimizer": "adam", "seq_chunk": 9, "monitor_every": 5,
      "monitor_size": 8}


@pytest.fixture
def window(qtbot, tmp_path):
    assert (data_root() / "polyphonic" / "jsb_chorales.npz").is_file(), "JSB Chorales not found: set BOLTZMANN_DATA"
    yield from window_fixture(qtbot, tmp_path, raise_errors=False)  # a job error shows in the status label


def new_model(qtbot, w, kind, config, name):
    w.create_model(kind, config, name)
    qtbot.waitUntil(lambda: w.library.current == name, timeout=10_000)


def emphasised(panel, mode):
    return np.array([s.pos() for s in panel.now[mode].points()]).reshape(-1, 2)


def test_a_trained_professor_model_shows_both_modes_and_the_slider_moves_the_emphasis(qtbot, window):
    panel = window.behaviour_panel
    window.workspace.setCurrentWidget(panel)
    new_model(qtbot, window, "professor", {"n_visible": 88, "n_recurrent": 6, "mode": "professor",
                                           "disc_hidden": 4, "disc_mlp": 4}, "pf")
    assert window.workspace.currentWidget() is panel  # a model the view shows keeps it on screen
    assert panel.pages.currentWidget() is panel.plot and "Train it first" in panel.status.text()
    panel.n_seqs.setValue(5)
    window.bridge.submit(train, "pf", JSB, TC)
    # the end of its training refreshes the view
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20_000)
    assert panel.model == "pf"
    for mode in ("teacher", "free"):
        assert panel.points[mode].data.size == 5 * 9  # 5 sequences of the training length
        assert np.allclose(emphasised(panel, mode), panel.result["projection"][mode][:, -1])
    assert panel.step_label.text() == "step 9 / 9"
    assert f"{panel.result['gap']:.3g}" in panel.summary.text()
    assert f"Real sequences: {panel.result['gap_data']:.3g}" in panel.summary.text()
    ex = 100 * panel.result["explained"]
    assert panel.plot.getAxis("bottom").labelText == f"PC 1 ({ex[0]:.0f}%)"

    panel.slider.setValue(2)
    qtbot.waitUntil(lambda: panel.step_label.text() == "step 3 / 9", timeout=2_000)
    for mode in ("teacher", "free"):
        assert np.allclose(emphasised(panel, mode), panel.result["projection"][mode][:, 2])
        future = [s.brush() == panel._brushes[mode][-1] for s in panel.points[mode].points()]
        assert np.array_equal(np.array(future).reshape(5, 9), np.tile(np.arange(9) > 2, (5, 1)))

    panel.length.setValue(4)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.result["teacher"].shape[1] == 4, timeout=10_000)
    assert panel.points["free"].data.size == 5 * 4 and panel.slider.maximum() == 3
    # the test chorales give one window of 150 steps (and five free runs), none of 200
    panel.length.setValue(150)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.slider.maximum() == 149, timeout=10_000)
    assert panel.points["teacher"].data.size == 150 and panel.points["free"].data.size == 5 * 150
    panel.length.setValue(200)
    panel.refresh()
    qtbot.waitUntil(lambda: "no test piece of jsb_chorales has 200 frames" in panel.status.text(), timeout=10_000)


def test_a_non_recurrent_model_shows_the_placeholder_and_a_late_result_is_dropped(qtbot, window):
    panel = window.behaviour_panel
    new_model(qtbot, window, "professor", {"n_visible": 88, "n_recurrent": 4}, "gru")
    window.bridge.submit(train, "gru", JSB, TC)
    qtbot.waitUntil(lambda: "spec" in window.library.infos["gru"]["data"], timeout=20_000)
    new_model(qtbot, window, "rbm", {"n_visible": 16, "n_hidden": 4}, "rbm")
    window.workspace.setCurrentWidget(panel)
    assert panel.pages.currentWidget() is panel.placeholder
    assert "choose one in the Models panel" in panel.placeholder.text()
    assert not panel.buttons["refresh"].isEnabled()
    window.library.set_current("gru")  # on screen: asks for its behaviour at once ...
    assert panel.pages.currentWidget() is panel.plot and "Running gru" in panel.status.text()
    job = panel.handle
    window.library.set_current("rbm")  # ... which comes back after the RBM is chosen
    qtbot.waitUntil(lambda: window.bridge.handle(job.id) is None, timeout=10_000)
    assert panel.result is None and panel.points["teacher"].data.size == 0
    assert panel.pages.currentWidget() is panel.placeholder
