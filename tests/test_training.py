"""The trainer and checkpoints: round trips, exact resume, refusal of bad checkpoints, divergence."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine import JobError, jobs
from engine import events as ev
from engine.data import Dataset
from engine.training import checkpoint
from engine.training.checkpoint import CheckpointError
from engine.training.trainer import schedule_factor, train


def toy_data(n=300, d=16, seed=0) -> Dataset:
    """Binary 4x4 'bars': enough structure to learn, small enough to train in milliseconds."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 4, 4), np.float32)
    for i in range(n):
        if rng.random() < 0.5:
            x[i, rng.integers(4), :] = 1
        else:
            x[i, :, rng.integers(4)] = 1
    x = x.reshape(n, d)
    return Dataset("bars", x[:250], x[250:], x[:0], (4, 4), {"name": "bars"})


TC = {"epochs": 4, "batch_size": 10, "lr": 0.05, "monitor_every": 10, "monitor_size": 100}


def new_model(engine, name="m", **cfg):
    return engine.call(jobs.create_model, "rbm", {"n_visible": 16, "n_hidden": 8, **cfg}, name=name,
                       timeout=10)["name"]


def params(engine, name):
    return engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[name].module.state_dict().items()})


def test_training_emits_progress_metrics_and_lowers_reconstruction_error(engine):
    got = []
    engine.subscribe(got.append)
    name = new_model(engine)
    out = engine.submit(train, name, toy_data(), {**TC, "lr": 0.2, "frame_every": 25}).result(60)
    assert out["step"] == 4 * 25
    metrics = [e for e in got if isinstance(e, ev.Metrics)]
    assert metrics[-1].values["recon_error"] < 0.7 * metrics[0].values["recon_error"]
    assert {"recon_error", "free_energy", "pseudo_ll", "lr"} <= set(metrics[-1].values)
    progress = [e for e in got if isinstance(e, ev.Progress)]
    assert progress[-1].step == progress[-1].total == 100
    frames = [e for e in got if isinstance(e, ev.Frame)]
    assert frames and frames[0].image.shape[1:] == (4, 4)


def test_checkpoint_round_trip_is_bit_exact(engine, tmp_path):
    name = new_model(engine)
    engine.submit(train, name, toy_data(), TC).result(60)
    engine.call(jobs.save_model, name, str(tmp_path / "ck"))
    loaded = engine.call(jobs.load_model, str(tmp_path / "ck"))["name"]
    a, b = params(engine, name), params(engine, loaded)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    info = engine.call(jobs.model_info, loaded)
    assert info["step"] == 100 and info["data"]["spec"]["name"] == "bars"
    meta = json.loads((tmp_path / "ck" / "model.json").read_text())
    assert meta["kind"] == "rbm" and meta["history"] and meta["engine_version"]
    assert len(list((tmp_path / "ck").glob("weights-*.safetensors"))) == 1


