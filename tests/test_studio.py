"""The studio, clicked through with pytest-qt on tiny models (offscreen)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QDockWidget, QToolBar

from studio.main_window import DEMO_INPAINT_MODEL, DEMO_MODEL, DEMO_MUSIC_MODEL, DEMO_VIDEO_MODEL
from studio.settings import Settings
from windows import make_window, window_fixture

TINY = {"n_visible": 784, "n_hidden": 16, "sampler": "pcd"}
DATA = {"limit": 300}


@pytest.fixture
def window(qtbot, tmp_path, mnist_root):
    yield from window_fixture(qtbot, tmp_path, raise_errors=False)


def new_tiny_model(qtbot, w, name="tiny", **cfg):
    w.create_model("rbm", {**TINY, **cfg}, name)
    qtbot.waitUntil(lambda: w.library.current == name, timeout=10_000)
    w.training_panel.data.limit.setValue(DATA["limit"])
    w.training_panel.data.binarize.setCurrentText("threshold")
    return name


def set_training(w, **values):
    w.training_panel.form.set_values({"batch_size": 50, "monitor_every": 2, "frame_every": 2, **values})


def click(qtbot, w, name):
    """Click the toolbar button of the panel action ``name``."""
    action = w.findChild(QAction, name)
    assert action is not None and action.isEnabled(), name
    bar = w.findChild(QToolBar, name.split("_")[0] + "_bar")
    qtbot.mouseClick(bar.widgetForAction(action), Qt.MouseButton.LeftButton)


def test_window_opens_with_every_panel(window):
    assert window.engine.alive
    assert {"models", "training", "sampling", "filters", "messages"} <= set(window.panels)
    for key, dock in window.docks.items():
        assert dock.isVisible(), key
        assert window.findChild(QDockWidget, f"{key}_dock") is dock
    # a closed panel comes back from the View menu
    window.docks["filters"].close()
    assert not window.docks["filters"].isVisible()
    window.docks["filters"].toggleViewAction().trigger()
    assert window.docks["filters"].isVisible()


def test_train_to_the_end_fills_progress_and_curves(qtbot, window):
    new_tiny_model(qtbot, window)
    set_training(window, epochs=2)
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: window.training_panel.handle is None, timeout=60_000)
    assert window.training_panel.progress.value() == window.training_panel.progress.maximum()
    window.training_panel.curves.flush()
    assert window.training_panel.curves.n_points("recon_error") >= 3
    assert window.library.infos["tiny"]["step"] == 2 * 300 // 50
    assert window.training_panel.samples.image is not None  # the chains were shown while training


def test_pause_stops_progress_resume_continues_and_stop_keeps_the_model(qtbot, window):
    new_tiny_model(qtbot, window)
    set_training(window, epochs=5000)
    panel = window.training_panel
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=30_000)
    click(qtbot, window, "train_pause")
    qtbot.waitUntil(lambda: panel.buttons["resume"].isEnabled(), timeout=5_000)
    qtbot.wait(200)  # let events already emitted arrive
    held = panel.progress.value(), panel.curves.n_points("recon_error")
    qtbot.wait(700)
    assert (panel.progress.value(), panel.curves.n_points("recon_error")) == held
    click(qtbot, window, "train_resume")
    qtbot.waitUntil(lambda: panel.curves.n_points("recon_error") > held[1] + 2, timeout=30_000)
    click(qtbot, window, "train_stop")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=10_000)
    info = window.library.infos["tiny"]
    assert info["step"] > 0 and info["dirty"]
    assert "Stopped" in panel.status.text()
    steps = info["step"]
    # Train again continues from there
    set_training(window, epochs=5000)
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: panel.status.text().startswith("epoch"), timeout=30_000)
    click(qtbot, window, "train_stop")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=10_000)
    assert window.library.infos["tiny"]["step"] > steps


def test_a_music_generator_trains_on_music_and_switches_to_professor_forcing(qtbot, window):
    panel = window.training_panel
    window.create_model("professor", {"n_visible": 88, "n_recurrent": 8, "mode": "teacher", "disc_hidden": 4,
                                      "disc_mlp": 4}, "pf")
    qtbot.waitUntil(lambda: window.library.current == "pf", timeout=10_000)
    assert panel.data.key() == "nottingham" and panel.mode_box.isVisibleTo(panel)
    assert panel.mode.currentData() == "teacher"
    qtbot.waitUntil(lambda: "no receptive fields" in window.filters_panel.status.text(), timeout=10_000)
    assert not panel.data.form.isRowVisible(panel.data.binarize) and panel.data.form.isRowVisible(panel.data.transpose)
    panel.data.limit.setValue(4)
    panel.data.transpose.setChecked(True)
    assert panel.data.spec() == {"name": "nottingham", "transpose": True, "limit": 4}
    panel.data.dataset.setCurrentIndex(panel.data.dataset.findData("occluded_moving_mnist"))
    form = panel.data.form
    assert form.isRowVisible(panel.data.fresh_motion) and not form.isRowVisible(panel.data.transpose)
    assert panel.data.spec() == {"name": "occluded_moving_mnist", "fresh_motion": True, "limit": 4}
    panel.data.set_spec({"name": "occluded_moving_mnist"})  # a model trained on fixed motion keeps it
    assert panel.data.spec() == {"name": "occluded_moving_mnist"}
    panel.data.set_spec({"name": "nottingham", "transpose": True, "limit": 4})
    set_training(window, epochs=1, batch_size=4, seq_chunk=20, lr=0.01, optimizer="adam")

    def train_and_wait():
        click(qtbot, window, "train_start")
        assert not panel.mode.isEnabled()  # no switching under a running job
        qtbot.waitUntil(lambda: panel.handle is None, timeout=60_000)

    train_and_wait()
    panel.curves.flush()
    assert panel.curves.n_points("nll") >= 1 and panel.curves.n_points("disc_accuracy") == 0
    panel.mode.setCurrentIndex(panel.mode.findData("professor"))
    panel.mode.activated.emit(panel.mode.currentIndex())
    qtbot.waitUntil(lambda: window.library.infos["pf"]["config"]["mode"] == "professor", timeout=10_000)
    set_training(window, epochs=2, batch_size=4, seq_chunk=20, lr=0.01, optimizer="adam")
    train_and_wait()
    panel.curves.flush()
    assert panel.curves.n_points("disc_accuracy") >= 1 and panel.curves.n_points("gen_cost_f") >= 1
    assert "professor forcing" in panel.log.toPlainText()
    window.create_model("walkback", {"n_visible": 784, "n_hidden": 8, "n_layers": 1}, "no-switch")
    qtbot.waitUntil(lambda: window.library.current == "no-switch", timeout=10_000)
    assert not panel.mode_box.isVisibleTo(panel) and panel.data.key() == "mnist"


def test_an_rbm_switches_its_learning_rule_to_inpainting_and_trains_on(qtbot, window):
    """The RBM's switch: PCD -> multi-prediction keeps its weights and the next run trains by inpainting."""
    panel = window.training_panel
    window.create_model("rbm", TINY, "fine-tune")
    qtbot.waitUntil(lambda: window.library.current == "fine-tune", timeout=10_000)
    assert panel.mode_box.isVisibleTo(panel) and panel.mode_box.title() == "Restricted Boltzmann machine"
    assert panel.mode.currentData() == "pcd" and panel.mode.findData("teacher") == -1
    panel.mode.setCurrentIndex(panel.mode.findData("mp"))
    panel.mode.activated.emit(panel.mode.currentIndex())
    qtbot.waitUntil(lambda: window.library.infos["fine-tune"]["config"]["sampler"] == "mp", timeout=10_000)
    assert "multi-prediction" in panel.log.toPlainText()
    panel.data.limit.setValue(200)
    set_training(window, epochs=1, batch_size=50)
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=60_000)
    assert window.library.infos["fine-tune"]["step"] == 4 and panel.mode.currentData() == "mp"


