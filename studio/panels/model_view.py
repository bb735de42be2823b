"""The base of the workspace views computed from the current model by one engine job (Behaviour, Inference).

A view is recomputed when the current model changes or a training run of it ends, but only while it is on
screen (else when it is next shown, so hidden tabs cost the engine nothing); the result of an older job, or of
a model that is no longer current, is dropped. Errors go to the view's status line.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QLabel, QWidget


class ModelView(QWidget):
    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.data_root = data_root
        self.result: dict | None = None
        self.model = ""  # the model the result belongs to
        self.handle: Any = None  # the latest job; results of older ones are dropped
        self._stale = True  # the model or its training changed since the last refresh
        self.status = QLabel("")
        self.status.setWordWrap(True)

    def watch(self) -> None:
        """Follow the current model and its training (call at the end of the subclass's ``__init__``)."""
        self.bridge.job_finished.connect(self._on_job_finished)
        self.library.current_changed.connect(lambda _: self._invalidate())
        self._invalidate()

    # ----- for subclasses -----
    def shows(self, name: str) -> bool:
        """``name`` is a model this view can show."""
        raise NotImplementedError

    def set_usable(self, usable: bool) -> None:
        """Show the view's content, or its placeholder for a model it cannot show."""
        raise NotImplementedError

    def set_result(self, result: dict | None, name: str) -> None:
        """Draw ``result`` of model ``name`` (None: clear)."""
        raise NotImplementedError

    def refresh(self) -> None:
        raise NotImplementedError

    # ----- refreshing -----
    def _invalidate(self) -> None:
        """The model or its training changed: refresh now when on screen, else when next shown."""
        name = self.library.current
        usable = self.shows(name)
        self.set_usable(usable)
        if name != self.model:
            self.set_result(None, "")
        if not usable:
            self.status.setText("")
            return
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self._invalidate()

    def _on_job_finished(self, e: Any) -> None:
        r = e.result
        if isinstance(r, dict) and r.get("model") == self.library.current and "step" in r:  # training ended
            self._invalidate()

    def training_spec(self, name: str) -> dict | None:
        """The data ``name`` was trained on (with the studio's data folder), or None and a word in the status."""
        spec = dict((self.library.infos[name].get("data") or {}).get("spec") or {})
        if not spec:
            self.status.setText(f"{name} has not been trained yet: the view runs it on the data it was trained "
                                "on. Train it first.")
            return None
        if self.data_root():
            spec["root"] = self.data_root()
        return spec

    def run_current(self, fn: Callable, doing: str, job: str, **kwargs: Any) -> Any:
        """:meth:`run` ``fn`` on the current model and the data it was trained on (``data=``), if the view
        shows that model; ``doing`` and ``job`` may name it as ``{name}``."""
        name = self.library.current
        spec = self.training_spec(name) if self.shows(name) else None
        if spec is not None:
            return self.run(fn, name, doing.format(name=name), job.format(name=name), data=spec, **kwargs)
        return None

    def run(self, fn: Callable, name: str, doing: str, job_name: str, **kwargs: Any) -> Any:
        """Submit ``fn(ctx, name, **kwargs)``; its result is drawn if it is still the latest job and ``name``
        still the current model."""
        self._stale = False

        def done(result: dict) -> None:
            if job is self.handle and name == self.library.current:
                self.set_result(result, name)

        def failed(message: str) -> None:
            if job is self.handle:
                self.status.setText(f"{name}: {message}")

        job = self.handle = self.bridge.submit(fn, name, on_done=done, on_error=failed, job_name=job_name,
                                               **kwargs)
        self.status.setText(doing)
        return job
