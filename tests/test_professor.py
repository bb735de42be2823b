"""Professor Forcing: the discriminator's labels and gating, the free-running rollout, which costs reach which
network, training through the generic trainer, checkpoints, evaluation and the behaviour view's data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import events as ev, jobs
from engine.data import Dataset
from engine.evaluation import professor as pe
from engine.models.professor import Professor, ProfessorConfig, cap_norm, discriminator_costs, gates, project_off
from engine.music import jobs as music_jobs
from engine.training.trainer import train
from music_data import arpeggios, music_data as _music_data


def music_data() -> Dataset:
    return _music_data((40, 12, 6), lengths=(8, 20))


def model(**cfg) -> Professor:
    c = ProfessorConfig(**{"n_visible": 8, "n_recurrent": 12, "mode": "professor", "disc_hidden": 6,
                           "disc_mlp": 6, "init_std": 0.3, **cfg})
    return Professor(c, generator=torch.Generator().manual_seed(0))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    v, mask = arpeggios(4, 5, lengths=(8, 20)).padded()
    return torch.from_numpy(v), torch.from_numpy(mask)


TC = {"epochs": 12, "batch_size": 8, "lr": 0.01, "optimizer": "adam", "grad_clip": 10.0, "seq_chunk": 10,
      "monitor_every": 20, "monitor_size": 20}


def test_discriminator_labels_teacher_forced_one_and_free_running_zero():
    sure = discriminator_costs(torch.full((3,), 20.0), torch.full((5,), -20.0))  # right about both
    assert sure["accuracy"] == 1 and sure["c_d"] < 1e-6 and sure["c_f"] > 19 and sure["c_t"] > 19
    wrong = discriminator_costs(torch.full((3,), -20.0), torch.full((5,), 20.0))
    assert wrong["accuracy"] == 0 and wrong["c_d"] > 39 and wrong["c_f"] < 1e-6
    # the classes weigh the same, whatever their counts
    half = discriminator_costs(torch.tensor([1.0]), torch.tensor([1.0, 1.0, 1.0]))
    assert half["accuracy"] == 0.5


def test_gating_thresholds():
    assert gates(0.5, 0.75, 0.99) == (False, True)  # too weak to teach the generator
    assert gates(0.75, 0.75, 0.99) == (False, True)
    assert gates(0.8, 0.75, 0.99) == (True, True)
    assert gates(0.995, 0.75, 0.99) == (True, False)  # too strong: stop training it


def test_the_free_running_rollout_feeds_its_own_samples_back():
    m = model()
    with torch.no_grad():
        run = m.free_run(3, 9, torch.Generator().manual_seed(1))
        assert run.samples.unique().tolist() in ([0.0, 1.0], [0.0], [1.0])
        # reading the sampled frames teacher-forced gives the very same states: each was fed back
        assert torch.allclose(m.states(run.samples), run.states, atol=1e-6)
        assert torch.allclose(run.probs, torch.sigmoid(m.b_v + run.states @ m.W_uv), atol=1e-6)
    again = m.free_run(3, 9, torch.Generator().manual_seed(1))
    assert torch.equal(again.samples, run.samples)


@pytest.mark.parametrize("behaviour", ["hidden", "hidden+outputs"])
def test_free_running_windows_and_masks(behaviour):
    m = model(free_ratio=3, behaviour=behaviour)
    v, mask = batch()
    L = m.losses(v, mask, torch.Generator().manual_seed(2))
    assert {"nll", "c_d", "c_f", "c_t", "accuracy"} <= set(L)
    assert torch.isfinite(torch.stack([L[k] for k in ("nll", "c_d", "c_f", "c_t")])).all()


def _grads(loss, params):
    return [torch.zeros_like(p) if g is None else g
            for p, g in zip(params, torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True))]


@pytest.mark.parametrize("cost_t", [0.0, 0.5])
def test_c_f_updates_only_the_generator_and_c_d_only_the_discriminator(cost_t):
    m = model(gate_low=0.0, gate_high=1.01, cost_t=cost_t)  # both gates open
    v, mask = batch()
    gp, dp = m.generator_parameters(), m.discriminator_parameters()
    assert gp and dp and not {id(p) for p in gp} & {id(p) for p in dp}
    assert len(gp) + len(dp) == len(list(m.parameters()))
    L = m.losses(v, mask, torch.Generator().manual_seed(3))
    want_g = _grads(L["nll"] + L["c_f"] + cost_t * L["c_t"], gp)
    want_d = _grads(L["c_d"], dp)
    # the costs do reach the other network, so writing them there would show
    assert any(g.abs().sum() > 0 for g in _grads(L["c_f"], dp))
    assert any(g.abs().sum() > 0 for g in _grads(L["c_d"], gp))
    m.training_step(v, torch.Generator().manual_seed(3), mask=mask)
    for p, g in zip(gp, want_g):
        assert torch.allclose(p.grad, g, atol=1e-6)
    for p, g in zip(dp, want_d):
        assert torch.allclose(p.grad, g, atol=1e-6)


def test_closed_gates_leave_the_nll_alone_and_the_discriminator_untouched():
    m = model(gate_low=1.0, gate_high=-0.1)  # never teach the generator, never train the discriminator
    v, mask = batch()
    L = m.losses(v, mask, torch.Generator().manual_seed(4))
    want = _grads(L["nll"], m.generator_parameters())
    m.training_step(v, torch.Generator().manual_seed(4), mask=mask)
    assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(m.generator_parameters(), want))
    assert all(p.grad is None for p in m.discriminator_parameters())
    assert m._last["gen_gated"] == 0 and m._last["disc_trained"] == 0


def test_before_adv_start_only_the_nll_reaches_the_generator_while_the_discriminator_learns():
    m = model(gate_low=0.0, gate_high=1.01, adv_start=2.0)  # gates open: only the epoch holds C_f back
    v, mask = batch()
    L = m.losses(v, mask, torch.Generator().manual_seed(4))
    gp = m.generator_parameters()
    nll_only, with_c_f = _grads(L["nll"], gp), _grads(L["nll"] + L["c_f"], gp)
    for epoch, want in ((1.5, nll_only), (2.0, with_c_f)):
        m.set_progress(epoch, epoch / 4)
        m.training_step(v, torch.Generator().manual_seed(4), mask=mask)
        assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(gp, want))
        assert all(p.grad is not None for p in m.discriminator_parameters())
        assert m._last["gen_gated"] == float(epoch >= 2.0)


def test_projection_takes_out_only_the_part_that_opposes_the_nll():
    g_nll = [torch.tensor([1.0, 0.0]), torch.tensor([0.0])]
    agree = [torch.tensor([0.5, 2.0]), torch.tensor([3.0])]
    assert all(torch.equal(a, b) for a, b in zip(project_off(g_nll, agree), [torch.tensor([1.5, 2.0]),
                                                                              torch.tensor([3.0])]))
    oppose = [torch.tensor([-4.0, 2.0]), torch.tensor([3.0])]
    total = project_off(g_nll, oppose)
    # the opposing component is gone: the sum keeps the NLL's own step along g_nll, and the rest of g_adv
    assert torch.allclose(total[0], torch.tensor([1.0, 2.0])) and torch.allclose(total[1], torch.tensor([3.0]))
    dot = sum((a * (t - a)).sum() for a, t in zip(g_nll, total))
    assert dot >= 0


def test_projected_training_step_never_opposes_the_nll():
    m = model(gate_low=0.0, gate_high=1.01, project=True, cost_f=50.0)
    v, mask = batch()
    L = m.losses(v, mask, torch.Generator().manual_seed(6))
    g_nll = _grads(L["nll"], m.generator_parameters())
    g_c_f = _grads(50.0 * L["c_f"], m.generator_parameters())
    assert sum((a * b).sum() for a, b in zip(g_nll, g_c_f)) < -1e-3  # here C_f alone would work against the NLL
    m.training_step(v, torch.Generator().manual_seed(6), mask=mask)
    extra = [p.grad - g for p, g in zip(m.generator_parameters(), g_nll)]
    assert any(e.abs().sum() > 0 for e in extra)  # C_f does reach the generator ...
    assert sum((a * e).sum() for a, e in zip(g_nll, extra)) >= -1e-6  # ... but never against the NLL


def test_capped_training_step_keeps_c_f_within_its_share_of_the_nll():
    m = model(gate_low=0.0, gate_high=1.01, adv_cap=0.2, cost_f=50.0)
    v, mask = batch()
    L = m.losses(v, mask, torch.Generator().manual_seed(6))
    g_nll = _grads(L["nll"], m.generator_parameters())
    g_c_f = _grads(50.0 * L["c_f"], m.generator_parameters())

    def norm(gs):
        return float(torch.sqrt(sum((g * g).sum() for g in gs)))

    assert norm(g_c_f) > 0.2 * norm(g_nll)  # uncapped, C_f would take more than its share
    m.training_step(v, torch.Generator().manual_seed(6), mask=mask)
    extra = [p.grad - g for p, g in zip(m.generator_parameters(), g_nll)]
    assert norm(extra) == pytest.approx(0.2 * norm(g_nll), rel=1e-4)
    assert all(torch.allclose(e, g * (norm(extra) / norm(g_c_f)), atol=1e-6) for e, g in zip(extra, g_c_f))
    small = [0.1 * g for g in g_nll]  # within the cap: unchanged
    assert all(torch.equal(a, b) for a, b in zip(cap_norm(g_nll, small, 0.2), small))


def test_c_f_with_its_own_adam_leaves_the_gradient_to_the_nll_and_steps_apart():
    m = model(gate_low=0.0, gate_high=1.01, adv_lr=0.01)
    v, mask = batch()
    gp = m.generator_parameters()
    L = m.losses(v, mask, torch.Generator().manual_seed(6))
    g_nll, g_c_f = _grads(L["nll"], gp), _grads(L["c_f"], gp)
    before = [p.detach().clone() for p in gp]
    m.training_step(v, torch.Generator().manual_seed(6), mask=mask)
    # the trainer's optimiser sees the NLL alone; C_f has moved the generator by Adam's first step, lr * sign(g)
    assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(gp, g_nll))
    for p, b, g in zip(gp, before, g_c_f):
        big = g.abs() > 1e-5
        assert torch.allclose((b - p.detach())[big], 0.01 * torch.sign(g[big]), atol=1e-4)
    state = m.train_state()
    assert len(state) == 1 + 2 * len(gp) and float(state["adv_adam.0"]) == 1
    again = model(adv_lr=0.01)
    again.load_train_state(state)
    assert all(torch.equal(a, b) for a, b in zip(again._adv_adam, m._adv_adam))
    m.set_mode("teacher")
    assert m.train_state() == {}


def test_teacher_mode_has_no_discriminator():
    m = model(mode="teacher")
    assert m.disc is None and not m.discriminator_parameters()
    v, mask = batch()
    m.training_step(v, None, mask=mask)
    assert set(m.monitors(v, None, mask=mask)) == {"nll"}


@pytest.mark.parametrize("mode", ["teacher", "professor"])
def test_the_trainer_lowers_the_nll_and_a_checkpoint_round_trips(engine, tmp_path, mode):
    got = []
    engine.subscribe(got.append)
    data = music_data()
    cfg = {"n_visible": 8, "n_recurrent": 16, "mode": mode, "disc_hidden": 8, "disc_mlp": 8, "init_std": 0.1,
           "gate_low": 0.0, "adv_lr": 0.001}  # C_f on its own Adam from the first update (professor mode)
    name = engine.call(jobs.create_model, "professor", cfg, name="pf", seed=1, timeout=10)["name"]
    engine.submit(train, name, data, TC).result(60)
    metrics = [e.values for e in got if isinstance(e, ev.Metrics) and e.split == "train"]
    assert metrics[-1]["nll"] < 0.6 * metrics[0]["nll"]
    if mode == "professor":
        assert {"disc_accuracy", "gen_cost_f", "gen_cost_t", "disc_cost"} <= set(metrics[-1])
        assert 0 <= metrics[-1]["disc_accuracy"] <= 1
    engine.call(jobs.save_model, name, str(tmp_path / "pf"))
    back = engine.call(jobs.load_model, str(tmp_path / "pf"), name="back")["name"]
    a = engine.call(lambda ctx: ctx.registry[name].module.state_dict())
    b = engine.call(lambda ctx: ctx.registry[back].module.state_dict())
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.startswith("disc.") for k in a) == (mode == "professor")
    sa, sb = (engine.call(lambda ctx, n=n: ctx.registry[n].module.train_state()) for n in (name, back))
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)
    assert bool(sa) == (mode == "professor")  # C_f's own Adam moments go with the checkpoint
    assert engine.call(lambda ctx: ctx.registry[back].config.mode) == mode

    # it composes in the piano roll, and is evaluated and viewed
    roll = data.test[0][:5]
    out = engine.submit(music_jobs.generate, back, n_frames=6, roll=roll, seed=3).result(30)
    assert out.shape == (11, 8) and np.array_equal(out[:5], roll)
    r = engine.submit(pe.evaluate_professor, back, data, n_seqs=6, seed=0).result(30)
    assert {"nll", "gap", "long_horizon"} <= set(r) and r["gap"] >= 0 and 0 <= r["long_horizon"] <= 1
    assert r["gap_data"] >= 0  # the floor: the validation pieces' teacher-forced states against the test ones
    assert set(r["statistics"]) == {"notes_per_frame", "pitch_class", "note_length"}
    assert r["horizon"] == 4 * r["length"] and r["length"] <= 10


def test_switching_the_mode_keeps_the_generator_and_trains_on(engine, tmp_path):
    got = []
    engine.subscribe(got.append)
    data = music_data()
    cfg = {"n_visible": 8, "n_recurrent": 10, "mode": "teacher", "disc_hidden": 6, "disc_mlp": 6}
    name = engine.call(jobs.create_model, "professor", cfg, seed=0)["name"]
    engine.submit(train, name, data, {**TC, "epochs": 2}).result(60)
    before = engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[name].module.state_dict().items()})
    assert engine.call(jobs.filters, name) is None  # a GRU generator has no RBM weights to show
    info = engine.call(jobs.set_mode, name, "professor")
    assert info["config"]["mode"] == "professor"
    after = engine.call(lambda ctx: ctx.registry[name].module.state_dict())
    assert all(torch.equal(before[k], after[k]) for k in before)  # the generator is kept
    assert any(k.startswith("disc.") for k in after)
    engine.submit(train, name, data, {**TC, "epochs": 4}).result(60)  # fresh optimiser buffers: no error
    assert "disc_accuracy" in [e for e in got if isinstance(e, ev.Metrics)][-1].values
    assert any(isinstance(e, ev.Log) and "no optimiser state" in e.message for e in got)
    engine.call(jobs.save_model, name, str(tmp_path / "pf"))
    back = engine.call(jobs.load_model, str(tmp_path / "pf"), name="back")
    assert back["config"]["mode"] == "professor"
    assert engine.call(jobs.set_mode, name, "teacher")["config"]["mode"] == "teacher"
    assert not engine.call(lambda ctx: ctx.registry[name].module.discriminator_parameters())
    with pytest.raises(Exception, match="only professor-forcing models"):
        rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 8, "n_hidden": 3})["name"]
        engine.call(jobs.set_mode, rbm, "professor")


def test_a_professor_model_of_bouncing_balls_makes_videos(engine):
    data = {"name": "bouncing_balls", "res": 6, "n_train": 8, "T": 10, "n_balls": 1, "n_test": 2}
    name = engine.call(jobs.create_model, "professor", {"n_visible": 36, "n_recurrent": 8, "mode": "professor",
                                                        "disc_hidden": 4, "disc_mlp": 4}, seed=0)["name"]
    engine.submit(train, name, data, {**TC, "epochs": 1, "seq_chunk": 10}).result(60)
    info = engine.call(jobs.model_info, name)
    assert info["sequence"] and not info["music"]  # the video panel generates from it, the piano roll does not
    got = []
    engine.subscribe(got.append)
    out = engine.submit(jobs.generate_video, name, n_frames=5, prime=3, n_seqs=2, seed=1).result(30)
    assert out.shape == (2, 5, 6, 6) and ((0 <= out) & (out <= 1)).all()
    assert [e.index for e in got if isinstance(e, ev.Frame) and e.label == "video"] == list(range(5))


def test_the_behaviour_job_returns_both_modes(engine):
    data = music_data()
    name = engine.call(jobs.create_model, "professor", {"n_visible": 8, "n_recurrent": 6, "mode": "professor"},
                       seed=0)["name"]
    r = engine.call(pe.behaviour, name, data, n_seqs=3, length=7, seed=1)
    assert r["teacher"].shape == r["free"].shape == (3, 7, 6)
    assert r["projection"]["teacher"].shape == r["projection"]["free"].shape == (3, 7, 2)
    assert isinstance(r["teacher"], np.ndarray) and r["time"].tolist() == list(range(7))
    assert r["explained"][0] >= r["explained"][1] >= 0 and r["gap"] >= 0
    # the floor: validation windows read teacher-forced, measured like the free runs
    val = pe.teacher_states(engine.call(lambda ctx: ctx.registry[name].module), pe.windows(data, 7, 3, "valid"))
    assert r["gap_data"] == pytest.approx(pe.hidden_state_gap(r["teacher"], val), rel=1e-5)
    # the same free runs as the model's own rollout from that seed
    m = engine.call(lambda ctx: ctx.registry[name].module)
    with torch.no_grad():
        run = m.free_run(3, 7, torch.Generator().manual_seed(1))
    assert np.allclose(r["free"], run.states.numpy(), atol=1e-6)


def test_gap_statistics_and_blobs():
    tf = torch.zeros(2, 3, 4)
    tf[1] = 1.0
    free = torch.full((1, 3, 4), 0.25)  # nearest teacher state: 0, at distance 0.25 * 2
    assert pe.hidden_state_gap(tf, free) == pytest.approx(0.5)
    x = np.zeros((2, 6, 6))
    x[0, 1:3, 1:3] = x[0, 4, 4] = 1
    x[1, 0, :] = x[1, 2:, 0] = x[1, 5, 5] = 1
    assert pe.count_blobs(x).tolist() == [2, 3]
    assert sorted(pe.note_lengths([np.array([[1, 0], [1, 1], [0, 1], [1, 1]])]).tolist()) == [1, 2, 3]
    s = pe.music_statistics([np.eye(12, dtype=np.float32)], lo=0)
    assert pe.statistics_distance(s, s)["long_horizon"] == 0
    v = pe.video_statistics(x[None].reshape(1, 2, 36), (6, 6))
    assert v["blobs"][2] == v["blobs"][3] == 1
