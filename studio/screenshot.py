"""Render the main window and each panel to PNG, headlessly: ``boltzmann-studio --screenshot DIR``.

Opens the studio on its bundled demo, lets the chains run for a few seconds so the pictures show a live
state, writes ``main_window.png`` and ``<panel>.png`` for every panel, and quits.
"""
from __future__ import annotations

import time
from pathlib import Path
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


# ----- the piano roll, composing with a briefly trained RNN-RBM -----

#: a two-bar primer in C major: a melody over a bass and chords (beats, pitch)
PRIMER = ([(0, 1, 72), (1, 1.5, 74), (1.5, 2, 76), (2, 3, 79), (3, 4, 76), (4, 5, 77), (5, 5.5, 76), (5.5, 6, 74),
           (6, 8, 72)] + [(0, 4, 48), (0, 4, 60), (0, 4, 64), (4, 6, 53), (4, 6, 60), (4, 6, 65), (6, 8, 55),
                          (6, 8, 59), (6, 8, 62)])


def piano_roll(folder: str | Path, train_s: float = 20.0, data_root: str | None = None) -> Path:
    """``piano_roll.png``: the Piano roll view with a hand-written primer and four bars an RNN-RBM continued
    from it, after ``train_s`` seconds of training on Nottingham (transposed to C); the last two bars are
    selected, and the loop region and playhead are set, so every layer of the view shows."""
    import tempfile

    from PySide6.QtCore import QEventLoop, QSettings

    from studio.documents.notes import AddNote, Note
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

    def wait(done: Any, limit_s: float) -> None:
        t0 = time.monotonic()
        loop = QEventLoop()
        while not done() and time.monotonic() - t0 < limit_s:
            loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    from engine.training.trainer import train

    name = "nottingham-rnnrbm"
    window.create_model("rnnrbm", {"n_visible": 88, "n_hidden": 100, "n_recurrent": 100, "k": 5}, name)
    wait(lambda: window.library.current == name, 30)
    handle = window.bridge.submit(train, name, {"name": "nottingham", "transpose": True},
                                  {"epochs": 1000, "batch_size": 20, "optimizer": "adam", "lr": 0.001,
                                   "seq_chunk": 50, "time_budget_s": train_s, "monitor_every": 100})
    wait(lambda: handle.done, train_s + 60)
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
    wait(lambda: False, 0.3)
    app.processEvents()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "piano_roll.png"
    panel.grab().save(str(path))
    window.close()
    return path


if __name__ == "__main__":
    import sys

    # python -m studio.screenshot piano DIR [TRAIN_SECONDS]
    if len(sys.argv) >= 3 and sys.argv[1] == "piano":
        print(piano_roll(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 20.0))
    else:
        sys.exit("usage: python -m studio.screenshot piano DIR [TRAIN_SECONDS]")
