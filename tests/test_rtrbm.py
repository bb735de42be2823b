"""The RTRBM and TRBM: inference, gradients (exact BPTT vs autograd, CD vs exact), sampling, checkpoints,
the trainer on sequence data (regenerated epochs, static phase, k schedule), and prediction error."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine import jobs
from engine import events as ev
from engine.data import Dataset
from engine.evaluation.prediction import copy_last, evaluate_prediction, prediction_error, rbm_predictor
from engine.models import family
from engine.models.rbm import RBM, RBMConfig
from engine.models.sampling import sample_bernoulli
from engine.models.rtrbm import RTRBM, hidden_states
from engine.models.trbm import TRBM
from engine.training.trainer import train


def tiny(kind="rtrbm", V=6, H=4, seed=0, **kw) -> RTRBM | TRBM:
    """A double-precision model with weights and biases large enough that every term matters."""
    fam = family(kind)
    g = torch.Generator().manual_seed(seed)
    m = fam.build(fam.config_cls(n_visible=V, n_hidden=H, init_std=0.5, **kw), generator=g).double()
    with torch.no_grad():
        for p in (m.b_v, m.b_h, m.b_init):
            p.normal_(0, 0.5, generator=g)
    return m


def binary_seqs(B=3, T=5, V=6, seed=1) -> torch.Tensor:
    return (torch.rand(B, T, V, generator=torch.Generator().manual_seed(seed)) < 0.5).double()


def moving_bars(n, T=8, V=8, width=2, seed=0) -> np.ndarray:
    """A bar of ``width`` pixels moving one pixel a frame, left or right, wrapping around: copy-last
    always misses 2 pixels, while a model that knows the direction (from two frames) misses none."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T, V), np.float32)
    for i in range(n):
        p, d = rng.integers(V), rng.choice([-1, 1])
        for t in range(T):
            x[i, t, (p + d * t + np.arange(width)) % V] = 1
    return x


def bars_dataset(n=200, seed=0, regenerate=None) -> Dataset:
    x = moving_bars(n + 40, seed=seed)
    return Dataset("bars", x[:n], x[n:], x[:0], (1, 8), {"name": "bars"}, regenerate=regenerate)


# ----- inference -----
def naive_states(m, v: torch.Tensor, delay: int = 1) -> torch.Tensor:
    """Eq. 9 one sequence and one step at a time, in the paper's column-vector form (W is H x V, W' is
    H x H); with ``delay`` > 1 the TRBM's filtering over that many past states."""
    Wp = m.W.T
    rec = [m.W_rec.T] if m.W_rec.ndim == 2 else [w.T for w in m.W_rec]
    out = []
    for seq in v:
        r: list[torch.Tensor] = []
        for t, vt in enumerate(seq):
            past = sum(rec[d] @ r[t - 1 - d] for d in range(min(delay, t)))
            bias = m.b_h + m.b_init if t == 0 else m.b_h + past
            r.append(torch.sigmoid(Wp @ vt + bias))
        out.append(torch.stack(r))
    return torch.stack(out)


def test_rtrbm_inference_is_the_rnn_of_eq_9():
    m = tiny()
    v = binary_seqs()
    r, c = m.infer(v)
    assert torch.allclose(r, naive_states(m, v), atol=1e-12)
    assert torch.allclose(c[:, 0], (m.b_h + m.b_init).expand(3, -1))
    assert torch.allclose(c[:, 1:], m.b_h + r[:, :-1] @ m.W_rec, atol=1e-12)


def test_trbm_filtering_uses_the_mean_field_states_of_each_delay():
    m = tiny("trbm", delay=2)
    v = binary_seqs()
    r, _ = m.infer(v)
    assert torch.allclose(r, naive_states(m, v, delay=2), atol=1e-12)


