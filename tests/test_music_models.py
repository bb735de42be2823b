"""The models of polyphonic music (RNN-RBM, RNN-NADE, note RNN): likelihoods that normalise, the RNN-RBM's
gradient, AIS per frame, generation with priming and clamping, the trainer on pieces of different lengths,
checkpoints, the evaluation job and the piano-roll jobs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from engine import JobError, jobs
from engine import events as ev
from engine.data.sequences import Sequences
from engine.evaluation.ais import ais_frames, run
from engine.evaluation.music import evaluate_music, frame_states
from engine.models import family
from engine.models.rnnnade import nade_logits
from engine.music import jobs as music_jobs
from engine.training.trainer import train
from music_data import arpeggios, music_data  # noqa: F401 (re-exported for the tests below)

KINDS = ["rnnrbm", "rnnnade", "note_rnn"]


def tiny(kind: str, V: int = 6, H: int = 4, R: int = 5, seed: int = 0, **kw):
    """A double-precision model with weights large enough that every term matters."""
    fam = family(kind)
    cfg = {"n_visible": V, "n_recurrent": R, "init_std": 0.5, **kw}
    if kind not in ("note_rnn", "professor"):
        cfg["n_hidden"] = H
    m = fam.build(fam.config_cls(**cfg), generator=torch.Generator().manual_seed(seed)).double()
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed + 1)
        for name, p in m.named_parameters():
            if p.ndim == 1:
                p.normal_(0, 0.5, generator=g)
    return m


def all_frames(V: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=V)), dtype=torch.float64)


def padded_batch(V: int = 6, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Three pieces of 7, 4 and 6 frames, zero-padded, with their mask."""
    g = torch.Generator().manual_seed(seed)
    v = (torch.rand(3, 7, V, generator=g) < 0.4).double()
    mask = torch.arange(7)[None, :] < torch.tensor([7, 4, 6])[:, None]
    return v * mask[..., None], mask


# ----- likelihoods -----
@pytest.mark.parametrize("kind", KINDS)
def test_each_frame_distribution_sums_to_one_over_all_frames(kind):
    m = tiny(kind)
    vs = all_frames(6)
    u = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for row in u:
            assert m.frame_log_prob(vs, row.expand(len(vs), -1)).exp().sum().item() == pytest.approx(1.0, abs=1e-10)
        assert m.frame_log_prob(vs, None).exp().sum().item() == pytest.approx(1.0, abs=1e-10)  # static biases


