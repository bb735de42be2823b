"""Render the main window and each panel to PNG, headlessly: ``boltzmann-studio --screenshot DIR``.

Opens the studio on its bundled demo, lets the chains run for a few seconds so the pictures show a live
state, writes ``main_window.png`` and ``<panel>.png`` for every panel, and quits.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

#: how long the demo runs before the pictures are taken, and the most to wait for its first frames
SETTLE_S = 6.0
DEADLINE_S = 60.0


def take(window: Any, folder: str | Path) -> list[Path]:
    """Grab the window and each panel now; returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    QApplication.processEvents()
    path = folder / "main_window.png"
    window.grab().save(str(path))
    written.append(path)
    for key, panel in window.panels.items():
        path = folder / f"{key}.png"
        dock = window.docks.get(key)
        if dock is not None and not dock.isVisible():
            continue
        if panel.isVisible():
            panel.grab().save(str(path))
            written.append(path)
    return written


def run(window: Any, app: QApplication, folder: str) -> int:
    """Show ``window``, wait until the demo model has sampled for a while, take the pictures, quit."""
    t0 = time.monotonic()
    state = {"first": None}

    def poll() -> None:
        now = time.monotonic()
        if state["first"] is None and window.sampling_panel.grid is not None:
            state["first"] = now
        ready = state["first"] is not None and now - state["first"] > SETTLE_S
        if ready or now - t0 > DEADLINE_S:
            timer.stop()
            for p in take(window, folder):
                print(p)
            window.confirm_close = False
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(200)
    window.show()
    return app.exec()


# ----- single views, each on a fresh window without docks -----

def _view_window(data_root: str | None) -> tuple[QApplication, Any]:
    """A main window with its own throw-away settings, docks hidden, shown at 1280 x 820."""
    import tempfile

    from PySide6.QtCore import QSettings

    from studio.main_window import MainWindow
    from studio.settings import Settings

    app = QApplication.instance() or QApplication([])
    tmp = tempfile.mkdtemp(prefix="boltzmann-shot-")
    settings = Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat))
    window = MainWindow(device="cpu", settings=settings, data_root=data_root, confirm_close=False)
    for dock in window.docks.values():
        dock.hide()
    window.resize(1280, 820)
    window.show()
    return app, window


def _wait(done: Any, limit_s: float) -> None:
    """Run the event loop until ``done()`` or ``limit_s`` seconds."""
    from PySide6.QtCore import QEventLoop

    t0 = time.monotonic()
    loop = QEventLoop()
    while not done() and time.monotonic() - t0 < limit_s:
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def _save(app: QApplication, window: Any, panel: Any, folder: str | Path, name: str) -> Path:
    _wait(lambda: False, 0.3)
    app.processEvents()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    panel.grab().save(str(path))
    window.close()
    return path


# ----- the piano roll, composing with a briefly trained RNN-RBM -----

#: a two-bar primer in C major: a melody over a bass and chords (beats, pitch)
PRIMER = ([(0, 1, 72), (1, 1.5, 74), (1.5, 2, 76), (2, 3, 79), (3, 4, 76), (4, 5, 77), (5, 5.5, 76), (5.5, 6, 74),
           (6, 8, 72)] + [(0, 4, 48), (0, 4, 60), (0, 4, 64), (4, 6, 53), (4, 6, 60), (4, 6, 65), (6, 8, 55),
                          (6, 8, 59), (6, 8, 62)])


def piano_roll(folder: str | Path, train_s: float = 0.0, data_root: str | None = None) -> Path:
    """``piano_roll.png``: the Piano roll view with a hand-written primer and four bars an RNN-RBM continued
    from it: the bundled Nottingham RNN-RBM, or (``train_s`` > 0) a fresh one trained that many seconds on
    Nottingham (transposed to C); the last two bars are selected, and the loop region and playhead are set,
    so every layer of the view shows."""
    from studio.documents.notes import AddNote, Note
    from studio.main_window import DEMO_MUSIC_MODEL

    app, window = _view_window(data_root)
    wait = _wait
    if train_s > 0:
        from engine.training.trainer import train

        name = "nottingham-rnnrbm"
        window.create_model("rnnrbm", {"n_visible": 88, "n_hidden": 100, "n_recurrent": 100, "k": 5}, name)
        wait(lambda: window.library.current == name, 30)
        handle = window.bridge.submit(train, name, {"name": "nottingham", "transpose": True},
                                      {"epochs": 1000, "batch_size": 20, "optimizer": "adam", "lr": 0.001,
                                       "seq_chunk": 50, "time_budget_s": train_s, "monitor_every": 100})
        wait(lambda: handle.done, train_s + 60)
    else:
        window.load_checkpoint(str(DEMO_MUSIC_MODEL))
        wait(lambda: bool(window.library.current), 60)
    panel = window.piano_panel
    window.workspace.setCurrentWidget(panel)
    doc = panel.doc
    for s, e, p in PRIMER:
        doc.push(AddNote(doc, Note(float(s), float(e), p, 96 if p >= 72 else 70)))
    panel.bars.setValue(4)
    panel.gibbs.setValue(25)
    panel.seed.setValue(3)
    panel.roll.set_playhead(8.0)
    applied: list[int] = []
    panel.result_applied.connect(applied.append)
    panel.run_model("continue")
    wait(lambda: bool(applied), 120)
    panel.roll.set_loop((0.0, 8.0))
    doc.select([n for n in doc.notes if 16.0 <= n.start < 24.0])
    panel.roll.set_playhead(6.0)
    panel.roll.center_on(64)
    return _save(app, window, panel, folder, "piano_roll.png")