# ----- gradients -----
def naive_log_likelihood(m, v: torch.Tensor, detach_states: bool = False) -> torch.Tensor:
    """sum over sequences and steps of log P(v_t | c_t), written out from the energy: for binary visibles
    by enumerating every (v, h) pair of each step's RBM, for Gaussian ones with the Gaussian integral."""
    V, H = m.config.n_visible, m.config.n_hidden
    delay = m.W_rec.shape[0] if m.W_rec.ndim == 3 else 1
    r = naive_states(m, v, delay)
    if detach_states:
        r = r.detach()
    rec = [m.W_rec] if m.W_rec.ndim == 2 else list(m.W_rec)
    hs = hidden_states(H, torch.float64)
    total = 0
    for b, seq in enumerate(v):
        for t, vt in enumerate(seq):
            past = sum(r[b, t - 1 - d] @ rec[d] for d in range(min(delay, t)))
            c = m.b_h + m.b_init if t == 0 else m.b_h + past
            if m.gaussian:
                log_num = torch.logsumexp(-((vt - m.b_v) ** 2).sum() / 2 + (vt @ m.W) @ hs.T + hs @ c, 0)
                Wh = hs @ m.W.T
                log_z = (torch.logsumexp(hs @ c + Wh @ m.b_v + (Wh ** 2).sum(1) / 2, 0)
                         + V / 2 * math.log(2 * math.pi))
            else:
                vs = hidden_states(V, torch.float64)  # every visible configuration

                def neg_energy(vv):
                    return (vv @ m.b_v)[:, None] + vv @ m.W @ hs.T + (hs @ c)[None, :]
                log_num = torch.logsumexp(neg_energy(vt[None]).flatten(), 0)
                log_z = torch.logsumexp(neg_energy(vs).flatten(), 0)
            total = total + log_num - log_z
    return total


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_rtrbm_exact_gradient_is_the_bptt_gradient_of_the_log_likelihood(visible):
    """With exact RBM expectations in place of CD, the hand-written gradient (per-step RBM gradients plus
    backpropagation through the r's, Eqs. 10-14) is exactly -d/dθ of sum_t log P(v_t | r_{t-1}) / (B T)."""
    m = tiny(visible=visible, exact=True)
    v = binary_seqs() if visible == "binary" else torch.randn(3, 5, 6, generator=torch.Generator().manual_seed(2),
                                                              dtype=torch.float64)
    m.training_step(v, None)
    manual = {n: p.grad.clone() for n, p in m.named_parameters()}
    for p in m.parameters():
        p.grad = None
    ll = naive_log_likelihood(m, v)
    (-ll / 15).backward()
    for n, p in m.named_parameters():
        assert torch.allclose(manual[n], p.grad, atol=1e-10), n
    assert m.exact_log_likelihood(v).sum().item() == pytest.approx(ll.item(), abs=1e-9)


def test_rtrbm_exact_gradient_matches_finite_differences():
    m = tiny(exact=True)
    v = binary_seqs()
    m.training_step(v, None)
    eps = 1e-6
    for name, idx in (("W_rec", (1, 2)), ("b_init", (3,)), ("W", (4, 0))):
        p = getattr(m, name)
        with torch.no_grad():
            p[idx] += eps
            up = m.exact_log_likelihood(v).sum().item()
            p[idx] -= 2 * eps
            down = m.exact_log_likelihood(v).sum().item()
            p[idx] += eps
        assert p.grad[idx].item() == pytest.approx(-(up - down) / (2 * eps) / 15, abs=1e-7), name


def test_trbm_gradient_treats_the_inferred_past_as_data():
    """The TRBM's heuristic: each step's RBM gradient with the filtered states as fixed inputs, no BPTT."""
    m = tiny("trbm", delay=2, exact=True)
    v = binary_seqs()
    m.training_step(v, None)
    manual = {n: p.grad.clone() for n, p in m.named_parameters()}
    for p in m.parameters():
        p.grad = None
    (-naive_log_likelihood(m, v, detach_states=True) / 15).backward()
    for n, p in m.named_parameters():
        assert torch.allclose(manual[n], p.grad, atol=1e-10), n


