"""The `boltzmann` command line on a tiny model: train, info, sample, eval, resume, bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from engine.cli import main

TINY = ["--hidden", "12", "--limit", "500", "--batch-size", "50", "--monitor-every", "5", "-q"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_root):
    out = tmp_path_factory.mktemp("cli") / "tiny"
    assert main(["train", "rbm", "--data", "mnist", "--epochs", "2", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_a_checkpoint(trained):
    assert (trained / "model.json").is_file()
    meta = json.loads((trained / "model.json").read_text())
    assert meta["config"]["n_hidden"] == 12 and meta["trainer"]["step"] == 20


def test_info_describes_the_checkpoint(trained, capsys):
    assert main(["info", str(trained), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "rbm" and info["step"] == 20 and info["parameters"] == 784 * 12 + 784 + 12


def test_sample_writes_a_grid_of_the_right_size(trained, tmp_path):
    png = tmp_path / "grid.png"
    assert main(["sample", str(trained), "--out", str(png), "--chains", "16", "--steps", "20", "--scale", "1",
                 "-q"]) == 0
    im = np.asarray(Image.open(png))
    assert im.shape == (4 * 29 - 1, 4 * 29 - 1)
    assert im.std() > 0  # not a blank image


def test_eval_exact_and_ais_agree(trained, capsys):
    assert main(["eval", str(trained), "--method", "exact", "--json", "-q"]) == 0
    exact = json.loads(capsys.readouterr().out)
    assert main(["eval", str(trained), "--method", "ais", "--runs", "50", "--betas", "2000", "--json", "-q"]) == 0
    ais = json.loads(capsys.readouterr().out)
    assert set(ais) >= {"test_ll", "log_z", "log_z_err"}
    assert ais["log_z"] == pytest.approx(exact["log_z"], abs=0.1)
    assert ais["test_ll"] == pytest.approx(exact["test_ll"], abs=0.1)
    assert -300 < exact["test_ll"] < -60


def test_train_refuses_to_overwrite_without_resume_and_resumes_with_it(trained, tmp_path, capsys):
    assert main(["train", "rbm", "--data", "mnist", "--epochs", "3", "--out", str(trained), *TINY]) == 2
    assert "--resume" in capsys.readouterr().err
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in trained.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert main(["train", "rbm", "--data", "mnist", "--epochs", "3", "--out", str(copy), "--resume", *TINY]) == 0
    assert json.loads((copy / "model.json").read_text())["trainer"]["step"] == 30


def test_resume_keeps_the_training_options_of_the_checkpoint_unless_given(tmp_path):
    out = tmp_path / "opts"
    first = ["--hidden", "12", "--limit", "500", "--monitor-every", "5", "-q", "--optimizer", "adam"]
    assert main(["train", "rbm", "--data", "mnist", "--epochs", "1", "--out", str(out), "--lr", "0.003",
                 "--batch-size", "25", "--weight-decay", "0.001", *first]) == 0
    assert main(["train", "rbm", "--data", "mnist", "--limit", "500", "--epochs", "2", "--out", str(out), "--resume",
                 "-q"]) == 0
    trainer = json.loads((out / "model.json").read_text())["trainer"]
    tc = trainer["train_config"]
    assert (tc["lr"], tc["batch_size"], tc["weight_decay"], tc["optimizer"]) == (0.003, 25, 0.001, "adam")
    assert trainer["step"] == 2 * 500 // 25
    assert main(["train", "rbm", "--data", "mnist", "--limit", "500", "--epochs", "3", "--out", str(out), "--resume",
                 "--lr", "0.001", "-q"]) == 0
    tc = json.loads((out / "model.json").read_text())["trainer"]["train_config"]
    assert (tc["lr"], tc["batch_size"], tc["optimizer"]) == (0.001, 25, "adam")


def test_export_drops_the_optimiser_state_keeps_the_model_and_trains_on(trained, tmp_path, capsys):
    from safetensors.torch import load_file

    out = tmp_path / "shared"
    assert main(["export", str(trained), str(out), "--name", "small"]) == 0
    assert "no optimiser state" in capsys.readouterr().out
    meta, full = (json.loads((d / "model.json").read_text()) for d in (out, trained))
    assert meta["name"] == "small" and meta["trainer"]["step"] == 20 and "optimizer" not in meta["trainer"]
    weights = load_file(str(out / meta["weights"]))
    assert set(weights) == {k for k in load_file(str(trained / full["weights"])) if k.startswith("model.")}
    assert (out / meta["weights"]).stat().st_size < (trained / full["weights"]).stat().st_size
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 20
    assert main(["train", "rbm", "--data", "mnist", "--epochs", "3", "--out", str(out), "--resume", *TINY]) == 0
    assert json.loads((out / "model.json").read_text())["trainer"]["step"] == 30


def test_missing_data_and_bad_checkpoints_give_one_clear_sentence(tmp_path, capsys):
    code = main(["train", "rbm", "--data", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "x"),
                 "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "mnist.npz" in err and "--data-root" in err and "Traceback" not in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.json").write_text("garbage")
    assert main(["info", str(tmp_path / "bad")]) == 2
    assert "damaged" in capsys.readouterr().err
    assert main(["train", "rbm", "--data", "mnist", "--lr", "-1", "--out", str(tmp_path / "y"), *TINY]) == 2
    assert "lr must be at least 0.0" in capsys.readouterr().err


def test_the_console_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "train" in out.stdout


def test_resume_can_change_how_an_rbm_learns_but_not_its_shape(trained, tmp_path, capsys):
    """Fine-tuning for inpainting: --resume --sampler mp keeps the weights and switches the learning rule; an
    option that would change what the weights mean (--hidden) is still taken from the checkpoint."""
    out = tmp_path / "inpaint"
    assert main(["export", str(trained), str(out)]) == 0
    capsys.readouterr()
    assert main(["train", "rbm", "--data", "mnist", "--epochs", "3", "--out", str(out), "--resume", "--sampler",
                 "mp", "--k", "3", *TINY]) == 0
    assert "taken from the checkpoint" in capsys.readouterr().err  # TINY's --hidden 12: the same, not applied
    meta = json.loads((out / "model.json").read_text())
    assert (meta["config"]["sampler"], meta["config"]["k"], meta["config"]["n_hidden"]) == ("mp", 3, 12)
    assert meta["trainer"]["step"] == 30