def test_nade_logits_are_the_textbook_conditionals():
    m = tiny("rnnnade")
    v = all_frames(6)
    b = torch.randn(64, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    c = torch.randn(64, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    fast = nade_logits(v, b, c, m.W, m.U)
    for i in range(6):  # h_i = sigmoid(c + sum_{j<i} v_j W_j), logit_i = b_i + h_i . U_i
        h = torch.sigmoid(c + v[:, :i] @ m.W[:i])
        assert torch.allclose(fast[:, i], b[:, i] + h @ m.U[i], atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_of_padded_pieces_is_the_sum_over_each_piece_alone(kind):
    m = tiny(kind)
    v, mask = padded_batch()
    with torch.no_grad():
        together = m.log_prob(v, mask)
        alone = [m.log_prob(v[i, :int(mask[i].sum())]).item() for i in range(3)]
        # the chain rule, written out: frame t given the RNN state of the true frames before it
        naive, u = 0.0, m.u0[None]
        for t in range(7):
            naive += m.frame_log_prob(v[0, t:t + 1], u).item()
            u = m.advance(v[0, t:t + 1], u)
    assert together.tolist() == pytest.approx(alone, abs=1e-10)
    assert naive == pytest.approx(alone[0], abs=1e-10)


# ----- the RNN-RBM's gradient -----
def test_rnnrbm_exact_gradient_is_the_gradient_of_the_log_likelihood():
    """With exact RBM expectations in place of CD, the hand-written RBM part plus backpropagation through the
    frame biases is exactly -d/dθ of the mean log P(v_t | u_{t-1}) over the real frames of a padded batch."""
    m = tiny("rnnrbm", exact=True)
    v, mask = padded_batch()
    m.training_step(v, None, mask=mask)
    manual = {n: p.grad.clone() for n, p in m.named_parameters()}
    for p in m.parameters():
        p.grad = None
    (-m.log_prob(v, mask).sum() / mask.sum()).backward()
    for n, p in m.named_parameters():
        assert torch.allclose(manual[n], p.grad, atol=1e-10), n


def test_rnnrbm_exact_gradient_matches_finite_differences():
    m = tiny("rnnrbm", exact=True)
    v, mask = padded_batch()
    m.training_step(v, None, mask=mask)
    eps, n = 1e-6, mask.sum().item()
    for name, idx in (("W", (2, 1)), ("W_uh", (0, 3)), ("u0", (4,)), ("rnn.weight_hh_l0", (1, 2))):
        p = dict(m.named_parameters())[name]
        with torch.no_grad():
            p[idx] += eps
            up = m.log_prob(v, mask).sum().item()
            p[idx] -= 2 * eps
            down = m.log_prob(v, mask).sum().item()
            p[idx] += eps
        assert p.grad[idx].item() == pytest.approx(-(up - down) / (2 * eps) / n, abs=1e-7), name


def test_rnnrbm_cd_gradient_approaches_the_exact_one_with_many_steps():
    m = tiny("rnnrbm", exact=True)
    v, mask = padded_batch()
    m.training_step(v, None, mask=mask)
    exact = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.config.exact = False
    vv, mm = v.repeat(300, 1, 1), mask.repeat(300, 1)  # many chains: the average CD gradient
    g = torch.Generator().manual_seed(3)
    errors = {}
    for k in (1, 40):
        m.config.k = k
        m.training_step(vv, g, mask=mm)
        errors[k] = sum((p.grad - exact[n]).norm() ** 2 for n, p in m.named_parameters()).sqrt().item()
    norm = sum(e.norm() ** 2 for e in exact.values()).sqrt().item()
    assert errors[40] < 0.06 * norm and errors[1] > 2 * errors[40]


@pytest.mark.parametrize("kind", KINDS)
def test_the_static_phase_trains_the_frame_model_alone(kind):
    m = tiny(kind, pretrain_epochs=1.0)
    v, mask = padded_batch()
    m.set_progress(0.5, 0.1)
    m.training_step(v, torch.Generator().manual_seed(0), mask=mask)
    for name, p in m.named_parameters():
        recurrent = name.startswith("rnn.") or name in ("u0", "W_uv", "W_uh")
        assert (p.grad is None) == recurrent, name
    m.set_progress(1.0, 0.2)
    m.training_step(v, torch.Generator().manual_seed(0), mask=mask)
    assert all(p.grad is not None for p in m.parameters())


@pytest.mark.parametrize("kind", KINDS + ["professor"])
def test_dropout_perturbs_training_only_and_keeps_the_states_mean(kind):
    v, mask = padded_batch()

    def grads(m, seed):
        m.set_progress(1.0, 0.5)
        m.training_step(v, torch.Generator().manual_seed(seed), mask=mask)
        ps = m.generator_parameters() if kind == "professor" else m.parameters()  # its critic sees free runs
        return torch.cat([p.grad.flatten() for p in ps if p.grad is not None])

    # exact statistics for the RBM, and only the NLL for professor forcing: only dropout draws at random
    cfg = {"rnnrbm": {"exact": True}, "professor": {"mode": "professor", "gate_low": 1.01}}.get(kind, {})
    plain, dropped = tiny(kind, **cfg), tiny(kind, dropout=0.5, **cfg)
    assert torch.equal(plain.log_prob(v, mask), dropped.log_prob(v, mask))  # evaluation never drops
    assert torch.equal(grads(plain, 0), grads(plain, 1))
    assert not torch.allclose(grads(dropped, 0), grads(dropped, 1))

    u = torch.randn(20_000, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    d = dropped.drop(u, torch.Generator().manual_seed(3))
    assert 0.45 < (d == 0).double().mean() < 0.55
    assert torch.allclose(d.mean(0), u.mean(0), atol=0.05)


# ----- AIS per frame -----
def test_ais_of_every_frame_matches_the_exact_log_partition_functions():
    m = tiny("rnnrbm", V=10, H=8, R=5)
    u = torch.randn(30, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        b, c = m.biases(u)
        exact = m.log_partition_exact(b, c).numpy()
        r = run(ais_frames(m.W.detach(), b, c, n_runs=100, n_betas=100, generator=torch.Generator().manual_seed(0),
                           chunk_rows=2000))
    assert r.log_z.shape == (30,) and (r.log_z_se > 0).all()
    assert np.abs(r.log_z - exact).max() < 0.05
    assert np.abs(r.log_z - exact).mean() < 3 * r.log_z_se.mean() + 1e-3



def test_forward_and_reverse_ais_bracket_the_exact_likelihood_of_sharp_frames():
    m = tiny("rnnrbm", V=10, H=8, R=5)
    g = torch.Generator().manual_seed(6)
    with torch.no_grad():
        m.W.mul_(8)  # sharp, multi-modal RBMs: where forward AIS reads optimistic
        b, c = m.biases(torch.randn(30, 5, dtype=torch.float64, generator=g))
        v = (torch.rand(30, 10, dtype=torch.float64, generator=g) < 0.5).double()
        for _ in range(500):  # frames near each RBM's own distribution
            v = torch.bernoulli(torch.sigmoid(b + torch.bernoulli(torch.sigmoid(c + v @ m.W), generator=g) @ m.W.T),
                                generator=g)
        nll = lambda log_z: float((log_z - m.neg_free_energy(v, b, c).numpy()).mean())  # noqa: E731
        exact = nll(m.log_partition_exact(b, c).numpy())
        fig = {}
        for base in ("bias", "meanfield"):
            for n_betas in (30, 1000):
                for reverse in (False, True):
                    r = run(ais_frames(m.W.detach(), b, c, n_runs=100, n_betas=n_betas, base=base,
                                       data=v if reverse else None, generator=torch.Generator().manual_seed(0)))
                    assert r.reverse == reverse and r.log_z.shape == (30,)
                    fig[base, n_betas, reverse] = nll(r.log_z)
    for base in ("bias", "meanfield"):  # few temperatures: a wide bracket; more: both close in
        assert fig[base, 30, False] < exact - 0.15 and fig[base, 30, True] > exact + 0.15
        assert abs(fig[base, 1000, False] - exact) < 0.1 and abs(fig[base, 1000, True] - exact) < 0.1


# ----- generation -----
@pytest.mark.parametrize("kind", KINDS)
def test_generation_primes_clamps_and_is_reproducible(kind):
    m = tiny(kind)
    prime = (torch.rand(3, 6, generator=torch.Generator().manual_seed(2)) < 0.5).double()
    frames = list(m.generate(2, 5, 3, prime=prime, generator=torch.Generator().manual_seed(7)))
    final = [f for f in frames if f.step == 3]
    assert [f.index for f in final] == list(range(5))
    assert all(f.sample.shape == (2, 6) and set(f.sample.unique().tolist()) <= {0.0, 1.0} for f in final)
    again = m.sample_pieces(2, 5, 3, prime=prime, generator=torch.Generator().manual_seed(7))
    assert torch.equal(again, torch.stack([f.sample for f in final], 1))
    unprimed = m.sample_pieces(2, 5, 3, generator=torch.Generator().manual_seed(7))
    assert not torch.equal(again, unprimed)

    fixed = (torch.rand(5, 6, generator=torch.Generator().manual_seed(8)) < 0.5).double()
    mask = torch.zeros(5, 6, dtype=torch.bool)
    mask[:, 3:] = True  # the top three notes kept: re-draw the bottom ones
    mask[2] = True  # a frame kept whole
    out = m.sample_pieces(4, 5, 3, prime=prime, generator=torch.Generator().manual_seed(9), fixed=fixed, mask=mask,
                          temperature=0.8)
    assert torch.equal(out[:, mask], fixed[mask].expand(4, -1))
    assert not torch.equal(out[:, :, :3], fixed[:, :3].expand(4, -1, -1))


def test_rnnrbm_every_gibbs_step_and_temperature():
    m = tiny("rnnrbm")
    steps = [(f.index, f.step) for f in m.generate(1, 2, 4, generator=torch.Generator().manual_seed(0),
                                                   every_gibbs=True)]
    assert steps == [(i, s) for i in range(2) for s in range(1, 5)]
    with pytest.raises(ValueError, match="temperature"):
        next(m.generate(1, 2, 4, temperature=0.0))


def test_nade_resampling_draws_the_conditional_given_clamped_high_notes():
    """Clamped notes above free ones: importance resampling recovers P(low notes | high notes), which a
    plain ancestral pass (lowest note first) would ignore."""
    m = tiny("rnnnade", V=4, H=3)
    m.config.proposals = 400
    u = m.u0[None].detach()
    vs = all_frames(4)
    with torch.no_grad():
        p = m.frame_log_prob(vs, u.expand(16, -1)).exp()
    fixed = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    clamp = torch.tensor([[False, False, True, True]])
    keep = (vs[:, 2] == 1) & (vs[:, 3] == 1)
    target = p[keep] / p[keep].sum()  # P(v0, v1 | v2 = v3 = 1) over the four settings of (v0, v1)
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(4, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(300):
            _, _, x = next(m.sample_frame(u, 1, 1.0, g, fixed, clamp))
            counts[int(x[0, 0] + 2 * x[0, 1])] += 1
    order = [int(a + 2 * b) for a, b in vs[keep][:, :2].tolist()]
    assert np.abs(counts[order].numpy() / 300 - target.numpy()).max() < 0.08


# ----- sequences of different lengths in the trainer -----
TC = {"epochs": 15, "batch_size": 8, "lr": 0.01, "optimizer": "adam", "grad_clip": 10.0, "seq_chunk": 12,
      "monitor_every": 50, "monitor_size": 40}


def new_model(engine, kind, name="m", **cfg):
    config = {"n_visible": 8, "n_recurrent": 16, "init_std": 0.1, **cfg}
    if kind != "note_rnn":
        config.setdefault("n_hidden", 12)
    return engine.call(jobs.create_model, kind, config, name=name, timeout=10)["name"]


def test_chunks_cut_pieces_without_losing_frames():
    s = Sequences.from_list([np.zeros((n, 2), np.float32) for n in (5, 12, 3)])
    c = s.chunks(4)
    assert c.lengths.tolist() == [4, 1, 4, 4, 4, 3] and c.frames is s.frames
    assert s.chunks(0) is s


@pytest.mark.parametrize("kind", ["rnnnade", "note_rnn"])
def test_a_music_model_learns_arpeggios_from_pieces_of_different_lengths(engine, kind):
    got = []
    engine.subscribe(got.append)
    data = music_data()
    name = new_model(engine, kind)
    out = engine.submit(train, name, data, TC).result(120)
    n_chunks = len(data.train.chunks(12))
    assert out["step"] == 15 * (n_chunks // 8)
    metrics = [e for e in got if isinstance(e, ev.Metrics) and e.split == "train"]
    assert metrics[-1].values["nll_per_frame"] < 0.5 * metrics[0].values["nll_per_frame"]
    assert any(isinstance(e, ev.Metrics) and e.split == "valid" for e in got)
    r = engine.submit(evaluate_music, name, data).result(60)
    model = engine.call(lambda ctx: ctx.registry[name].module)
    with torch.no_grad():
        lp = sum(model.log_prob(torch.from_numpy(p)).item() for p in data.test)
    assert r["method"] == "exact" and r["nll"] == pytest.approx(-lp / data.test.n_frames, rel=1e-5)
    assert r["nll_lo"] == r["nll_hi"] == r["nll"] and 0 < r["accuracy"] <= 1
    assert r["n_frames"] == data.test.n_frames


def test_the_rnnrbm_trains_and_is_evaluated_exactly_when_tiny_and_by_ais_otherwise(engine):
    data = music_data()
    small = new_model(engine, "rnnrbm", "small", k=5)
    engine.submit(train, small, data, {**TC, "epochs": 5}).result(120)
    r = engine.submit(evaluate_music, small, data).result(60)
    assert r["method"] == "exact" and np.isfinite(r["nll"]) and 0 < r["accuracy"] <= 1
    big = new_model(engine, "rnnrbm", "big", n_hidden=20, k=5)
    engine.submit(train, big, data, {**TC, "epochs": 2}).result(120)
    r = engine.submit(evaluate_music, big, data, n_seqs=3, ais_runs=10, ais_betas=50,
                      accuracy_samples=2, accuracy_steps=4, ais_reverse=True).result(60)
    assert r["method"] == "ais" and r["nll_lo"] < r["nll"] < r["nll_hi"] and r["n_sequences"] == 3
    assert r["nll_reverse_lo"] < r["nll_reverse"] < r["nll_reverse_hi"]  # reverse AIS, from the test frames
    assert r["nll"] - 0.3 < r["nll_reverse"] < r["nll"] + 0.3  # an unsharp model: the two nearly meet


def test_refining_the_frames_where_forward_and_reverse_ais_disagree_narrows_the_bracket_around_the_exact_nll(engine):
    data = music_data()
    name = new_model(engine, "rnnrbm", "big", n_hidden=20, k=5)
    engine.submit(train, name, data, {**TC, "epochs": 2}).result(120)
    # sharper frames, whose AIS needs more temperatures than the test's 20
    engine.call(lambda ctx: ctx.registry[name].module.W.detach().mul_(6))
    model = engine.call(lambda ctx: ctx.registry[name].module)
    vf, u = frame_states(model, data.test)
    with torch.no_grad():  # 8 notes: log Z of every frame's RBM summed over all 256 frames
        b, c = model.biases(u)
        every = torch.tensor(list(itertools.product([0.0, 1.0], repeat=8)), dtype=b.dtype)
        neg_f = [model.neg_free_energy(every, b[i].expand(256, -1), c[i].expand(256, -1)) for i in range(len(b))]
        log_z = torch.logsumexp(torch.stack(neg_f), 1)
        exact = -(model.neg_free_energy(vf, b, c) - log_z).mean().item()
    ais = {"ais_runs": 10, "ais_betas": 20, "accuracy_samples": 1, "accuracy_steps": 1, "ais_reverse": True}
    plain = engine.submit(evaluate_music, name, data, **ais).result(60)
    refined = engine.submit(evaluate_music, name, data, ais_refine=0.3, ais_refine_betas=1000, **ais).result(60)
    assert refined["ais_refined"] == int(np.ceil(0.3 * len(vf))) and refined["ais_refine_betas"] == 1000
    assert refined["ais_refined_gap_share"] > 0.5  # the 30% of frames where the pilot's two estimates differ most
    for r in (plain, refined):
        assert r["nll_lo"] < exact < r["nll_reverse_hi"]
    assert refined["nll_reverse"] - refined["nll"] < 0.7 * (plain["nll_reverse"] - plain["nll"])


def test_frame_states_follow_each_piece_from_the_initial_state():
    m = tiny("note_rnn", V=8)
    seqs = arpeggios(7, 3)
    vf, u = frame_states(m.float(), seqs, batch_frames=40)
    assert torch.equal(vf, torch.from_numpy(seqs.frames))
    for i in (0, 4):
        with torch.no_grad():
            expect = m.states(torch.from_numpy(seqs[i]))[0]
        assert torch.allclose(u[seqs.offsets[i]:seqs.offsets[i + 1]], expect, atol=1e-6)


def test_other_models_on_pieces_rbm_on_frames_rtrbm_on_windows(engine):
    data = music_data()
    rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 8, "n_hidden": 8}, name="frames")["name"]
    out = engine.submit(train, rbm, data, {**TC, "optimizer": "sgd", "epochs": 1, "batch_size": 10}).result(30)
    assert out["step"] == data.train.n_frames // 10
    rt = engine.call(jobs.create_model, "rtrbm", {"n_visible": 8, "n_hidden": 8, "k": 2}, name="rt")["name"]
    out = engine.submit(train, rt, data, {**TC, "epochs": 1, "batch_size": 5}).result(30)
    assert out["step"] == len(data.train.windows(12)) // 5
    with pytest.raises(JobError, match="set seq_chunk"):
        engine.submit(train, rt, data, {**TC, "seq_chunk": 0}).result(30)


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_round_trip_and_exact_resume_with_adam(engine, tmp_path, kind):
    data = music_data()
    tc = {**TC, "epochs": 4}
    straight = new_model(engine, kind, "straight", k=3) if kind == "rnnrbm" else new_model(engine, kind, "straight")
    engine.submit(train, straight, data, tc).result(120)
    cfg = {"k": 3} if kind == "rnnrbm" else {}
    half = new_model(engine, kind, "half", **cfg)
    engine.submit(train, half, data, {**tc, "epochs": 2}).result(120)
    engine.call(jobs.save_model, half, str(tmp_path / "half"))
    resumed = engine.call(jobs.load_model, str(tmp_path / "half"), name="resumed")["name"]
    a0 = engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[half].module.state_dict().items()})
    b0 = engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[resumed].module.state_dict().items()})
    assert a0.keys() == b0.keys() and all(torch.equal(a0[k], b0[k]) for k in a0)
    engine.submit(train, resumed, data, tc).result(120)
    a = engine.call(lambda ctx: ctx.registry[straight].module.state_dict())
    b = engine.call(lambda ctx: ctx.registry[resumed].module.state_dict())
    assert all(torch.equal(a[k], b[k]) for k in a)

    def piece(model):
        return lambda ctx: ctx.registry[model].module.sample_pieces(1, 6, 5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(engine.call(piece(straight)), engine.call(piece(resumed)))


# ----- the piano-roll jobs -----
def test_generate_job_continues_and_reharmonises_a_roll(engine):
    got = []
    engine.subscribe(got.append)
    data = music_data()
    name = new_model(engine, "rnnrbm", k=2)
    engine.submit(train, name, data, {**TC, "epochs": 1}).result(60)
    assert engine.call(music_jobs.pitch_range, name) == {"lo": 21, "hi": 28, "n_visible": 8}
    roll = data.test[0][:10]
    h = engine.submit(music_jobs.generate, name, n_frames=6, roll=roll, gibbs_steps=5, seed=3)
    out = h.result(60)
    assert out.shape == (16, 8) and np.array_equal(out[:10], roll)
    frames = [e for e in got if isinstance(e, ev.Frame) and e.job == h.id]
    assert [f.index for f in frames] == list(range(10, 16)) and frames[-1].image.shape == (16, 8)
    assert frames[0].label == "roll" and np.array_equal(frames[-1].image, out)
    again = engine.submit(music_jobs.generate, name, n_frames=6, roll=roll, gibbs_steps=5, seed=3).result(60)
    assert np.array_equal(again, out)

    keep = np.ones(roll.shape, bool)
    keep[4:8, :4] = False  # re-draw the lower half of frames 4-7, keep the rest
    h = engine.submit(music_jobs.generate, name, n_frames=0, roll=roll, mask=keep, gibbs_steps=5, seed=4)
    re = h.result(60)
    assert re.shape == roll.shape and np.array_equal(re[keep], roll[keep])
    assert [e.index for e in got if isinstance(e, ev.Frame) and e.job == h.id] == list(range(4, 10))
    with pytest.raises(JobError, match="not a model of music"):
        rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 8, "n_hidden": 4})["name"]
        engine.submit(music_jobs.generate, rbm, roll=roll).result(30)