@pytest.mark.parametrize("cd_start", ["previous", "data"])
@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_cd_gradient_approaches_the_exact_gradient_with_many_steps(visible, cd_start):
    m = tiny(visible=visible, cd_start=cd_start)
    v = binary_seqs(B=3) if visible == "binary" else torch.randn(3, 5, 6, dtype=torch.float64,
                                                                 generator=torch.Generator().manual_seed(2))
    v = v.repeat(1000, 1, 1)  # many chains: the average CD gradient, with little noise
    m.config.exact = True
    m.training_step(v[:3], None)
    exact = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.config.exact = False
    g = torch.Generator().manual_seed(3)
    errors = {}
    for k in (1, 50):
        m.config.k = k
        m.training_step(v, g)
        errors[k] = sum((p.grad - exact[n]).norm() ** 2 for n, p in m.named_parameters()).sqrt().item()
    norm = sum(e.norm() ** 2 for e in exact.values()).sqrt().item()
    assert errors[50] < 0.04 * norm and errors[1] > 3 * errors[50]


@pytest.mark.parametrize("kind", ["rtrbm", "trbm"])
def test_cd_chain_of_each_step_starts_at_the_previous_frame(kind):
    """cd_start='previous': step t's negative phase is a Gibbs chain from v_{t-1} under step t's bias c_t
    (the first frame's from itself); 'data' starts it at v_t."""
    m = tiny(kind, k=1, k_final=0)
    v = binary_seqs()
    B, T, V = v.shape
    N = B * T
    _, c = m.infer(v)
    expected = {}
    for start in ("previous", "data"):
        v0 = torch.cat([v[:, :1], v[:, :-1]], 1) if start == "previous" else v
        g = torch.Generator().manual_seed(4)
        with torch.no_grad():
            p0 = torch.sigmoid(v0.reshape(N, V) @ m.W + c.reshape(N, -1))
            h = m._bern(p0, g)  # the training chains' sampler
            mean = torch.sigmoid(h @ m.W.T + m.b_v)
            v_neg = m._bern(mean, g)
        expected[start] = -(v.reshape(N, V).sum(0) - v_neg.sum(0)) / N
        m.config.cd_start = start
        m.training_step(v, torch.Generator().manual_seed(4))
        assert torch.allclose(m.b_v.grad, expected[start], atol=1e-12), start
    assert not torch.allclose(expected["previous"], expected["data"])


# ----- sampling -----
@pytest.mark.parametrize("kind", ["rtrbm", "trbm"])
def test_generate_yields_each_frame_or_each_gibbs_step(kind):
    m = tiny(kind)
    g = torch.Generator().manual_seed(0)
    frames = list(m.generate(4, 7, 3, generator=g))
    assert [(f.index, f.step) for f in frames] == [(i, 3) for i in range(7)]
    assert all(f.mean.shape == (4, 6) for f in frames)
    every = list(m.generate(2, 3, 5, generator=g, every_gibbs=True))
    assert [(f.index, f.step) for f in every] == [(i, s) for i in range(3) for s in range(1, 6)]
    seqs = m.sample_sequences(2, 4, 2, prime=binary_seqs(B=1, T=3), generator=g)
    assert seqs.shape == (2, 4, 6) and bool(((seqs >= 0) & (seqs <= 1)).all())


def test_priming_continues_from_the_state_and_frame_of_the_prime():
    """The first new frame is one Gibbs step of the RBM biased by r of the prime, from its last frame."""
    m = tiny()
    prime = binary_seqs(B=2, T=4)
    first = next(m.generate(2, 5, 1, prime=prime, generator=torch.Generator().manual_seed(7))).mean
    g = torch.Generator().manual_seed(7)
    r, _ = m.infer(prime)
    c = m.b_h + r[:, -1] @ m.W_rec
    h = sample_bernoulli(torch.sigmoid(prime[:, -1] @ m.W + c), g)
    assert torch.allclose(first, torch.sigmoid(h @ m.W.T + m.b_v), atol=1e-12)
    unprimed = next(m.generate(2, 5, 1, generator=torch.Generator().manual_seed(7))).mean
    assert not torch.allclose(first, unprimed)


