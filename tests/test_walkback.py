"""Variational Walkback: Algorithm 1's schedule, the walk-back loss, the prior, clamped inpainting, evaluation
against exact sums, checkpoints, the walkback job and a short training run."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import jobs
from engine import events as ev
from engine.data import Dataset
from engine.evaluation.exact import all_states
from engine.evaluation.walkback import importance_log_likelihood, log_weights, lower_bound, reversibility
from engine.inpainting import inpaint
from engine.models import FAMILIES
from engine.models.walkback import Walkback, WalkbackConfig, temperatures
from engine.training.trainer import train


def tiny(D=6, seed=0, **kw) -> Walkback:
    cfg = WalkbackConfig(**{"n_visible": D, "n_hidden": 8, "t_max": 8.0, "n1": 2, **kw})
    return Walkback(cfg, generator=torch.Generator().manual_seed(seed)).double()


def binary(n, D, seed=1) -> torch.Tensor:
    return (torch.rand(n, D, generator=torch.Generator().manual_seed(seed)) < 0.4).double()


def test_temperatures_double_after_n_steps_at_one_and_K_is_ceil_log2_tmax_plus_n():
    assert temperatures(0, 16) == [1, 2, 4, 8]
    assert temperatures(3, 16) == [1, 1, 1, 1, 2, 4, 8]
    assert len(temperatures(2, 10)) == math.ceil(math.log2(10)) + 2 == 6
    assert temperatures(2, 1) == [1, 1]  # Tmax = 1: no heating, n steps at T = 1
    for n, t_max in itertools.product(range(4), (2, 5, 8, 100)):
        T = temperatures(n, t_max)
        assert len(T) == math.ceil(math.log2(t_max)) + n
        assert T[: n + 1] == [1.0] * (n + 1)
        assert all(b == 2 * a for a, b in zip(T[n:], T[n + 1:]))


def test_training_walks_draw_n_uniformly_in_0_to_n1():
    m = tiny(n1=3)
    g = torch.Generator().manual_seed(0)
    counts = np.bincount([m.draw_n(g) for _ in range(1000)])
    assert len(counts) == 4 and counts.min() > 200  # n uniform in 0..3
    x = binary(5, 6)
    Ks = set()
    for _ in range(25):
        m.training_step(x, g)
        Ks.add(int(m._last["K"]))
    assert Ks == {3, 4, 5, 6}  # ceil(log2 8) + n


@pytest.mark.parametrize("visible,net", [("bernoulli", "mlp"), ("gaussian", "mlp"), ("bernoulli", "conv")])
def test_the_step_loss_is_minus_log_p_of_the_reverse_transition(visible, net):
    m = tiny(visible=visible, net=net, channels=3, alpha=0.3, prior_rate=0.25, max_logit=1.5)
    g = torch.Generator().manual_seed(3)
    x = binary(7, 6) if visible == "bernoulli" else torch.randn(7, 6, generator=g).double()
    prior_before = (m.prior_mean.clone(), m.prior_sq.clone())
    state = g.get_state()
    m.training_step(x, g)
    grads = {k: p.grad.clone() for k, p in m.named_parameters()}
    g.set_state(state)  # replay the same walk
    n = int(torch.randint(m.config.n1 + 1, (1,), generator=g))
    states, temps = m.heat_walk(x, n, g)
    assert temps == temperatures(n, 8.0)

    def hand_log_p(target, source, t, T):
        """log p_T(target | source) written out from Sec. 3.4.3."""
        T_col = torch.full((len(source), 1), T, dtype=source.dtype)
        out = m.net(torch.cat([source, torch.log2(T_col)], 1), torch.full((len(source),), t))
        if visible == "bernoulli":
            rho = torch.sigmoid(1.5 * torch.tanh(((1 - 0.3) * source + 0.3 * out) / 1.5) / T)
            return (target * torch.log(rho) + (1 - target) * torch.log(1 - rho)).sum(1)
        mu = (1 - 0.3) * source + 0.3 * out[:, :6]
        sigma = T * (F.softplus(out[:, 6:]) + 1e-3)
        return (-(target - mu) ** 2 / (2 * sigma ** 2) - torch.log(sigma * math.sqrt(2 * math.pi))).sum(1)

    loss = sum(-hand_log_p(states[t], states[t + 1], t, T).mean() for t, T in enumerate(temps))
    assert m._last["loss"] == pytest.approx(loss.item(), rel=1e-9)
    m.zero_grad()
    loss.backward()
    for k, p in m.named_parameters():
        torch.testing.assert_close(grads[k], p.grad, rtol=1e-9, atol=1e-12, msg=k)
    # each step of the walk has its own normalisation parameters: only the K steps walked get a gradient
    gain = grads["net.norms.0.gain"]
    assert gain.shape[0] == m.config.max_steps == 5
    assert (gain[:len(temps)].abs().sum(1) > 0).all() and (gain[len(temps):] == 0).all()
    # and the prior moved a quarter of the way to the moments of the final heated states
    s_K = states[-1]
    torch.testing.assert_close(m.prior_mean, torch.lerp(prior_before[0], s_K.mean(0), 0.25))
    torch.testing.assert_close(m.prior_sq, torch.lerp(prior_before[1], (s_K ** 2).mean(0), 0.25))


def test_the_prior_tracks_the_heated_states():
    m = tiny(D=6, t_max=4.0, prior_rate=0.2)
    x = torch.ones(200, 6, dtype=torch.float64)  # the heated states of all-ones data stay mostly ones at T <= 2
    g = torch.Generator().manual_seed(0)
    m.begin_training(x, g)
    states, _ = m.heat_walk(x, m.config.n1, g)
    torch.testing.assert_close(m.prior_mean, states[-1].mean(0), atol=0.1, rtol=0)
    with torch.no_grad():
        m.prior_mean.fill_(0.01)
    for _ in range(15):
        m.training_step(x, g)
    target = torch.stack([m.heat_walk(x, n, g)[0][-1].mean(0) for n in range(3)]).mean(0)
    assert (target > 0.3).all()
    torch.testing.assert_close(m.prior_mean, target, atol=0.12, rtol=0)


def exact_log_p(m: Walkback, x: torch.Tensor, n: int) -> torch.Tensor:
    """log p(x) of the cooling walk by summing over every path s_1..s_K (tiny D and K only)."""
    temps = temperatures(n, m.config.t_max)
    S = all_states(m.config.n_visible).double()
    # log_alpha[s] = log p(s_t = s): start at the prior, cool step by step
    log_alpha = m.prior_log_prob(S)
    for t in reversed(range(1, len(temps))):
        trans = torch.stack([m.transition_log_prob(S, s.expand_as(S), t, temps[t]) for s in S])  # [from, to]
        log_alpha = torch.logsumexp(log_alpha[:, None] + trans, 0)
    last = torch.stack([m.transition_log_prob(x, s.expand_as(x), 0, temps[0]) for s in S])  # [s_1, row]
    return torch.logsumexp(log_alpha[:, None] + last, 0)


@torch.no_grad()
def test_bound_and_importance_sampling_estimate_against_the_exact_likelihood():
    m = tiny(D=4, t_max=4.0, n1=1)  # walks of 2 or 3 steps over 16 states
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()),
                                     dtype=p.dtype))
        m.prior_mean.copy_(torch.tensor([0.2, 0.5, 0.7, 0.4]))
    x = all_states(4).double()[[0, 5, 10, 15]]
    exact = exact_log_p(m, x, n=1)
    assert torch.logsumexp(exact_log_p(m, all_states(4).double(), n=1), 0).item() == pytest.approx(0, abs=1e-9)
    g = torch.Generator().manual_seed(0)
    lw = torch.cat(list(log_weights(m, x, 8000, n=1, generator=g)))
    # E_q[w] = p(x): the importance weights are unbiased, and E_q[log w] is a lower bound
    torch.testing.assert_close(torch.logsumexp(lw, 1) - math.log(8000), exact, atol=0.04, rtol=0)
    assert (lw.mean(1) < exact).all()
    bound = lower_bound(m, x.repeat(1000, 1), n=1, generator=g)
    assert bound == pytest.approx(lw.mean().item(), abs=0.06)
    is_ll = importance_log_likelihood(m, x, n_samples=3000, n=1, generator=g)
    assert bound < is_ll == pytest.approx(exact.mean().item(), abs=0.05)


@torch.no_grad()
def test_reversibility_is_zero_for_an_operator_that_ignores_its_state_and_positive_otherwise():
    m = tiny(D=5, alpha=1.0, norm="none", temperature_input=False)
    with torch.no_grad():
        m.net.layers[0].weight.zero_()  # F(s) is a constant: p(s' | s) = p(s'), detailed balance holds
    r = reversibility(m, n_chains=300, steps=20, generator=torch.Generator().manual_seed(0))
    assert abs(r["entropy_production"]) < 0.01  # log p(s') - log p(s) per step: it telescopes to ~0
    m2 = tiny(D=5, alpha=0.5)
    with torch.no_grad():
        for p in m2.parameters():
            p.mul_(4)
    r2 = reversibility(m2, n_chains=300, steps=20, generator=torch.Generator().manual_seed(0))
    assert r2["entropy_production"] > 5 * r2["entropy_production_se"] > 0
    assert r2["forward_nll"] < r2["backward_nll"]


def tiny_model(engine, shape=(6, 6), **cfg) -> str:
    n = shape[0] * shape[1]
    name = engine.call(jobs.create_model, "walkback", {"n_visible": n, "n_hidden": 16, "t_max": 8, **cfg},
                       name="wb")["name"]
    engine.call(lambda ctx: ctx.registry[name].data.update(shape=list(shape)))
    return name


def test_walkback_is_a_registered_family():
    assert FAMILIES["walkback"].config_cls is WalkbackConfig and FAMILIES["walkback"].module_cls is Walkback


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_clamped_pixels_never_change_when_inpainting(engine, visible):
    name = tiny_model(engine, visible=visible)
    image = (np.random.default_rng(0).random((6, 6)) < 0.5).astype(np.float32)
    mask = np.zeros((6, 6), bool)
    mask[:, :3] = True  # the left half
    frames: list = []
    engine.subscribe(lambda e: isinstance(e, ev.Frame) and e.label == "inpaint" and frames.append(e.image))
    out = engine.submit(inpaint, name, image, mask, steps=9, variations=3, seed=2).result(timeout=30)
    assert len(frames) == 9
    for f in [*frames, out["images"]]:
        np.testing.assert_array_equal(f[:, ~mask], np.broadcast_to(image[~mask], (3, 18)))
    assert np.abs(out["images"][:, mask] - image[mask]).max() > 0
    # the sampler itself clamps the states, not only the job's display
    module = engine.call(lambda ctx: ctx.registry[name].module)
    init = torch.from_numpy(image).reshape(1, -1).repeat(2, 1)
    known = torch.from_numpy(~mask).reshape(1, -1)
    walk = list(module.cool(2, extra_steps=3, init=init, mask=known, generator=torch.Generator().manual_seed(0)))
    assert [w.temperature for w in walk] == [4, 4, 2, 1, 1, 1, 1, 1, 1]
    for w in walk:
        torch.testing.assert_close(w.state[:, known[0]], init[:, known[0]])
        torch.testing.assert_close(w.mean[:, known[0]], init[:, known[0]])
    again = engine.submit(inpaint, name, image, mask, steps=9, variations=3, seed=2).result(timeout=30)
    np.testing.assert_array_equal(again["images"], out["images"])


def test_a_checkpoint_carries_the_prior_and_the_weights(engine, tmp_path):
    name = tiny_model(engine, norm="step")
    data = Dataset("tiny", (np.random.default_rng(0).random((60, 36)) < 0.3).astype(np.float32),
                   np.zeros((0, 36), np.float32), np.zeros((0, 36), np.float32), (6, 6))
    engine.submit(train, name, data, {"epochs": 2, "batch_size": 20, "lr": 0.01, "optimizer": "adam",
                                      "monitor_every": 3, "monitor_size": 20}).result(timeout=30)
    before = engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[name].module.state_dict().items()})
    assert not torch.equal(before["prior_mean"], torch.full((36,), 0.5))
    folder = engine.call(jobs.save_model, name, str(tmp_path / "wb"))
    meta = json.loads((tmp_path / "wb" / "model.json").read_text())
    assert meta["kind"] == "walkback" and meta["config"]["t_max"] == 8
    loaded = engine.call(jobs.load_model, folder, name="back")["name"]
    after = engine.call(lambda ctx: ctx.registry[loaded].module.state_dict())
    assert set(after) == set(before) and {"prior_mean", "prior_sq"} <= set(after)
    for k in before:
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=0, msg=k)
    a = engine.submit(jobs.sample, name, n_chains=4, steps=7, seed=5).result(timeout=30)
    b = engine.submit(jobs.sample, loaded, n_chains=4, steps=7, seed=5).result(timeout=30)
    assert a.shape == (4, 6, 6)
    np.testing.assert_array_equal(a, b)


def test_the_walkback_job_yields_frames_with_temperatures(engine):
    name = tiny_model(engine, n1=1)
    frames: list[ev.Frame] = []
    engine.subscribe(lambda e: isinstance(e, ev.Frame) and frames.append(e))
    out = engine.submit(jobs.walkback, name, "cool", n_chains=3, extra_steps=2, seed=1).result(timeout=30)
    assert all(f.label == "walkback" and f.image.shape == (3, 6, 6) for f in frames)
    assert [f.temperature for f in frames] == [4, 4, 2, 1, 1, 1, 1]  # p* at the hottest, cooling, then T = 1
    assert [f.step for f in frames] == list(range(7)) and out["temperatures"] == [4, 4, 2, 1, 1, 1, 1]
    np.testing.assert_array_equal(out["images"], frames[-1].image)
    assert all(((f.image >= 0) & (f.image <= 1)).all() for f in frames)

    frames.clear()
    start = np.zeros((2, 6, 6), np.float32)
    start[1, 2:4] = 1.0
    out = engine.submit(jobs.walkback, name, "heat", start=start, every=2).result(timeout=30)
    assert [f.step for f in frames] == [0, 2, 4]  # the last step (4) is always sent
    assert [f.temperature for f in frames] == [1, 1, 4]  # steps 0, 2 and 4 of T = 1, 1, 2, 4
    np.testing.assert_array_equal(frames[0].image, start)


def test_the_walkback_job_heats_test_digits_of_the_model_data(engine, mnist_root):
    name = engine.call(jobs.create_model, "walkback", {"n_visible": 784, "n_hidden": 8, "t_max": 4, "n1": 0})["name"]
    spec = {"name": "mnist", "binarize": "threshold", "limit": 100}
    engine.call(lambda ctx: ctx.registry[name].data.update(spec=spec, shape=[28, 28]))
    frames: list[ev.Frame] = []
    engine.subscribe(lambda e: isinstance(e, ev.Frame) and frames.append(e))
    engine.submit(jobs.walkback, name, "heat", n_chains=5, seed=3).result(timeout=60)
    assert [f.temperature for f in frames] == [1, 1, 2] and frames[0].image.shape == (5, 28, 28)
    assert set(np.unique(frames[0].image)) == {0.0, 1.0} and frames[0].image.mean() > 0.05  # digits


def test_a_short_training_run_lowers_the_walkback_loss(engine):
    rng = np.random.default_rng(0)
    protos = (rng.random((3, 36)) < 0.5).astype(np.float32)
    X = protos[rng.integers(0, 3, 600)]
    flips = rng.random(X.shape) < 0.03
    X = np.where(flips, 1 - X, X).astype(np.float32)
    data = Dataset("protos", X, X[:0], X[:100], (6, 6))
    name = tiny_model(engine, n_hidden=32, t_max=4, n1=1)
    out = engine.submit(train, name, data, {"epochs": 8, "batch_size": 50, "lr": 1e-2, "optimizer": "adam",
                                            "monitor_every": 12, "monitor_size": 200}).result(timeout=60)
    hist = engine.call(jobs.model_history, name)
    train_curve = [r["values"] for r in hist if r["split"] == "train"]
    first, last = train_curve[0], train_curve[-1]
    assert out["step"] == 96
    assert last["walkback_loss"] < 0.8 * first["walkback_loss"]
    assert last["nll_bound"] < first["nll_bound"] - 3
    assert last["recon_nll"] < 0.5 * first["recon_nll"]
    samples = engine.submit(jobs.sample, name, n_chains=60, steps=3, seed=0).result(timeout=30)
    nearest = np.abs(samples.reshape(60, 1, 36) - protos[None]).sum(2).min(1)
    assert np.median(nearest) < 6  # most samples look like one of the three patterns


def test_cli_eval_walkback(tmp_path, capsys, mnist_root):
    from engine.cli import main

    out = tmp_path / "wb"
    assert main(["train", "walkback", "--data", "mnist", "--limit", "200", "--hidden", "16", "--t-max", "4",
                 "--epochs", "1", "--batch-size", "50", "--optimizer", "adam", "--lr", "0.001", "--out", str(out),
                 "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--method", "walkback", "--examples", "20", "--runs", "4", "--json", "-q"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 20 and r["n_samples"] == 4
    assert -784 * math.log(2) * 2 < r["test_bound"] <= r["test_is_ll"] < 0
    assert {"entropy_production", "forward_nll", "backward_nll"} <= set(r)
    assert main(["eval", str(out), "--method", "ais", "-q"]) != 0  # an RBM method on a walkback model
    assert "for RBMs" in capsys.readouterr().err