def test_a_ladder_gets_the_occluded_digits_and_each_video_set_its_own_length(qtbot, window):
    data = window.training_panel.data
    window.create_model("ladder", {"n_visible": 1024, "n_units": 8}, "lad")
    qtbot.waitUntil(lambda: window.library.current == "lad", timeout=10_000)
    assert data.spec() == {"name": "occluded_moving_mnist", "fresh_motion": True}
    assert data.form.isRowVisible(data.limit) and not data.form.isRowVisible(data.T)
    for key, T in (("moving_mnist", 20), ("bouncing_balls", 100), ("mocap_mit", 50), ("moving_mnist", 20)):
        data.dataset.setCurrentIndex(data.dataset.findData(key))
        assert data.T.value() == T, key
    assert data.spec() == {"name": "moving_mnist", "n_train": 4000, "T": 20}


def test_sampling_shows_frames_and_saves_a_png_of_the_grid(qtbot, window, tmp_path):
    new_tiny_model(qtbot, window)
    panel = window.sampling_panel
    panel.chains.setValue(16)
    panel.steps.setValue(30)
    panel.fps.setValue(240)
    with qtbot.waitSignal(panel.frame_shown, timeout=10_000):
        click(qtbot, window, "sample_start")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=20_000)
    assert "30" in panel.status.text()
    out = panel.save_png(str(tmp_path / "grid.png"), scale=2)
    with Image.open(out) as im:
        assert im.size == (2 * (4 * 29 - 1), 2 * (4 * 29 - 1))  # 4x4 tiles of 28 px with 1 px gaps
    gif = panel.save_gif(str(tmp_path / "chains.gif"))
    with Image.open(gif) as im:
        assert im.n_frames >= 2