def test_generation_is_reproducible_from_its_seed():
    m = tiny()
    a = m.sample_sequences(3, 5, 4, generator=torch.Generator().manual_seed(11))
    b = m.sample_sequences(3, 5, 4, generator=torch.Generator().manual_seed(11))
    assert torch.equal(a, b)


# ----- training through the shared trainer -----
TC = {"epochs": 30, "batch_size": 10, "lr": 0.05, "monitor_every": 100, "monitor_size": 20}


def new_model(engine, kind="rtrbm", name="m", **cfg):
    config = {"n_visible": 8, "n_hidden": 16, "k": 5, "k_final": 0, "init_std": 0.1, **cfg}
    return engine.call(jobs.create_model, kind, config, name=name, timeout=10)["name"]


def params(engine, name):
    return engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[name].module.state_dict().items()})


@pytest.mark.parametrize("kind,cfg", [("rtrbm", {}), ("trbm", {"delay": 2})])
def test_training_on_moving_bars_predicts_better_than_copying_the_last_frame(engine, kind, cfg):
    got = []
    engine.subscribe(got.append)
    data = bars_dataset()
    name = new_model(engine, kind, **cfg)
    out = engine.submit(train, name, data, {**TC, "frame_every": 200}).result(60)
    assert out["step"] == 30 * 20
    metrics = [e for e in got if isinstance(e, ev.Metrics) and e.split == "train"]
    assert {"recon_error", "pred_error", "lr"} <= set(metrics[-1].values)
    assert metrics[-1].values["pred_error"] < 0.5 * metrics[0].values["pred_error"]
    frames = [e for e in got if isinstance(e, ev.Frame)]
    assert frames and frames[0].image.shape == (8, 1, 8)  # one frame per time step of a sequence
    assert [e for e in got if isinstance(e, ev.Progress)][-1].unit == "sequences"
    model = engine.call(lambda ctx: ctx.registry[name].module)
    test = torch.from_numpy(data.test)
    err, _ = prediction_error(model, test)
    assert prediction_error(copy_last, test) == (2.0, 0.0)
    assert err < 0.5 * 2.0


@pytest.mark.parametrize("kind", ["rtrbm", "trbm"])
def test_checkpoint_round_trip_is_bit_exact(engine, tmp_path, kind):
    name = new_model(engine, kind)
    engine.submit(train, name, bars_dataset(), {**TC, "epochs": 2}).result(60)
    engine.call(jobs.save_model, name, str(tmp_path / "ck"))
    loaded = engine.call(jobs.load_model, str(tmp_path / "ck"))["name"]
    a, b = params(engine, name), params(engine, loaded)
    assert a.keys() == b.keys() == {"W", "W_rec", "b_v", "b_h", "b_init"}
    assert all(torch.equal(a[k], b[k]) for k in a)
    info = engine.call(jobs.model_info, loaded)
    assert info["kind"] == kind and info["step"] == 40

    def frame(model):
        prime = torch.from_numpy(moving_bars(3, T=4))
        return lambda ctx: next(ctx.registry[model].module.generate(
            3, 2, 5, prime=prime, generator=torch.Generator().manual_seed(5))).mean
    assert torch.equal(engine.call(frame(name)), engine.call(frame(loaded)))