def test_cli_trains_and_evaluates_a_model_of_music_on_chorales(tmp_path, capsys):
    """The command line end to end, on the JSB chorales narrowed to one octave and 20 pieces."""
    import json

    from engine.cli import main

    out = str(tmp_path / "ck")
    assert main(["train", "rnnnade", "--data", "jsb_chorales", "--data-opt", "lo=60", "--data-opt", "hi=71",
                 "--limit", "20", "--hidden", "8", "--n-recurrent", "8", "--epochs", "1", "--batch-size", "4",
                 "--optimizer", "adam", "--grad-clip", "5", "--device", "cpu", "--out", out, "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", out, "--method", "music", "--sequences", "3", "--json", "--device", "cpu", "-q"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["method"] == "exact" and r["n_sequences"] == 3 and r["nll"] > 0 and 0 <= r["accuracy"] <= 1
    assert main(["eval", out, "--device", "cpu", "-q"]) == 2
    assert "--method music" in capsys.readouterr().err


def test_cli_evaluates_a_music_ladder_and_refuses_an_rbm(tmp_path, capsys):
    import json

    from engine.cli import main

    ladder, rbm = str(tmp_path / "ladder"), str(tmp_path / "rbm")
    assert main(["train", "ladder", "--data", "jsb_chorales", "--data-opt", "lo=60", "--data-opt", "hi=71",
                 "--limit", "10", "--n-units", "8", "--n-classes", "0", "--epochs", "1", "--batch-size", "4",
                 "--optimizer", "adam", "--device", "cpu", "--out", ladder, "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", ladder, "--method", "music", "--sequences", "2", "--json", "--device", "cpu", "-q"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n_sequences"] == 2 and r["nll"] > 0 and 0 <= r["accuracy"] <= 1
    assert main(["train", "rbm", "--data", "jsb_chorales", "--data-opt", "lo=60", "--data-opt", "hi=71",
                 "--limit", "10", "--hidden", "4", "--epochs", "1", "--device", "cpu",
                 "--out", rbm, "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", rbm, "--method", "music", "--device", "cpu", "-q"]) == 1  # the job refuses it
    assert "models of music" in capsys.readouterr().err


def test_training_options_are_checked():
    from engine.config import ConfigError, config_from_dict
    from engine.training.trainer import TrainConfig

    with pytest.raises((ConfigError, ValueError), match="Nesterov"):
        config_from_dict(TrainConfig, {"optimizer": "nesterov", "momentum": 0.0})
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        config_from_dict(TrainConfig, {"optimizer": "lbfgs"})