def test_sampling_step_once_advances_one_frame_and_pauses(qtbot, window):
    new_tiny_model(qtbot, window)
    panel = window.sampling_panel
    panel.every.setValue(5)
    with qtbot.waitSignal(panel.frame_shown, timeout=10_000) as first:
        click(qtbot, window, "sample_step")
    assert first.args == [5]
    qtbot.waitUntil(lambda: panel.handle is not None and panel.handle.paused, timeout=5_000)
    with qtbot.waitSignal(panel.frame_shown, timeout=10_000) as second:
        click(qtbot, window, "sample_step")
    assert second.args == [10]
    click(qtbot, window, "sample_stop")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=5_000)


def test_filters_panel_shows_one_field_per_unit(qtbot, window):
    new_tiny_model(qtbot, window)
    panel = window.filters_panel
    qtbot.waitUntil(lambda: panel.filters is not None, timeout=10_000)
    assert panel.filters.shape == (16, 28, 28)
    assert 0.0 <= panel.filters.min() and panel.filters.max() <= 1.0
    assert "16 of 16" in panel.status.text()


def test_settings_persist_across_two_windows(qtbot, tmp_path, mnist_root):
    first = make_window(qtbot, tmp_path, raise_errors=False)
    first.resize(1111, 777)
    size = first.size()
    first.sampling_panel.fps.setValue(12)
    first.docks["filters"].close()
    first.settings.set("data_root", str(mnist_root))
    first.settings.add_recent("/some/checkpoint")
    first.close()
    qtbot.waitUntil(lambda: not first.engine.alive, timeout=5_000)

    second = make_window(qtbot, tmp_path, raise_errors=False)
    # the offscreen platform may differ by a frame margin
    assert abs(second.width() - size.width()) <= 8 and abs(second.height() - size.height()) <= 8
    assert second.sampling_panel.fps.value() == 12
    assert not second.docks["filters"].isVisible()
    assert second.data_root() == str(mnist_root)
    assert second.settings.recent_files() == ["/some/checkpoint"]
    second.close()


def test_closing_during_training_stops_within_five_seconds(qtbot, window):
    new_tiny_model(qtbot, window)
    set_training(window, epochs=5000)
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: window.training_panel.progress.value() > 0, timeout=30_000)
    window.close()
    qtbot.waitUntil(lambda: not window.engine.alive, timeout=5_000)


def drop(window, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_a_corrupt_checkpoint_dropped_on_the_window_shows_an_error_and_changes_nothing(qtbot, window, tmp_path):
    new_tiny_model(qtbot, window)
    before = dict(window.library.infos)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.json").write_text("{ not json")
    drop(window, bad / "model.json")
    qtbot.waitUntil(lambda: window.notification.isVisible(), timeout=10_000)
    assert "damaged" in window.notification.message()
    assert window.notification.level == "error"
    assert window.library.infos == before and window.library.current == "tiny"
    assert (bad / "model.json").read_text() == "{ not json"
    assert "damaged" in window.messages_panel.text()


def test_saving_and_dropping_a_checkpoint_opens_it_as_a_new_model(qtbot, window, tmp_path):
    new_tiny_model(qtbot, window)
    window.bridge.submit(__import__("engine.jobs", fromlist=["x"]).save_model, "tiny", str(tmp_path / "ck"))
    qtbot.waitUntil(lambda: window.library.infos["tiny"].get("path"), timeout=10_000)
    drop(window, tmp_path / "ck")
    qtbot.waitUntil(lambda: len(window.library.infos) == 2, timeout=10_000)
    assert window.library.current != "tiny"
    assert str(tmp_path / "ck") in window.settings.recent_files()


def test_a_job_error_is_shown_in_the_window(qtbot, window, tmp_path):
    new_tiny_model(qtbot, window)
    window._data_root = str(tmp_path / "nowhere")
    set_training(window, epochs=1)
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: window.notification.isVisible(), timeout=10_000)
    assert "mnist.npz" in window.notification.message()
    assert window.training_panel.handle is None and window.training_panel.buttons["start"].isEnabled()


def test_models_panel_duplicates_renames_and_deletes(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    new_tiny_model(qtbot, window)
    panel = window.models_panel
    panel.duplicate()
    qtbot.waitUntil(lambda: window.library.current == "tiny copy", timeout=5_000)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("twin", True))
    panel.rename()
    qtbot.waitUntil(lambda: window.library.current == "twin", timeout=5_000)
    assert panel.tree.topLevelItemCount() == 2
    panel.delete(confirm=False)
    qtbot.waitUntil(lambda: set(window.library.infos) == {"tiny"}, timeout=5_000)


def test_new_model_dialog_builds_the_request_from_its_form(qtbot):
    from studio.dialogs.new_model import NewModelDialog

    d = NewModelDialog()
    qtbot.addWidget(d)
    d.name.setText("digits")
    d.form().widgets["n_hidden"].setValue(123)
    r = d.request()
    assert r["kind"] == "rbm" and r["name"] == "digits"
    assert r["config"]["n_hidden"] == 123 and r["config"]["n_visible"] == 784


def test_preferences_dialog_stores_its_values(qtbot, tmp_path):
    from studio.dialogs.preferences import PreferencesDialog

    settings = Settings(QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat))
    d = PreferencesDialog(settings)
    qtbot.addWidget(d)
    d.data_root.setText(str(tmp_path))
    d.device.setCurrentText("cpu")
    d.fps.setValue(25)
    d.accept()
    assert settings.get("data_root") == str(tmp_path)
    assert settings.get("device") == "cpu" and settings.get("sampling/fps") == 25


