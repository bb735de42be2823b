"""GUI responsiveness while an RBM trains: event-loop latency and the training throughput the GUI costs.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py          # 3 rounds, 20 s each phase

Phase "headless": the engine trains a 500-hidden MNIST RBM (PCD-1, batch 100) for --seconds with no GUI.
Phase "gui": the studio's main window trains the same model through its Training panel (live curves, chain
images, filters, status bar) while a 10 ms QTimer records how late each tick fires. Headless and GUI phases
alternate, starting and ending headless, and the throughput ratio is the median GUI over the median headless
speed (the machine's speed drifts).
RESULT keys: p50_ms, p99_ms (tick lateness), throughput_ratio (GUI over headless examples/s).
Target: p99 <= 50 ms and throughput_ratio >= 0.9.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from _common import machine, result

MODEL = {"n_visible": 784, "n_hidden": 500, "sampler": "pcd"}
TRAIN = {"epochs": 10_000, "batch_size": 100, "lr": 0.01, "momentum": 0.9, "monitor_every": 200,
         "frame_every": 50}


def headless(seconds: float, data_spec: dict) -> float:
    from engine import Engine, jobs
    from engine.training.trainer import train

    engine = Engine(device="cpu")
    try:
        name = engine.call(jobs.create_model, "rbm", MODEL, name="bench")["name"]
        out = engine.submit(train, name, data_spec, {**TRAIN, "time_budget_s": seconds}).result()
        return out["step"] * TRAIN["batch_size"] / out["elapsed_s"]
    finally:
        engine.shutdown()


def with_gui(seconds: float, data_spec: dict) -> tuple[float, np.ndarray]:
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.main_window import MainWindow
    from studio.settings import Settings

    app = QApplication.instance() or QApplication([])
    settings = Settings(QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(device="cpu", settings=settings, confirm_close=False)
    w.show()
    state: dict = {"result": None, "ticks": [], "last": None}
    w.create_model("rbm", MODEL, "bench")

    def start() -> None:
        if w.library.current != "bench":
            QTimer.singleShot(50, start)
            return
        panel = w.training_panel
        panel.data.set_spec(data_spec)
        panel.form.set_values({**TRAIN, "time_budget_s": seconds})
        panel.train()
        job = panel.handle.id
        w.bridge.job_finished.connect(lambda e: e.job == job and state.__setitem__("result", e.result))
        tick.start()

    def on_tick() -> None:
        now = time.perf_counter()
        if state["last"] is not None:
            state["ticks"].append((now - state["last"]) * 1000 - 10.0)
        state["last"] = now
        if state["result"] is not None:
            tick.stop()
            app.quit()

    tick = QTimer()
    tick.setTimerType(Qt.TimerType.PreciseTimer)
    tick.setInterval(10)
    tick.timeout.connect(on_tick)
    QTimer.singleShot(0, start)
    app.exec()
    r = state["result"]
    w.close()
    return r["step"] * TRAIN["batch_size"] / r["elapsed_s"], np.maximum(np.array(state["ticks"]), 0.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="seconds of each phase")
    p.add_argument("--rounds", type=int, default=3, help="GUI phases, each between two headless ones")
    p.add_argument("--data-root")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    spec = {"name": "mnist", "binarize": "stochastic"}
    if args.data_root:
        spec["root"] = args.data_root
    from engine.data import cached_dataset

    cached_dataset(spec)  # load once, outside the timed phases
    # headless and GUI phases alternate (H G H G ... H) and medians are compared: this machine's speed drifts
    # by tens of percent within minutes, so one phase of each would measure the drift, not the GUI
    heads, guis, lates = [headless(args.seconds, spec)], [], []
    for r in range(args.rounds):
        gui, late = with_gui(args.seconds, spec)
        guis.append(gui)
        lates.append(late)
        heads.append(headless(args.seconds, spec))
        print(f"round {r + 1}: headless {heads[-2]:,.0f} / {heads[-1]:,.0f} examples/s, with GUI {gui:,.0f}",
              flush=True)
    late = np.concatenate(lates)
    ratio = statistics.median(guis) / statistics.median(heads)
    print(f"median headless {statistics.median(heads):,.0f} examples/s, with GUI {statistics.median(guis):,.0f} "
          f"(ratio {ratio:.3f}); tick lateness p50 {np.percentile(late, 50):.1f} ms, p99 "
          f"{np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms over {len(late)} ticks")
    result({"p50_ms": round(float(np.percentile(late, 50)), 2), "p99_ms": round(float(np.percentile(late, 99)), 2),
            "max_ms": round(float(late.max()), 2), "ticks": int(len(late)),
            "throughput_ratio": round(ratio, 3), "gui_examples_per_s": [round(g, 1) for g in guis],
            "headless_examples_per_s": [round(h, 1) for h in heads], "seconds": args.seconds,
            "rounds": args.rounds, "platform": os.environ["QT_QPA_PLATFORM"], **machine()})


if __name__ == "__main__":
    main()
