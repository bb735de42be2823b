"""Videos from sequence models (RTRBM, TRBM), generated live and played like a video.

The engine's ``generate_video`` job sends each frame as its Gibbs chain finishes (with "Show Gibbs steps",
every Gibbs step before it too), at most "Speed" frames a second. The frames go into a :class:`Video`, the
panel's document: the real frames that primed the model, the generated frames, and the real sequence to
compare with. A playhead moves over it at the chosen speed, catches up with the newest frame while frames
are being made, and loops at the end; pause, step and the slider move it by hand. Image frames (bouncing
balls) are drawn as pictures, motion capture as a stick figure seen from the side and the front. The video
is saved as an animated GIF (the real sequence beside it when shown) or as a .npz of arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QBoxLayout, QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QStackedWidget, QVBoxLayout, QWidget)

from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle, settings_column, spin_box, timeline, view_layout
from studio.widgets.image_view import ImageView
from studio.widgets.skeleton_view import SkeletonView

#: playback speed while the playhead is behind the newest frame of a running generation, so it catches up
CATCH_UP = 1.5
GENERATED_COLOR, REAL_COLOR = (140, 200, 255), (255, 175, 95)


@dataclass
class Video:
    """A generated video as the panel knows it: its timeline is the ``prime`` real frames that started it,
    then the generated frames, (n_seqs, *frame) each; ``real`` (T, *frame) is the real sequence."""

    model: str = ""
    layout: str = "image"  # "image" or "skeleton" (joint positions)
    shape: tuple[int, ...] = ()
    n_frames: int = 0  # frames asked for
    n_seqs: int = 1
    gibbs_steps: int = 1
    prime: int = 0
    real: np.ndarray | None = None
    bones: tuple[tuple[int, int], ...] = ()
    fps: float = 0.0
    frames: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def from_event(cls, e: Any) -> Video:
        return cls(e.model, e.layout, tuple(e.shape), e.n_frames, e.n_seqs, e.gibbs_steps, e.prime, e.real,
                   tuple(e.bones), e.fps)

    def __len__(self) -> int:
        return self.prime + len(self.frames)

    @property
    def complete(self) -> bool:
        return len(self.frames) >= self.n_frames

    def is_prime(self, t: int) -> bool:
        return t < self.prime

    def frame(self, t: int) -> np.ndarray:
        """Timeline frame ``t`` of every video, (n_seqs, *frame)."""
        if t < self.prime:
            return np.broadcast_to(self.real[t], (self.n_seqs, *self.real.shape[1:]))
        return self.frames[t - self.prime]

    def real_frame(self, t: int) -> np.ndarray | None:
        """The real sequence at timeline frame ``t`` (None once it has ended)."""
        return self.real[t] if self.real is not None and t < len(self.real) else None

    def timeline(self) -> np.ndarray:
        """Every frame so far, (n_seqs, len(self), *frame): the primes, then the generated frames."""
        return np.stack([self.frame(t) for t in range(len(self))], 1)


class VideoPanel(QWidget):
    #: a timeline frame was put on screen (its position)
    frame_shown = Signal(int)
    #: a video began (its Video document)
    video_changed = Signal(object)

    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.data_root = data_root
        self.handle: Any = None
        self.video = Video()
        self.position = -1  # the timeline frame on screen
        self.play_timer = QTimer(self)  # runs only while playing
        self.play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.play_timer.timeout.connect(self._tick)
        self.playing = False
        self._stepping = False  # a step asked the engine for one more frame
        self._gibbs: Any = None  # the newest Gibbs-step Frame of the frame being made
        self._dirty = False
        self._syncing = False

        # the views: generated and real, as images or as stick figures
        self.image_view = ImageView(placeholder="Press Generate to watch a new video being made, frame by "
                                                "frame, by the selected sequence model.")
        self.real_image_view = ImageView(placeholder="The real sequence appears here, to compare with.")
        self.skeleton_view = SkeletonView(GENERATED_COLOR)
        self.real_skeleton_view = SkeletonView(REAL_COLOR)
        self.pages = QStackedWidget()
        self.real_pages = QStackedWidget()
        for pages, image, skeleton in ((self.pages, self.image_view, self.skeleton_view),
                                       (self.real_pages, self.real_image_view, self.real_skeleton_view)):
            pages.addWidget(image)
            pages.addWidget(skeleton)
            pages.setMinimumSize(180, 180)
        self.caption = QLabel("Generated")
        self.real_caption = QLabel("Real")
        for label, color in ((self.caption, GENERATED_COLOR), (self.real_caption, REAL_COLOR)):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet(f"color: rgb{color}; font-weight: bold;")
        gen_box, self.real_box = QWidget(), QWidget()
        for box, label, pages in ((gen_box, self.caption, self.pages),
                                  (self.real_box, self.real_caption, self.real_pages)):
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(label)
            v.addWidget(pages, 1)
        # pictures side by side; stick figures (a side and a front view each) one above the other
        self.views = views = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        views.addWidget(gen_box, 1)
        views.addWidget(self.real_box, 1)

        self.slider, self.position_label, timeline_row = timeline(
            "video", "The video's frames: drag to look at any of them", self._on_slider, 110)
        self.position_label.setObjectName("video_position")

        # settings
        self.n_frames = spin_box(1, 100_000, 100, "Frames to generate")
        self.gibbs = spin_box(1, 10_000, 25, "Gibbs steps of each frame's chain (the paper: 25)")
        self.n_seqs = spin_box(1, 16, 1, "Videos generated at once, drawn as a grid (a stick figure shows "
                                           "the first)")
        self.prime = spin_box(0, 10_000, 0, "Start from this many frames of the real sequence; the model "
                                              "continues it")
        self.sequence = spin_box(0, 100_000, 0, "Which test sequence is the real one (for priming and "
                                                  "comparing)")
        self.speed = spin_box(1, 240, 20, "Frames a second: generation goes at this pace (set before "
                                            "Generate), playback too")
        self.speed.valueChanged.connect(lambda _: self._set_interval())
        self.seed = spin_box(0, 2**31 - 1, 0, "Seed: the same seed gives the same video")
        self.show_gibbs = QCheckBox("Show Gibbs steps")
        self.show_gibbs.setObjectName("video_show_gibbs")
        self.show_gibbs.setToolTip("Also show each Gibbs step of the frame being made: each step then takes a "
                                   "frame's time at the chosen speed, and Step advances one Gibbs step. Takes "
                                   "effect at the next Generate")
        self.show_real = QCheckBox("Real beside generated")
        self.show_real.setObjectName("video_show_real")
        self.show_real.setChecked(True)
        self.show_real.setToolTip("Show the real sequence beside the generated one, frame by frame")
        self.show_real.toggled.connect(self._on_show_real)
        form = QFormLayout()
        form.addRow("Frames", self.n_frames)
        form.addRow("Gibbs steps/frame", self.gibbs)
        form.addRow("Videos", self.n_seqs)
        form.addRow("Prime frames", self.prime)
        form.addRow("Real sequence", self.sequence)
        form.addRow("Speed (frames/s)", self.speed)
        form.addRow("Seed", self.seed)
        form.addRow(self.show_gibbs)
        form.addRow(self.show_real)
        side = settings_column("Generation", form)

        bar, self.buttons = action_bar(self, "video", (
            ("start", "Generate", "Generate a new video from the selected sequence model (Ctrl+G)", self.start),
            ("play", "Pause", "Play or pause the video (and its generation)", self.toggle_play),
            ("step", "Step", "Show the next frame (the next Gibbs step when they are shown)", self.step_once),
            ("stop", "Stop", "Stop generating; the frames made so far stay", self.stop),
            ("loop", "Loop", "Play the video again from the start when it ends", lambda: None),
            ("gif", "Save GIF…", "Save the video as an animated GIF (the real one beside it when shown)",
             lambda: self.save_gif()),
            ("npz", "Save .npz…", "Save the frames (and the real sequence) as numpy arrays",
             lambda: self.save_npz())))
        self.buttons["loop"].setCheckable(True)
        self.buttons["loop"].setChecked(True)
        self.status = QLabel("Select a sequence model (RTRBM, TRBM), then press Generate.")
        self.status.setObjectName("video_status")
        self.made = QLabel("")
        self.made.setObjectName("video_made")
        foot = QHBoxLayout()
        foot.addWidget(self.status, 1)
        foot.addWidget(self.made)

        view_layout(self, views, timeline_row, side, bar, foot)

        self.bridge.video_started.connect(self._on_video_started)
        self.bridge.frame_ready.connect(self._on_frame)
        self.bridge.progress_changed.connect(self._on_progress)
        self.bridge.job_finished.connect(self._on_end)
        self.bridge.job_failed.connect(self._on_end)
        self.bridge.job_cancelled.connect(self._on_end)
        self.bridge.job_state_changed.connect(lambda e: self._mine(e) and self._update_buttons())
        library.current_changed.connect(self._on_current_model)
        library.models_changed.connect(self._update_buttons)
        self.repaints = Throttle(33, self._repaint, self)
        self._update_buttons()

    def _mine(self, e: Any) -> bool:
        return self.handle is not None and e.job == self.handle.id

    def _on_current_model(self, name: str) -> None:
        self._update_buttons()
        if self.handle is not None or len(self.video):
            return  # keep showing the video
        if not name:
            self.status.setText("Select a sequence model (RTRBM, TRBM), then press Generate.")
        elif self.sequence_model():
            self.status.setText(f"Press Generate to make a video with {name}.")
        else:
            self.status.setText(f"{name} models single examples: select a sequence model (RTRBM, TRBM) to make "
                                "videos.")

    def sequence_model(self) -> bool:
        """The selected model is a model of sequences (one this panel can generate from)."""
        return bool((self.library.current_info() or {}).get("sequence"))

    # ----- commands -----
    def start(self, paused: bool = False) -> None:
        """Generate a new video from the selected model (``paused``: stop after its first frame)."""
        from engine import jobs

        name = self.library.current
        if not name or not self.sequence_model():
            self.status.setText("Select a sequence model (RTRBM, TRBM) to generate videos.")
            return
        if self.handle is not None:
            self.bridge.cancel(self.handle)
        spec = dict((self.library.infos.get(name, {}).get("data") or {}).get("spec") or {})
        if spec and self.data_root():
            spec["root"] = self.data_root()
        self.video = Video(model=name)
        self.position, self._gibbs = -1, None
        for view in (self.image_view, self.real_image_view):
            view.clear()
        self.skeleton_view.clear()
        self.real_skeleton_view.clear()
        self.playing, self._stepping = not paused, paused
        self._sync_slider()
        self.handle = self.bridge.submit(
            jobs.generate_video, name, n_frames=self.n_frames.value(), gibbs_steps=self.gibbs.value(),
            n_seqs=self.n_seqs.value(), prime=self.prime.value(), data=spec or None,
            sequence=self.sequence.value(), seed=self.seed.value(), every_gibbs=self.show_gibbs.isChecked(),
            fps=float(self.speed.value()), job_name=f"video {name}", pause_at_frame=paused)
        self.status.setText(f"Generating a video from {name}…")
        self.made.setText("")
        self._update_buttons()

    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, on: bool) -> None:
        """Playing runs the playback timer; a stopped video costs no timer ticks."""
        self._playing = on
        if on and not self.play_timer.isActive():
            self.play_timer.start(max(1, int(1000 / self.speed.value())))
        elif not on:
            self.play_timer.stop()

    def toggle_play(self) -> None:
        (self.pause if self.playing else self.play)()

    def play(self) -> None:
        if self.handle is None and not len(self.video):
            self.start()
            return
        self.playing = True
        self._stepping = False
        if self.handle is not None:
            if self.handle.paused:
                self.bridge.resume(self.handle)
        elif self.position >= len(self.video) - 1:
            self.show_frame(0)  # play again from the start
        self._set_interval()
        self._update_buttons()

    def pause(self) -> None:
        self.playing = False
        if self.handle is not None and not self.handle.paused:
            self.bridge.pause(self.handle)
        self._update_buttons()

    def step_once(self) -> None:
        """One frame on: a frame already made, or the next one (or Gibbs step) from the engine."""
        if self.handle is None and not len(self.video):
            self.start(paused=True)
            return
        self.playing = False
        if self.position < len(self.video) - 1:
            if self.handle is not None and not self.handle.paused:
                self.bridge.pause(self.handle)
            self.show_frame(self.position + 1)
        elif self.handle is not None:
            self._stepping = True
            self.bridge.step(self.handle)
        elif self.buttons["loop"].isChecked():
            self.show_frame(0)
        self._update_buttons()

    def stop(self) -> None:
        if self.handle is not None:
            self.bridge.cancel(self.handle)

    def show_frame(self, t: int) -> None:
        """Put timeline frame ``t`` on screen (at the next repaint)."""
        self.position = max(-1, min(t, len(self.video) - 1))
        self._mark_dirty()
        self._sync_slider()

    # ----- events -----
    def _on_video_started(self, e: Any) -> None:
        if not self._mine(e):
            return
        v = self.video = Video.from_event(e)
        skeleton = v.layout == "skeleton"
        self.pages.setCurrentIndex(int(skeleton))
        self.real_pages.setCurrentIndex(int(skeleton))
        self.views.setDirection(QBoxLayout.Direction.TopToBottom if skeleton
                                else QBoxLayout.Direction.LeftToRight)
        if skeleton:
            from engine.utils.video import stage_bounds

            bounds = stage_bounds(v.real) if v.real is not None else None
            self.skeleton_view.set_skeleton(v.bones, bounds)
            self.real_skeleton_view.set_skeleton(v.bones, bounds)
        self.real_caption.setText("Real" if v.real is None else f"Real: test sequence {self.sequence.value()}")
        self._on_show_real(self.show_real.isChecked())
        if v.prime:
            self.show_frame(0)
        self._update_buttons()
        self.video_changed.emit(v)

    def _on_frame(self, e: Any) -> None:
        if not self._mine(e):
            return
        v = self.video
        at_edge = self.position >= len(v) - 1
        follow = at_edge and (self.playing or self._stepping)
        if e.label == "video":
            v.frames.append(e.image)
            self._gibbs = None
            if follow:
                self.show_frame(len(v) - 1)
            self._sync_slider()
            if len(v.frames) == 1:
                self._update_buttons()  # something to save now
        elif follow:
            self._gibbs = e
            self._mark_dirty()
        if follow:
            self._stepping = False

    def _on_progress(self, e: Any) -> None:
        if self._mine(e):
            rate = f"{e.rate:,.0f}" if e.rate >= 10 else f"{e.rate:.2g}"
            self.made.setText(f"made {e.step:,} of {e.total:,} frames · {rate} frames/s")

    def _on_end(self, e: Any) -> None:
        if not self._mine(e):
            return
        from engine import events as ev

        self.handle = None
        n = len(self.video.frames)
        if isinstance(e, ev.Finished):
            self.made.setText(f"{n:,} frames made")
        elif isinstance(e, ev.Failed):
            self.status.setText(f"Stopped by an error: {e.message}")
        else:
            self.made.setText(f"stopped after {n:,} frames")
        self._mark_dirty()
        self._update_buttons()

    # ----- playback -----
    def _set_interval(self) -> None:
        behind = self.handle is not None and self.position < len(self.video) - 1
        fps = self.speed.value() * (CATCH_UP if behind else 1.0)
        ms = max(1, int(1000 / fps))
        if self.play_timer.interval() != ms:
            self.play_timer.setInterval(ms)

    def _tick(self) -> None:
        if not self.playing:
            return
        last = len(self.video) - 1
        if self.position < last:
            self.show_frame(self.position + 1)
        elif self.handle is None and last >= 0:  # the end of a finished video
            if self.buttons["loop"].isChecked():
                self.show_frame(0)
            else:
                self.playing = False
                self._update_buttons()
        self._set_interval()

    def _on_slider(self, value: int) -> None:
        if not self._syncing:
            self.show_frame(value)

    def _sync_slider(self) -> None:
        self._syncing = True
        self.slider.setRange(0, max(len(self.video) - 1, 0))
        self.slider.setValue(max(self.position, 0))
        self._syncing = False

    def _on_show_real(self, on: bool) -> None:
        self.real_box.setVisible(on and self.video.real is not None)
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        self._dirty = True
        self.repaints.request()

    def _repaint(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        v, t = self.video, self.position
        # at the newest frame while the next is being made, with Gibbs steps shown: the chain of the next
        g = self._gibbs if self.handle is not None and t == len(v) - 1 else None
        if g is not None:
            frame, at = g.image, len(v)
            what = f"making frame {g.index + 1} of {v.n_frames}: Gibbs step {g.step} of {v.gibbs_steps}"
        elif t >= 0:
            frame, at = v.frame(t), t
            what = (f"real frame {t + 1} of the {v.prime} that prime the model" if v.is_prime(t)
                    else f"generated frame {t - v.prime + 1} of {v.n_frames}")
        else:
            self.position_label.setText("")
            return
        self.caption.setText("Real frames (priming)" if at < v.prime else "Generated")
        if v.layout == "skeleton":
            self.skeleton_view.set_pose(frame[0])
        else:
            from engine.utils.images import tile

            self.image_view.set_image(tile(frame, pad_value=0.5) if len(frame) > 1 else frame[0])
        real = v.real_frame(at)
        if self.real_box.isVisible():
            if real is None:
                if v.layout == "skeleton":
                    self.real_skeleton_view.clear()
                else:
                    self.real_image_view.set_image(np.zeros(v.shape, np.float32))
            elif v.layout == "skeleton":
                self.real_skeleton_view.set_pose(real)
            else:
                self.real_image_view.set_image(real)
        self.position_label.setText(f"frame {at + 1:,} / {v.prime + v.n_frames:,}")
        ended = "" if real is not None or v.real is None else " · the real sequence has ended"
        shown = "" if v.layout == "image" or v.n_seqs == 1 else f" · the first of {v.n_seqs} videos"
        self.status.setText(f"{v.model}: {what}{ended}{shown}")
        self.frame_shown.emit(at)

    def _update_buttons(self) -> None:
        running = self.handle is not None
        usable = bool(self.library.current) and self.sequence_model()
        has_video = len(self.video) > 0
        self.buttons["start"].setEnabled(usable)
        self.buttons["play"].setEnabled(usable or has_video)
        self.buttons["play"].setText("Pause" if self.playing else "Play")
        self.buttons["step"].setEnabled(usable or has_video)
        self.buttons["stop"].setEnabled(running)
        self.buttons["gif"].setEnabled(has_video)
        self.buttons["npz"].setEnabled(has_video)

    # ----- export -----
    def _export(self, path: str | None, suffix: str, title: str, filt: str) -> str | None:
        from engine.utils.video import save_video

        v = self.video
        if not len(v):
            return None
        path = path or QFileDialog.getSaveFileName(self, title, f"{v.model or 'video'}{suffix}", filt)[0]
        if not path:
            return None
        real = v.real if (suffix == ".npz" or self.show_real.isChecked()) else None
        save_video(path, v.timeline(), v.layout, real=real, bones=v.bones, fps=self.speed.value(),
                   prime=v.prime)
        self.status.setText(f"Saved {path}")
        return path

    def save_gif(self, path: str | None = None) -> str | None:
        """The video so far as an animated GIF, at the playback speed."""
        return self._export(path, ".gif", "Save video as GIF", "GIF (*.gif)")

    def save_npz(self, path: str | None = None) -> str | None:
        """The video so far as arrays: ``video`` (n_seqs, T, *frame), ``real``, ``prime``, ``layout``, ..."""
        return self._export(path, ".npz", "Save video as arrays", "NumPy arrays (*.npz)")
