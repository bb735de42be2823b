"""The main window the studio tests drive: throw-away settings in the test's folder, shown offscreen."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from studio.main_window import MainWindow
from studio.settings import Settings


def make_window(qtbot, tmp_path, raise_errors: bool = True, **kw) -> MainWindow:
    """A shown main window; ``raise_errors`` makes a failed job raise in the test instead of only showing."""
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w = MainWindow(device="cpu", settings=settings, confirm_close=False, raise_errors=raise_errors, **kw)
    qtbot.addWidget(w)
    w.show()
    return w


def window_fixture(qtbot, tmp_path, **kw):
    """The body of a test module's ``window`` fixture: a window from :func:`make_window`, closed after the
    test (``yield from window_fixture(qtbot, tmp_path)``)."""
    w = make_window(qtbot, tmp_path, **kw)
    yield w
    if w.engine.alive:
        w.close()
