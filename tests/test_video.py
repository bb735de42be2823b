"""Videos from sequence models: the generate_video job, the studio's Video view (play, pause, step, loop,
priming, real beside generated, GIF and .npz export, the motion-capture stick figure), training a sequence
model from the training panel, and the CLI's prediction error and video sampling. Tiny models only."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolBar

from engine import Engine, events as ev, jobs
from engine.settings import data_root
from windows import window_fixture

TINY = {"n_visible": 36, "n_hidden": 8, "k": 1, "k_final": 0}
BALLS = {"name": "bouncing_balls", "n_train": 10, "n_test": 3, "T": 10, "res": 6}
MOCAP = {"name": "mocap_mit", "T": 20}


def needs_mocap():
    path = data_root() / "mocap" / "mit_walk_motion.npz"
    assert path.is_file(), f"the MIT motion-capture data is missing: {path} (set BOLTZMANN_DATA)"


def describe_data(ctx, model, spec, shape):
    """A job standing in for training: the model now says what data it models."""
    entry = ctx.registry[model]
    entry.data = {"spec": dict(spec), "shape": list(shape)}
    ctx.registry.changed(model)


# ----- the engine job -----

@pytest.fixture
def engine():
    e = Engine(device="cpu")
    yield e
    e.shutdown()


def run_collecting(engine, *args, **kwargs):
    events = []
    unsubscribe = engine.subscribe(events.append)
    try:
        result = engine.submit(jobs.generate_video, *args, **kwargs).result(60)
    finally:
        unsubscribe()
    return result, events


def test_generate_video_streams_each_frame_and_returns_the_video(engine):
    name = engine.call(jobs.create_model, "rtrbm", TINY, name="tiny")["name"]
    video, events = run_collecting(engine, name, n_frames=5, gibbs_steps=3, n_seqs=2, seed=1)
    head = [e for e in events if isinstance(e, ev.VideoStarted)]
    frames = [e for e in events if isinstance(e, ev.Frame)]
    assert len(head) == 1 and events.index(head[0]) < events.index(frames[0])
    assert head[0].layout == "image" and head[0].shape == (6, 6) and head[0].real is None
    assert [f.index for f in frames] == list(range(5)) and {f.label for f in frames} == {"video"}
    assert all(f.step == 3 and f.image.shape == (2, 6, 6) for f in frames)
    assert video.shape == (2, 5, 6, 6)
    np.testing.assert_array_equal(video[:, 4], frames[-1].image)
    assert [e for e in events if isinstance(e, ev.Progress)][-1].step == 5
    # the same seed gives the same video
    again, _ = run_collecting(engine, name, n_frames=5, gibbs_steps=3, n_seqs=2, seed=1)
    np.testing.assert_array_equal(video, again)


def test_generate_video_shows_gibbs_steps_and_primes_with_the_real_sequence(engine):
    name = engine.call(jobs.create_model, "rtrbm", TINY, name="tiny")["name"]
    engine.call(describe_data, name, BALLS, (6, 6))
    video, events = run_collecting(engine, name, n_frames=4, gibbs_steps=3, prime=5, every_gibbs=True,
                                   sequence=1)
    head = next(e for e in events if isinstance(e, ev.VideoStarted))
    frames = [e for e in events if isinstance(e, ev.Frame)]
    assert len(frames) == 4 * 3 and [f.label for f in frames[:3]] == ["gibbs", "gibbs", "video"]
    assert head.prime == 5 and head.real.shape == (10, 6, 6)  # long enough for primes and new frames
    from engine.data.bouncing_balls import TEST_SEED, _TEST_TAG, sequences

    real = sequences(2, 10, 6, 3, (_TEST_TAG, TEST_SEED))[1].reshape(10, 6, 6)
    np.testing.assert_allclose(head.real, real)
    assert video.shape == (1, 4, 6, 6)


def test_generate_video_refuses_what_it_cannot_do(engine):
    rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 36, "n_hidden": 4}, name="rbm")["name"]
    with pytest.raises(Exception, match="not of sequences"):
        engine.submit(jobs.generate_video, rbm, n_frames=2).result(10)
    name = engine.call(jobs.create_model, "rtrbm", TINY, name="tiny")["name"]
    with pytest.raises(Exception, match="priming needs real sequences"):
        engine.submit(jobs.generate_video, name, n_frames=2, prime=3).result(10)


def test_generate_video_of_motion_capture_sends_joint_positions(engine):
    needs_mocap()
    name = engine.call(jobs.create_model, "rtrbm", {"n_visible": 49, "n_hidden": 8, "visible": "gaussian"},
                       name="walk")["name"]
    video, events = run_collecting(engine, name, n_frames=3, gibbs_steps=2, prime=4, data=MOCAP)
    head = next(e for e in events if isinstance(e, ev.VideoStarted))
    assert head.layout == "skeleton" and head.shape == (18, 3) and len(head.bones) == 17
    assert head.real.shape[1:] == (18, 3) and head.fps == 30
    assert video.shape == (1, 3, 18, 3) and np.isfinite(video).all()


def test_prediction_error_of_motion_capture_is_also_given_in_the_original_units(engine):
    from engine.data import load_dataset
    from engine.evaluation.prediction import evaluate_prediction

    needs_mocap()
    data = load_dataset(MOCAP)
    name = engine.call(jobs.create_model, "rtrbm", {"n_visible": 49, "n_hidden": 8, "visible": "gaussian"},
                       name="walk")["name"]
    r = engine.submit(evaluate_prediction, name, data, n_seqs=3, steps=2).result(30)
    assert r["units"] == "mm and radians" and r["pred_mse_original"] > 0
    # copy-last by hand, through the dataset's own map back to full frames
    full = data.meta["to_original"](data.test[:3])[..., data.meta["keep"]]
    expected = ((full[:, 1:] - full[:, :-1]) ** 2).mean()
    assert r["copy_last_mse_original"] == pytest.approx(expected, rel=1e-5)
    assert r["copy_last_error"] == pytest.approx(((data.test[:3, 1:] - data.test[:3, :-1]) ** 2).sum(-1).mean(),
                                                 rel=1e-5)


# ----- the Video view -----

@pytest.fixture
def window(qtbot, tmp_path):
    yield from window_fixture(qtbot, tmp_path)


def new_sequence_model(qtbot, w, name="balls", config=TINY, spec=None, shape=(6, 6)):
    w.create_model("rtrbm", dict(config), name)
    qtbot.waitUntil(lambda: w.library.current == name, timeout=10_000)
    if spec is not None:
        w.engine.call(describe_data, name, spec, shape)
        qtbot.waitUntil(lambda: (w.library.infos[name].get("data") or {}).get("spec") is not None, timeout=5_000)
    panel = w.video_panel
    panel.n_frames.setValue(6)
    panel.gibbs.setValue(2)
    panel.speed.setValue(240)
    return name


def click(qtbot, w, name):
    action = w.findChild(QAction, name)
    assert action is not None and action.isEnabled(), name
    bar = w.findChild(QToolBar, name.split("_")[0] + "_bar")
    qtbot.mouseClick(bar.widgetForAction(action), Qt.MouseButton.LeftButton)


def test_a_sequence_model_opens_the_video_view_and_an_rbm_the_sampling_view(qtbot, window):
    new_sequence_model(qtbot, window)
    assert window.workspace.currentWidget() is window.video_panel
    assert window.video_panel.buttons["start"].isEnabled()
    assert not window.sampling_panel.buttons["start"].isEnabled()
    window.create_model("rbm", {"n_visible": 36, "n_hidden": 4}, "rbm")
    qtbot.waitUntil(lambda: window.library.current == "rbm", timeout=10_000)
    assert window.workspace.currentWidget() is window.sampling_panel
    assert not window.video_panel.buttons["start"].isEnabled()


def test_the_video_view_plays_frames_from_a_tiny_model_and_exports_gif_and_npz(qtbot, window, tmp_path):
    new_sequence_model(qtbot, window)
    panel = window.video_panel
    shown = []
    panel.frame_shown.connect(shown.append)
    click(qtbot, window, "video_start")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=30_000)
    assert len(panel.video) == 6 and panel.video.frames[0].shape == (1, 6, 6)
    # the screen repaints ~30 times a second, so play slower than that to see every frame painted
    panel.speed.setValue(10)
    qtbot.waitUntil(lambda: 5 in shown, timeout=5_000)
    assert panel.image_view.image.shape == (6, 6)
    assert not panel.real_box.isVisible()  # an untrained model knows no real sequence
    # at the end the video loops
    shown.clear()
    qtbot.waitUntil(lambda: 0 in shown, timeout=5_000)
    assert panel.playing

    gif = panel.save_gif(str(tmp_path / "video.gif"))
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.size == (120, 120)  # 6 px frames enlarged 20 times
    npz = panel.save_npz(str(tmp_path / "video.npz"))
    with np.load(npz) as z:
        assert z["video"].shape == (1, 6, 6, 6) and int(z["prime"]) == 0 and str(z["layout"]) == "image"
        np.testing.assert_array_equal(z["video"][0, 2], panel.video.frames[2][0])


def test_priming_continues_a_real_sequence_shown_beside_the_generated_one(qtbot, window, tmp_path):
    new_sequence_model(qtbot, window, spec=BALLS)
    panel = window.video_panel
    panel.prime.setValue(4)
    panel.buttons["loop"].setChecked(False)
    click(qtbot, window, "video_start")
    qtbot.waitUntil(lambda: panel.handle is None and not panel.playing, timeout=30_000)
    v = panel.video
    assert len(v) == 10 and v.prime == 4 and v.real.shape == (10, 6, 6)
    assert panel.real_box.isVisible() and panel.position == 9
    panel._dirty = True
    panel._repaint()
    np.testing.assert_array_equal(panel.real_image_view.image, v.real[9])
    panel.show_frame(2)  # a priming frame: the real frame on both sides
    panel._repaint()
    np.testing.assert_array_equal(panel.image_view.image, v.real[2])
    assert "real" in panel.status.text()
    gif = panel.save_gif(str(tmp_path / "side_by_side.gif"))
    with Image.open(gif) as im:
        assert im.n_frames == 10 and im.size == (20 * (6 + 4 + 6), 20 * 6)
    panel.show_real.setChecked(False)
    assert not panel.real_box.isVisible()
    with Image.open(panel.save_gif(str(tmp_path / "alone.gif"))) as im:
        assert im.size == (120, 120)


def test_step_shows_one_frame_at_a_time_and_pause_holds_the_generation(qtbot, window):
    new_sequence_model(qtbot, window)
    panel = window.video_panel
    panel.n_frames.setValue(1000)
    panel.speed.setValue(60)
    with qtbot.waitSignal(panel.frame_shown, timeout=10_000) as first:
        click(qtbot, window, "video_step")
    assert first.args == [0]
    qtbot.waitUntil(lambda: panel.handle is not None and panel.handle.paused, timeout=5_000)
    assert not panel.playing and panel.buttons["play"].text() == "Play"
    with qtbot.waitSignal(panel.frame_shown, timeout=10_000) as second:
        click(qtbot, window, "video_step")
    assert second.args == [1]
    click(qtbot, window, "video_play")  # play on
    assert panel.buttons["play"].text() == "Pause"
    qtbot.waitUntil(lambda: len(panel.video) > 5, timeout=10_000)
    click(qtbot, window, "video_play")  # pause
    qtbot.waitUntil(lambda: panel.handle.paused and panel.handle.state == "paused", timeout=5_000)
    qtbot.wait(150)  # frames already on their way arrive
    held = len(panel.video)
    qtbot.wait(400)
    assert len(panel.video) == held
    # back over frames already made: the slider, and step from there
    panel.slider.setValue(2)
    qtbot.waitUntil(lambda: panel.position == 2, timeout=1_000)
    with qtbot.waitSignal(panel.frame_shown, timeout=5_000) as back:
        click(qtbot, window, "video_step")
    assert back.args == [3] and len(panel.video) == held
    click(qtbot, window, "video_stop")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=5_000)
    assert "stopped" in panel.made.text()


def test_showing_gibbs_steps_draws_the_frame_being_made(qtbot, window):
    new_sequence_model(qtbot, window)
    panel = window.video_panel
    panel.show_gibbs.setChecked(True)
    panel.gibbs.setValue(4)
    click(qtbot, window, "video_step")  # the first Gibbs step of the first frame
    qtbot.waitUntil(lambda: panel.handle is not None and panel.handle.paused and panel._gibbs is not None,
                    timeout=10_000)
    panel._dirty = True
    panel._repaint()
    assert "Gibbs step 1 of 4" in panel.status.text() and len(panel.video.frames) == 0
    assert panel.image_view.image.shape == (6, 6)
    for k in (2, 3):
        click(qtbot, window, "video_step")
        qtbot.waitUntil(lambda: panel._gibbs.step == k and panel.handle.paused, timeout=10_000)
    click(qtbot, window, "video_step")
    qtbot.waitUntil(lambda: len(panel.video.frames) == 1, timeout=10_000)
    assert panel._gibbs is None
    click(qtbot, window, "video_stop")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=5_000)


def test_motion_capture_is_drawn_as_a_stick_figure(qtbot, window, tmp_path):
    needs_mocap()
    new_sequence_model(qtbot, window, "walk", {"n_visible": 49, "n_hidden": 8, "visible": "gaussian"}, MOCAP,
                       (49,))
    panel = window.video_panel
    panel.prime.setValue(5)
    click(qtbot, window, "video_start")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=30_000)
    qtbot.waitUntil(lambda: panel.skeleton_view.pose is not None, timeout=5_000)
    assert panel.pages.currentWidget() is panel.skeleton_view
    assert panel.skeleton_view.pose.shape == (18, 3) and panel.real_skeleton_view.pose is not None
    plot, axis, figure, ground = panel.skeleton_view.plots[0]
    x, y = figure.getData()
    assert len(x) == 2 * 17 and np.isfinite(x).all() and np.isfinite(y).all()
    picture = panel.grab().toImage()
    assert picture.width() > 0
    with Image.open(panel.save_gif(str(tmp_path / "walk.gif"))) as im:
        assert im.n_frames == 11
        frame = np.asarray(im.convert("L"))
        assert frame.max() == 255  # bones drawn
    with np.load(panel.save_npz(str(tmp_path / "walk.npz"))) as z:
        assert z["video"].shape == (1, 11, 18, 3) and z["bones"].shape == (17, 2)


# ----- creating and training sequence models from the GUI -----

def test_new_model_dialog_offers_sequence_models_with_their_data_shape(qtbot):
    from studio.dialogs.new_model import NewModelDialog

    d = NewModelDialog()
    qtbot.addWidget(d)
    d.family.setCurrentIndex(d.family.findData("rtrbm"))
    r = d.request()
    assert r["kind"] == "rtrbm" and r["config"]["n_visible"] == 900 and r["config"]["visible"] == "binary"
    d.preset.setCurrentIndex(d.preset.findText("Motion capture", Qt.MatchFlag.MatchStartsWith))
    assert d.request()["config"]["n_visible"] == 49 and d.request()["config"]["visible"] == "gaussian"
    d.family.setCurrentIndex(d.family.findData("trbm"))  # still sequences: the preset stays
    assert d.request()["kind"] == "trbm" and d.request()["config"]["n_visible"] == 49
    d.family.setCurrentIndex(d.family.findData("rbm"))
    assert d.request()["config"]["n_visible"] == 784


def test_training_a_sequence_model_from_the_training_panel(qtbot, window):
    new_sequence_model(qtbot, window)
    panel = window.training_panel
    data = panel.data
    assert data.key() == "bouncing_balls" and data.res.value() == 6  # chosen to fit the new model
    assert data.n_train.isVisibleTo(data) and not data.binarize.isVisibleTo(data)
    data.n_train.setValue(10)
    data.T.setValue(8)
    panel.form.set_values({"epochs": 2, "batch_size": 5, "monitor_every": 1, "frame_every": 1})
    click(qtbot, window, "train_start")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=60_000)
    info = window.library.infos["balls"]
    assert info["step"] == 4 and info["data"]["spec"]["name"] == "bouncing_balls"
    assert panel.curves.n_points("pred_error") >= 2
    # the trained model's video is primed from its own data
    video = window.video_panel
    video.prime.setValue(3)
    click(qtbot, window, "video_start")
    qtbot.waitUntil(lambda: video.handle is None, timeout=30_000)
    assert video.video.prime == 3 and video.video.real.shape[1:] == (6, 6)
    # motion capture is offered too
    data.dataset.setCurrentIndex(data.dataset.findData("mocap_mit"))
    assert data.spec()["name"] == "mocap_mit" and "binarize" not in data.spec()


# ----- the command line -----

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from engine.training.trainer import train

    e = Engine(device="cpu")
    try:
        name = e.call(jobs.create_model, "rtrbm", TINY, name="balls")["name"]
        e.submit(train, name, BALLS, {"epochs": 1, "batch_size": 5, "monitor_every": 1}).result(60)
        folder = e.call(jobs.save_model, name, str(tmp_path_factory.mktemp("cli") / "balls"))
    finally:
        e.shutdown()
    return folder


def test_cli_eval_prediction_reports_the_error_and_the_copy_last_baseline(checkpoint, capsys):
    from engine.cli import main

    assert main(["eval", checkpoint, "--method", "prediction", "--data", "bouncing_balls", "--json", "-q"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 3 and r["dataset"] == "bouncing_balls"
    assert r["pred_error"] > 0 and r["pred_error_std"] >= 0 and r["copy_last_error"] > 0
    assert main(["eval", checkpoint, "--method", "prediction", "-q"]) == 0
    assert "copy-last baseline" in capsys.readouterr().out
    assert main(["eval", checkpoint, "-q"]) == 2  # AIS is for RBMs
    assert "--method prediction" in capsys.readouterr().err


def test_cli_sample_writes_a_video_of_a_sequence_model(checkpoint, tmp_path, capsys):
    from engine.cli import main

    gif = tmp_path / "video.gif"
    assert main(["sample", checkpoint, "--out", str(gif), "--frames", "5", "--gibbs", "2", "--prime", "2",
                 "-q"]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 7 and im.size == (20 * 16, 20 * 6)  # real beside generated
    npz = tmp_path / "video.npz"
    assert main(["sample", checkpoint, "--out", str(npz), "--frames", "5", "--gibbs", "2", "--videos", "2",
                 "-q"]) == 0
    with np.load(npz) as z:
        assert z["video"].shape == (2, 5, 6, 6) and z["real"].shape[1:] == (6, 6)
    assert main(["sample", checkpoint, "--out", str(tmp_path / "grid.png"), "-q"]) == 2