def test_the_bundled_demo_opens_and_samples(qtbot, tmp_path, mnist_root):
    assert (DEMO_MODEL / "model.json").is_file(), "the bundled demo model is missing from resources/"
    w = make_window(qtbot, tmp_path, raise_errors=False, load_demo=True)
    qtbot.waitUntil(lambda: w.sampling_panel.grid is not None, timeout=20_000)
    info = w.library.current_info()
    assert info["kind"] == "rbm" and info["step"] > 0
    assert np.isfinite(w.sampling_panel.grid).all()
    # the training panel shows what the demo learned: its curves so far and its persistent chains
    panel = w.training_panel
    qtbot.waitUntil(lambda: panel.samples.image is not None, timeout=10_000)
    panel.curves.flush()
    assert panel.curves.n_points("recon_error") > 10
    assert panel.samples.image.shape[0] >= 28 * 4
    # the bundled bouncing-balls RTRBM opens beside it, ready for the Video view
    assert (DEMO_VIDEO_MODEL / "model.json").is_file(), "the bundled video demo is missing from resources/"
    qtbot.waitUntil(lambda: "balls-rtrbm" in w.library.infos, timeout=20_000)
    balls = w.library.infos["balls-rtrbm"]
    assert balls["kind"] == "rtrbm" and balls["sequence"] and balls["step"] > 0
    # and the Nottingham RNN-RBM for the Piano roll
    assert (DEMO_MUSIC_MODEL / "model.json").is_file(), "the bundled music demo is missing from resources/"
    qtbot.waitUntil(lambda: "nottingham-rnnrbm" in w.library.infos, timeout=20_000)
    assert w.library.infos["nottingham-rnnrbm"]["kind"] == "rnnrbm"
    # and the RBM fine-tuned for inpainting, for the Inpaint view (it learns by multi-prediction)
    assert (DEMO_INPAINT_MODEL / "model.json").is_file(), "the bundled inpainting RBM is missing from resources/"
    qtbot.waitUntil(lambda: "mnist-rbm-inpaint" in w.library.infos, timeout=20_000)
    assert w.library.infos["mnist-rbm-inpaint"]["config"]["sampler"] == "mp"
    assert "mnist-rbm-inpaint" in w.panels["inpaint"].image_models()
    w.close()


def test_screenshots_render_the_window_and_each_panel(qtbot, window, tmp_path):
    from studio import screenshot

    new_tiny_model(qtbot, window)
    files = screenshot.take(window, tmp_path / "shots")
    names = {f.name for f in files}
    assert {"main_window.png", "training.png", "sampling.png", "models.png"} <= names
    with Image.open(tmp_path / "shots" / "main_window.png") as im:
        assert im.size[0] >= 800 and im.getextrema() != ((0, 0), (0, 0), (0, 0))


def test_bridge_reraises_job_errors_in_tests(qtbot):
    from engine import Engine
    from studio.bridge import EngineBridge, JobFailedError

    engine = Engine(device="cpu")
    bridge = EngineBridge(engine, raise_errors=True)
    errors = []

    def boom(ctx):
        raise ValueError("bad value")

    try:
        with qtbot.captureExceptions() as caught:
            bridge.submit(boom, on_error=errors.append)
            qtbot.waitUntil(lambda: bool(caught), timeout=5_000)
        assert errors == ["bad value"]
        assert caught[0][0] is JobFailedError and "bad value" in str(caught[0][1])
    finally:
        bridge.shutdown(5)
