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