def test_resuming_from_a_checkpoint_continues_exactly(engine, tmp_path):
    data = toy_data()
    straight = new_model(engine, "straight")
    engine.submit(train, straight, data, TC).result(60)

    half = new_model(engine, "half")
    engine.submit(train, half, data, {**TC, "epochs": 2}).result(60)
    engine.call(jobs.save_model, half, str(tmp_path / "half"))
    resumed = engine.call(jobs.load_model, str(tmp_path / "half"), name="resumed")["name"]
    engine.submit(train, resumed, data, TC).result(60)

    a, b = params(engine, straight), params(engine, resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    hist_a = engine.call(lambda ctx: ctx.registry[straight].history)
    hist_b = engine.call(lambda ctx: ctx.registry[resumed].history)
    assert hist_a == hist_b  # the curve continues as if never stopped


def test_pausing_at_an_epoch_keeps_the_decaying_schedule_of_the_whole_run(engine):
    data, tc = toy_data(), {**TC, "lr_schedule": "linear", "lr_final": 0.0}
    straight = new_model(engine, "straight")
    engine.submit(train, straight, data, tc).result(60)

    pieces = new_model(engine, "pieces")
    out = engine.submit(train, pieces, data, tc, until_epoch=1).result(60)
    assert out["step"] == 25 and out["last"]["lr"] == pytest.approx(0.05 * (1 - 24 / 100))
    for epoch in (2, 3, 4):
        out = engine.submit(train, pieces, data, tc, until_epoch=epoch).result(60)
        assert out["step"] == 25 * epoch

    a, b = params(engine, straight), params(engine, pieces)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the lr fell as in one run, not to 0 in each piece


def test_cancelled_training_keeps_the_model_and_resumes(engine):
    got = []
    engine.subscribe(got.append)
    name = new_model(engine)
    h = engine.submit(train, name, toy_data(), {**TC, "epochs": 10_000})
    while not any(isinstance(e, ev.Metrics) and e.job == h.id for e in list(got)):
        h.wait(0.01)
    engine.cancel(h)
    assert h.wait(5) and h.state == "cancelled"
    step = engine.call(jobs.model_info, name)["step"]
    assert step > 0
    out = engine.submit(train, name, toy_data(), {**TC, "epochs": step // 25 + 1}).result(60)
    assert out["step"] == (step // 25 + 1) * 25


def test_loading_refuses_another_kind_a_damaged_file_and_a_wrong_shape(engine, tmp_path):
    name = new_model(engine)
    folder = tmp_path / "ck"
    engine.call(jobs.save_model, name, str(folder))
    with pytest.raises(CheckpointError, match="holds a 'rbm' model, not a 'rtrbm'"):
        checkpoint.load(folder, expected_kind="rtrbm")

    meta = json.loads((folder / "model.json").read_text())
    meta["config"]["n_hidden"] = 9
    (tmp_path / "shape").mkdir()
    weights = next(folder.glob("weights-*"))
    (tmp_path / "shape" / weights.name).write_bytes(weights.read_bytes())
    (tmp_path / "shape" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="shape"):
        checkpoint.load(tmp_path / "shape")

    weights.write_bytes(weights.read_bytes()[:-7])
    with pytest.raises(CheckpointError, match="damaged"):
        checkpoint.load(folder)
    (folder / "model.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        checkpoint.load(folder)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "nowhere")
    # the engine turns each into a Failed job with the same sentence, and lives on
    with pytest.raises(JobError, match="damaged"):
        engine.call(jobs.load_model, str(folder))
    assert engine.alive


def test_a_diverging_run_fails_restores_good_parameters_and_overwrites_no_checkpoint(engine, tmp_path):
    got = []
    engine.subscribe(got.append)
    name = new_model(engine)
    engine.submit(train, name, toy_data(), {**TC, "epochs": 1}).result(60)
    folder = tmp_path / "ck"
    engine.call(jobs.save_model, name, str(folder))
    saved = (folder / "model.json").read_bytes()

    def poison(ctx):  # what a wild learning rate does, made certain: the next update is NaN
        m = ctx.registry[name].module
        orig = m.training_step

        def step(batch, gen):
            orig(batch, gen)
            if ctx.registry[name].trainer["step"] >= 0:
                m.W.grad.fill_(float("nan"))
        m.training_step = step
    engine.call(poison)
    h = engine.submit(train, name, toy_data(), {**TC, "epochs": 3}, save_to=str(folder), save_every=1)
    with pytest.raises(JobError, match="diverged at step"):
        h.result(60)
    failed = [e for e in got if isinstance(e, ev.Failed) and e.job == h.id]
    assert failed and "restored the parameters of step 25" in failed[0].message
    p = params(engine, name)
    assert all(torch.isfinite(v).all() for v in p.values())
    assert (folder / "model.json").read_bytes() == saved  # nothing saved was overwritten

    def nan_model(ctx):
        ctx.registry[name].module.W.data.fill_(float("nan"))
    engine.call(nan_model)
    with pytest.raises(JobError, match="not saved"):
        engine.call(jobs.save_model, name, str(folder))
    assert (folder / "model.json").read_bytes() == saved
    checkpoint.load(folder)  # still whole


def test_training_a_model_on_data_of_the_wrong_size_says_so(engine):
    name = engine.call(jobs.create_model, "rbm", {"n_visible": 10, "n_hidden": 3})["name"]
    with pytest.raises(JobError, match="10 visible units but bars examples have 16"):
        engine.submit(train, name, toy_data(), TC).result(30)


@pytest.mark.parametrize("kind", ["constant", "linear", "exponential", "cosine"])
def test_schedules_start_at_one_and_end_at_the_final_fraction(kind):
    assert schedule_factor(kind, 0.0, 0.1) == pytest.approx(1.0)
    assert schedule_factor(kind, 1.0, 0.1) == pytest.approx(1.0 if kind == "constant" else 0.1)
    assert schedule_factor(kind, 0.5, 0.1) <= 1.0


def test_a_generator_state_from_another_device_is_replaced_by_a_seed():
    """A checkpoint trained on a GPU resumes on the CPU: its CUDA generator state cannot be set on a CPU
    generator, so training carries on from seed + step; a CPU state is restored as it was."""
    from engine.training.trainer import _restore_rng

    gen = torch.Generator()
    _restore_rng(gen, {"rng": torch.zeros(16, dtype=torch.uint8), "rng_device": "cuda", "step": 5}, seed=3)
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(8).get_state())
    saved = torch.Generator().manual_seed(123).get_state()
    _restore_rng(gen, {"rng": saved, "rng_device": "cpu", "step": 5}, seed=3)
    assert torch.equal(gen.get_state(), saved)
    _restore_rng(gen, {"step": 7}, seed=3)  # an exported checkpoint: no state
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(10).get_state())
