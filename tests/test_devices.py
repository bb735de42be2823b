"""Every model family on every device this machine has: trained by the command line with ``--device``, then
used (sampled or evaluated) there, and its checkpoint resumed on the CPU — a model trained on a GPU machine
must keep working on a laptop. CI has only the CPU; on a machine with CUDA the same tests run the CUDA path."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine import Engine, jobs
from engine.cli import main
from engine.evaluation.professor import behaviour
from engine.inpainting import inpaint
from engine.music import jobs as music_jobs

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
MNIST = ["--data", "mnist", "--limit", "200", "--batch-size", "50"]
BALLS = ["--data", "bouncing_balls", "--data-opt", "n_train=6", "--data-opt", "n_test=2", "--data-opt", "T=6",
         "--data-opt", "res=6", "--batch-size", "3"]
CHORALES = ["--data", "jsb_chorales", "--data-opt", "lo=60", "--data-opt", "hi=71", "--limit", "6",
            "--batch-size", "3", "--optimizer", "adam"]
MOVING = ["--data", "occluded_moving_mnist", "--limit", "64", "--data-opt", "n_test=8", "--batch-size", "16",
          "--optimizer", "adam"]
MUSIC_EVAL = ["eval", "--method", "music", "--sequences", "2", "--betas", "20", "--reverse", "--json"]

#: kind -> (training options, a command that uses the trained model: its arguments after the checkpoint)
CASES = {
    "rbm": ([*MNIST, "--hidden", "12"], ["eval", "--method", "ais", "--runs", "8", "--betas", "200", "--json"]),
    "walkback": ([*MNIST, "--hidden", "16", "--t-max", "4", "--optimizer", "adam"],
                 ["eval", "--method", "walkback", "--examples", "8", "--runs", "2", "--json"]),
    "rtrbm": ([*BALLS, "--hidden", "8", "--k", "1", "--k-final", "0"],
              ["eval", "--method", "prediction", "--predict-steps", "2", "--json"]),
    "trbm": ([*BALLS, "--hidden", "8", "--k", "1"], ["eval", "--method", "prediction", "--predict-steps", "2",
                                                     "--json"]),
    "rnnrbm": ([*CHORALES, "--hidden", "6", "--n-recurrent", "6", "--k", "1"], MUSIC_EVAL),
    "rnnnade": ([*CHORALES, "--hidden", "6", "--n-recurrent", "6"], MUSIC_EVAL),
    "note_rnn": ([*CHORALES, "--n-recurrent", "6"], MUSIC_EVAL),
    "professor": ([*CHORALES, "--n-recurrent", "6", "--mode", "professor", "--disc-hidden", "4", "--disc-mlp", "4"],
                  MUSIC_EVAL),
    "ladder": ([*MOVING, "--n-units", "8", "--n-levels", "2"], None),
}


IMAGE, MASK = np.full((28, 28), 0.5, np.float32), np.arange(28 * 28).reshape(28, 28) % 3 == 0
MUSIC_JOBS = [(music_jobs.generate, {"n_frames": 4, "gibbs_steps": 2})]
#: kind -> the studio's jobs for it, with their options
STUDIO_JOBS = {
    "rbm": [(jobs.sample, {"n_chains": 4, "steps": 5}), (inpaint, {"image": IMAGE, "mask": MASK, "steps": 5,
                                                                   "variations": 2}), (jobs.filters, {"n": 4})],
    "walkback": [(jobs.walkback, {"n_chains": 2}), (inpaint, {"image": IMAGE, "mask": MASK, "steps": 5,
                                                              "variations": 2})],
    "rtrbm": [(jobs.generate_video, {"n_frames": 3, "gibbs_steps": 2, "prime": 2}), (jobs.filters, {"n": 4})],
    "trbm": [(jobs.generate_video, {"n_frames": 3, "gibbs_steps": 2, "prime": 2})],
    "rnnrbm": MUSIC_JOBS, "rnnnade": MUSIC_JOBS, "note_rnn": MUSIC_JOBS,
    "professor": [*MUSIC_JOBS, (behaviour, {"n_seqs": 2, "length": 5})],
    "ladder": [(jobs.ladder_inference, {})],
}


def test_every_family_has_a_case():
    from engine.models import FAMILIES

    assert set(CASES) == set(FAMILIES) == set(STUDIO_JOBS)


def _figures(text: str) -> list[float]:
    """The numbers of a JSON object printed by the command line."""
    return [v for v in json.loads(text).values() if isinstance(v, (int, float)) and not isinstance(v, bool)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", CASES)
def test_trains_and_runs_on_the_device_and_resumes_on_the_cpu(kind, device, tmp_path, capsys, mnist_root):
    train, use = CASES[kind]
    out = str(tmp_path / kind)
    assert main(["train", kind, *train, "--epochs", "1", "--device", device, "--out", out, "-q"]) == 0
    first = json.loads((tmp_path / kind / "model.json").read_text())
    weights = load_file(tmp_path / kind / first["weights"])
    assert weights and all(bool(t.isfinite().all()) for t in weights.values())
    assert all(t.device.type == "cpu" for t in weights.values())  # saved to load anywhere
    if use is not None:
        capsys.readouterr()
        assert main([use[0], out, *use[1:], "--device", device, "-q"]) == 0
        assert all(math.isfinite(v) for v in _figures(capsys.readouterr().out))
    # the studio's jobs for the model, on the device
    engine = Engine(device=device)
    try:
        name = engine.call(jobs.load_model, out)["name"]
        for fn, options in STUDIO_JOBS[kind]:
            assert engine.submit(fn, name, **options).result(60) is not None, fn.__name__
    finally:
        assert engine.shutdown(5)
    # the same checkpoint, trained on ``device``, trains on where it stopped on the CPU
    assert main(["train", kind, *train, "--epochs", "2", "--device", "cpu", "--out", out, "--resume", "-q"]) == 0
    resumed = json.loads((tmp_path / kind / "model.json").read_text())["trainer"]
    assert resumed["epoch"] == pytest.approx(2.0) and resumed["step"] == 2 * first["trainer"]["step"]