# ----- the inpainting canvas, with the bundled RBM fine-tuned for inpainting -----

def inpaint(folder: str | Path, digit: int = 0, data_root: str | None = None) -> Path:
    """``inpaint.png``: the Inpaint view with test digit ``digit`` of MNIST, its bottom half masked and
    filled by the bundled RBM fine-tuned for inpainting (the plain demo RBM when that is missing): four
    variations and their average, the average shown on the canvas, not yet applied."""
    from studio.main_window import DEMO_INPAINT_MODEL, DEMO_MODEL

    app, window = _view_window(data_root)
    wait = _wait
    model = DEMO_INPAINT_MODEL if (DEMO_INPAINT_MODEL / "model.json").is_file() else DEMO_MODEL
    window.load_checkpoint(str(model))
    wait(lambda: bool(window.library.current), 60)
    panel = window.inpaint_panel
    window.workspace.setCurrentWidget(panel)
    panel.pick_test_digit(digit)
    wait(lambda: panel.doc.source.endswith(f"test example {digit}"), 60)
    h, w = panel.doc.shape
    panel.doc.mask_rect(0, h // 2, w, h)
    panel.fps.setValue(0)
    done: list[int] = []
    panel.results_ready.connect(done.append)
    panel.run()
    wait(lambda: bool(done), 120)
    panel.choose(len(panel.results) - 1)  # the average, the last thumbnail
    panel.fps.setValue(60)
    return _save(app, window, panel, folder, "inpaint.png")


# ----- the video view, with the bundled bouncing-balls RTRBM -----

def video(folder: str | Path, prime: int = 10, frames: int = 40, data_root: str | None = None) -> Path:
    """``video.png``: the Video view with the bundled RTRBM continuing ``prime`` real frames of a
    bouncing-balls test sequence for ``frames`` frames, the real sequence beside it, at the last frame."""
    from studio.main_window import DEMO_VIDEO_MODEL

    app, window = _view_window(data_root)
    window.load_checkpoint(str(DEMO_VIDEO_MODEL))
    _wait(lambda: bool(window.library.current), 60)
    panel = window.video_panel
    window.workspace.setCurrentWidget(panel)
    panel.prime.setValue(prime)
    panel.n_frames.setValue(frames)
    panel.speed.setValue(240)
    panel.buttons["loop"].setChecked(False)
    panel.start()
    _wait(lambda: panel.handle is None and not panel.playing and len(panel.video) == prime + frames, 120)
    return _save(app, window, panel, folder, "video.png")


# ----- the behaviour view, with a briefly trained professor-forcing model -----

def behaviour(folder: str | Path, train_s: float = 10.0, data_root: str | None = None) -> Path:
    """``behaviour.png``: the Behaviour view of a small professor-forcing GRU trained ``train_s`` seconds on
    JSB Chorales: teacher-forced and free-running hidden states of 8 sequences, the slider at two thirds."""
    from engine.training.trainer import train

    app, window = _view_window(data_root)
    name = "jsb-professor"
    window.create_model("professor", {"n_visible": 88, "n_recurrent": 64, "mode": "professor", "disc_hidden": 32,
                                      "disc_mlp": 32}, name)
    _wait(lambda: window.library.current == name, 30)
    handle = window.bridge.submit(train, name, {"name": "jsb_chorales"},
                                  {"epochs": 1000, "batch_size": 20, "optimizer": "adam", "lr": 0.003,
                                   "seq_chunk": 30, "time_budget_s": train_s, "monitor_every": 50})
    panel = window.behaviour_panel
    window.workspace.setCurrentWidget(panel)
    _wait(lambda: handle.done and panel.result is not None and panel.model == name, train_s + 60)
    panel.slider.setValue(2 * panel.slider.maximum() // 3)
    return _save(app, window, panel, folder, "behaviour.png")


# ----- the inference view, with a briefly trained Recurrent Ladder -----

def inference(folder: str | Path, train_s: float = 60.0, data_root: str | None = None) -> Path:
    """``inference.png``: the Inference view of a dense Recurrent Ladder trained ``train_s`` seconds on occluded
    Moving MNIST, on the first test sequence whose digit it first got wrong and in the end right, at the first
    step it gives the right digit more than half its belief (the paper's Fig. 4 story)."""
    from engine import jobs
    from engine.training.trainer import train

    app, window = _view_window(data_root)
    name = "mnist-ladder"
    window.create_model("ladder", {"n_visible": 1024, "n_units": 128, "n_levels": 2, "predict_weight": 0.1},
                        name)
    _wait(lambda: window.library.current == name, 30)
    spec = {"name": "occluded_moving_mnist", "limit": 30000, "n_test": 200}
    handle = window.bridge.submit(train, name, spec,
                                  {"epochs": 1000, "batch_size": 32, "optimizer": "adam", "lr": 0.002,
                                   "time_budget_s": train_s, "monitor_every": 100, "monitor_size": 200})
    panel = window.inference_panel
    _wait(lambda: handle.done and panel.result is not None, train_s + 120)
    spec = dict(window.library.infos[name]["data"]["spec"])
    best = (0, panel.slider.maximum())
    for i in range(panel.result["n"]):  # a sequence that tells the story: wrong first, then right, and sure
        r = window.engine.call(jobs.ladder_inference, name, data=spec, index=i)
        sure = np.flatnonzero(r["classes"][:, r["label"]] > 0.5)
        if r["classes"][0].argmax() != r["label"] and len(sure) and sure[-1] == len(r["classes"]) - 1:
            best = (i, int(sure[0]))
            break
    panel.sequence.setValue(best[0])
    _wait(lambda: panel.result is not None and panel.result["index"] == best[0], 30)
    panel.show_step(best[1])
    return _save(app, window, panel, folder, "inference.png")


def inference_music(folder: str | Path, train_s: float = 30.0, data_root: str | None = None) -> Path:
    """``inference_music.png``: the Inference view of a Recurrent Ladder trained ``train_s`` seconds on JSB
    Chorales: a test chorale's notes over the note probabilities it predicted, at frame 20."""
    from engine.training.trainer import train

    app, window = _view_window(data_root)
    name = "jsb-ladder"
    window.create_model("ladder", {"n_visible": 88, "n_units": 128, "n_levels": 2, "n_classes": 0}, name)
    _wait(lambda: window.library.current == name, 30)
    handle = window.bridge.submit(train, name, {"name": "jsb_chorales"},
                                  {"epochs": 1000, "batch_size": 20, "optimizer": "adam", "lr": 0.003,
                                   "seq_chunk": 50, "time_budget_s": train_s, "monitor_every": 50})
    panel = window.inference_panel
    _wait(lambda: handle.done and panel.result is not None, train_s + 120)
    panel.show_step(20)
    return _save(app, window, panel, folder, "inference_music.png")


if __name__ == "__main__":
    import sys

    # python -m studio.screenshot piano DIR [TRAIN_SECONDS] | inpaint DIR [DIGIT] | video DIR
    #                             | behaviour DIR [TRAIN_SECONDS] | inference DIR [TRAIN_SECONDS]
    #                             | inference-music DIR [TRAIN_SECONDS]
    if len(sys.argv) >= 3 and sys.argv[1] == "piano":
        print(piano_roll(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0))
    elif len(sys.argv) >= 3 and sys.argv[1] == "inpaint":
        print(inpaint(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
    elif len(sys.argv) >= 3 and sys.argv[1] == "video":
        print(video(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "behaviour":
        print(behaviour(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 10.0))
    elif len(sys.argv) >= 3 and sys.argv[1] in ("inference", "inference-music"):
        shot = inference if sys.argv[1] == "inference" else inference_music
        print(shot(sys.argv[2], *(float(a) for a in sys.argv[3:4])))
    else:
        sys.exit("usage: python -m studio.screenshot piano DIR [TRAIN_SECONDS] | inpaint DIR [DIGIT] | video DIR "
                 "| behaviour DIR [TRAIN_SECONDS] | inference DIR [TRAIN_SECONDS] | inference-music DIR "
                 "[TRAIN_SECONDS]")