def test_regenerated_epochs_resume_exactly(engine, tmp_path):
    """Endless data: a fresh training set each epoch, a function of the epoch, so resuming sees the same."""
    calls: list[int] = []

    def regenerate(epoch):
        calls.append(epoch)
        return moving_bars(200, seed=1000 + epoch)
    data = bars_dataset(regenerate=regenerate)
    tc = {**TC, "epochs": 4}
    straight = new_model(engine, name="straight")
    engine.submit(train, straight, data, tc).result(60)
    assert calls == [1, 2, 3]

    calls.clear()
    half = new_model(engine, name="half")
    engine.submit(train, half, data, {**tc, "epochs": 2}).result(60)
    engine.call(jobs.save_model, half, str(tmp_path / "half"))
    resumed = engine.call(jobs.load_model, str(tmp_path / "half"), name="resumed")["name"]
    engine.submit(train, resumed, data, tc).result(60)
    assert calls == [1, 2, 3]  # epoch 1 in the first half, 2 and 3 after resuming
    a, b = params(engine, straight), params(engine, resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    hist = [engine.call(lambda ctx, n=n: ctx.registry[n].history) for n in (straight, resumed)]
    assert hist[0] == hist[1]

    fixed = new_model(engine, name="fixed")
    engine.submit(train, fixed, bars_dataset(), tc).result(60)
    assert not torch.equal(params(engine, fixed)["W"], a["W"])  # the fresh data was used


def test_static_pretraining_then_the_k_schedule(engine):
    name = new_model(engine, static_epochs=1, static_k=2, k=3, k_final=4, k_switch=0.5)
    seen = []

    def spy(ctx):
        m = ctx.registry[name].module
        orig = m.training_step
        w_rec = m.W_rec.detach().clone()

        def step(batch, gen):
            seen.append((m.static_phase, m.current_k(), torch.equal(m.W_rec, w_rec)))
            orig(batch, gen)
        m.training_step = step
    engine.call(spy)
    engine.submit(train, name, bars_dataset(), {**TC, "epochs": 4}).result(60)
    # 20 updates an epoch: one epoch static CD-2 (temporal weights untouched), CD-3 to half the run, then CD-4
    assert seen[:20] == [(True, 2, True)] * 20
    assert [s[:2] for s in seen[20:]] == [(False, 3)] * 20 + [(False, 4)] * 40
    assert not seen[-1][2]


def test_a_per_frame_rbm_trains_on_the_frames_of_sequences_and_a_sequence_model_refuses_images(engine):
    from engine import JobError

    data = bars_dataset()
    rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 8, "n_hidden": 8}, name="frames")["name"]
    out = engine.submit(train, rbm, data, {**TC, "epochs": 1}).result(30)
    assert out["step"] == 200 * 8 // 10  # every frame of every sequence is an example
    flat = Dataset("flat", data.train[:, 0], data.test[:, 0], data.train[:0, 0], (1, 8), {"name": "flat"})
    name = new_model(engine)
    with pytest.raises(JobError, match="model, of sequences, but flat holds single examples"):
        engine.submit(train, name, flat, TC).result(30)


# ----- prediction error -----
def test_prediction_error_job_reports_the_model_and_its_baselines(engine):
    data = bars_dataset()
    name = new_model(engine)
    rbm = engine.call(jobs.create_model, "rbm", {"n_visible": 8, "n_hidden": 8}, name="frames")["name"]
    r = engine.submit(evaluate_prediction, name, data, rbm_model=rbm).result(30)
    assert r["n"] == 40 and r["copy_last_error"] == 2.0 and r["copy_last_error_std"] == 0.0
    assert {"pred_error", "pred_error_std", "rbm_error", "rbm_error_std"} <= set(r)
    model = engine.call(lambda ctx: ctx.registry[name].module)
    assert r["pred_error"] == pytest.approx(prediction_error(model, data.test)[0])
    hist = engine.call(lambda ctx: ctx.registry[name].history)
    assert hist[-1]["split"] == "test" and hist[-1]["values"] == {"pred_error": r["pred_error"]}


def test_per_frame_rbm_baseline_is_its_reconstruction_of_the_previous_frame():
    rbm = RBM(RBMConfig(n_visible=8, n_hidden=5, centered=False), generator=torch.Generator().manual_seed(0))
    x = torch.from_numpy(moving_bars(4))
    pred = rbm_predictor(rbm)(x)
    p = rbm.standard_params()
    expect = torch.sigmoid(torch.sigmoid(x[:, :-1] @ p.W + p.c) @ p.W.T + p.b)
    assert torch.allclose(pred, expect, atol=1e-6)
    mean, std = prediction_error(rbm, x)
    assert mean == pytest.approx(((expect - x[:, 1:]) ** 2).sum(-1).mean().item(), rel=1e-6) and std >= 0
