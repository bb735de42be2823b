"""The RBM: free energy, centring, gradients (manual vs autograd, CD-k vs exact), chains, sampling."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine.evaluation.exact import all_states
from engine.models.rbm import RBM, RBMConfig
from engine.models.sampling import Bernoulli16, sample_bernoulli


def tiny(V=6, H=4, seed=0, **kw) -> RBM:
    g = torch.Generator().manual_seed(seed)
    m = RBM(RBMConfig(n_visible=V, n_hidden=H, init_std=0.5, **kw), generator=g).double()
    with torch.no_grad():
        m.b.normal_(0, 0.5, generator=g)
        m.c.normal_(0, 0.5, generator=g)
        if kw.get("centered", True):
            m.mu.uniform_(0.2, 0.8, generator=g)
            m.lam.uniform_(0.2, 0.8, generator=g)
    return m


def centred_energy(m: RBM, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """E(v, h) straight from the module docstring (Bernoulli visibles)."""
    return -(v @ m.b) - ((v - m.mu) @ m.W * (h - m.lam)).sum(-1) - h @ m.c


def test_free_energy_matches_brute_force_sum_over_hiddens():
    m = tiny()
    v = all_states(6)
    hs = all_states(4)
    brute = torch.stack([-torch.logsumexp(-centred_energy(m, vi.expand(len(hs), -1), hs), 0) for vi in v])
    # the centred energy differs from the standard one by a constant (lam . c + terms free of v and h)
    const = brute - m.free_energy(v)
    assert torch.allclose(const, const[0].expand_as(const), atol=1e-10)


def test_hidden_offset_update_keeps_the_distribution():
    m = tiny()
    v = all_states(6)
    before = m.free_energy(v)
    m._pos_hidden_mean = torch.rand(4, dtype=torch.float64)
    m.after_update()
    after = m.free_energy(v)
    assert torch.allclose(after - after[0], before - before[0], atol=1e-10)


@pytest.mark.parametrize("visible,centered,learn_sigma", [
    ("bernoulli", False, False), ("bernoulli", True, False), ("gaussian", True, False),
    ("gaussian", True, True), ("gaussian", False, True)])
def test_manual_gradient_equals_autograd_of_the_free_energy_difference(visible, centered, learn_sigma):
    """The hand-written PCD gradient is d/dtheta [mean F(data) - mean F(model samples)]."""
    m = tiny(V=7, H=5, visible=visible, centered=centered, learn_sigma=learn_sigma, sampler="pcd", n_chains=11)
    if learn_sigma:
        with torch.no_grad():
            m.log_sigma.uniform_(-0.3, 0.3)
    g = torch.Generator().manual_seed(1)
    v_pos = (torch.rand(9, 7, generator=g) < 0.5).double() if visible == "bernoulli" else torch.randn(9, 7,
                                                                                                      generator=g).double()
    m.init_chains(v_pos, 11, g)
    h0 = m.chain_h.clone()
    state = g.get_state()
    m.training_step(v_pos, g)
    g.set_state(state)
    with torch.no_grad():  # the samples are constants of the objective
        mean = m._centred_visible_mean(h0)
        v_neg = m._bern(mean, g) if visible == "bernoulli" else mean + m.sigma() * torch.randn(
            mean.shape, generator=g, dtype=mean.dtype)
    manual = {n: p.grad.clone() for n, p in m.named_parameters()}

    def F_centred(v):
        sigma = m.log_sigma.exp()
        x = v / sigma if visible == "gaussian" else v
        vis = ((v - m.b) ** 2 / (2 * sigma ** 2)).sum(1) if visible == "gaussian" else -(v @ m.b)
        return vis + (x - m.mu) @ (m.W @ m.lam) - F.softplus((x - m.mu) @ m.W + m.c).sum(1)

    for p in m.parameters():
        p.grad = None
    (F_centred(v_pos).mean() - F_centred(v_neg).mean()).backward()
    for n, p in m.named_parameters():
        assert torch.allclose(manual[n], p.grad, atol=1e-9), n


def exact_gradient(m: RBM, data: torch.Tensor) -> torch.Tensor:
    """d(-mean log p(data))/dW of an uncentred binary RBM, by enumerating every state."""
    v = all_states(m.config.n_visible)
    logp = -m.free_energy(v)
    pv = torch.softmax(logp, 0)
    model = (v * pv[:, None]).T @ m.hidden_probs(v)
    pos = data.T @ m.hidden_probs(data) / len(data)
    return -(pos - model)


def test_cd_k_gradient_approaches_the_exact_gradient_as_k_grows():
    m = tiny(V=6, H=4, centered=False, sampler="cd")
    with torch.no_grad():  # strong weights mix slowly: CD's bias at small k stands well above the noise
        m.W.mul_(3)
    g = torch.Generator().manual_seed(2)
    data = all_states(6)[torch.tensor([3, 17, 40, 62, 9])]
    exact = exact_gradient(m, data)
    batch = data.repeat(10000, 1)  # many chains: the average CD-k gradient, with little noise
    errors = {}
    for k in (1, 3, 30):
        m.config.k = k
        m.training_step(batch, g)
        errors[k] = (m.W.grad - exact).norm().item()
    assert errors[30] < errors[3] < errors[1]
    assert errors[30] < 0.1 * exact.norm().item() < errors[1]


def test_pcd_chains_persist_across_batches():
    m = RBM(RBMConfig(n_visible=6, n_hidden=4, sampler="pcd", n_chains=8))
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(32, 6, generator=g) < 0.5).float()
    m.begin_training(data, g)
    calls = []
    orig = m.init_chains
    m.init_chains = lambda *a: calls.append(a) or orig(*a)
    states = []
    for i in range(4):
        m.training_step(data[i * 8:(i + 1) * 8], g)
        states.append(m.chain_h.clone())
    assert calls == []  # never re-initialised from the data
    assert all(s.shape == (8, 4) for s in states)
    assert not all(torch.equal(states[0], s) for s in states[1:])


def test_sample_bernoulli_has_the_right_rate():
    g = torch.Generator().manual_seed(0)
    p = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).expand(20000, -1)
    rate = sample_bernoulli(p, g).mean(0)
    assert torch.allclose(rate, p[0], atol=0.01)


def test_the_16_bit_sampler_has_the_right_rate_and_repeats_with_its_generator():
    p = torch.tensor([0.0, 1e-6, 0.1, 0.5, 0.9, 1.0]).expand(50000, -1)
    draws = []
    for _ in range(2):
        g = torch.Generator().manual_seed(0)
        bern = Bernoulli16()
        draws.append(torch.stack([bern(p, g), bern(p[:7], g).repeat(7143, 1)[:50000]]))
    assert torch.equal(draws[0], draws[1])  # a function of the generator's state: runs resume exactly
    rate = draws[0][0].mean(0)
    assert rate[0] == 0 and rate[1] == 0 and rate[-1] == 1  # p is resolved to 2^-16
    assert torch.allclose(rate, p[0], atol=0.006)
    u = bern.uniform((1000, 100), g, p.device)
    assert 0 < u.min() and u.max() < 1 and abs(u.mean().item() - 0.5) < 0.003


def test_gibbs_keeps_clamped_visibles_and_yields_every_step():
    m = RBM(RBMConfig(n_visible=10, n_hidden=5))
    init = (torch.rand(3, 10) < 0.5).float()
    mask = torch.zeros(10, dtype=torch.bool)
    mask[:4] = True
    steps = list(m.gibbs(3, 7, init=init, mask=mask, every=2, generator=torch.Generator().manual_seed(0)))
    assert [s for s, _ in steps] == [2, 4, 6, 7]
    for _, mean in steps:
        assert torch.equal(mean[:, :4], init[:, :4])


def test_gaussian_rbm_learns_standardised_two_cluster_data():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[1.5, -1.0, 0.5, 1.0], [-1.5, 1.0, -0.5, -1.0]])
    x = centres[torch.randint(2, (2000,), generator=g)] + 0.3 * torch.randn(2000, 4, generator=g)
    x = (x - x.mean(0)) / x.std(0)  # standardised, as the Gaussian RBM expects
    m = RBM(RBMConfig(n_visible=4, n_hidden=8, visible="gaussian", sampler="cd", k=1), generator=g)
    m.begin_training(x, g)
    opt = torch.optim.SGD(m.param_groups(0.0), lr=0.01, momentum=0.9)
    before = m.monitors(x, torch.Generator().manual_seed(5))["recon_error"]
    for epoch in range(15):
        for i in range(0, 2000, 50):
            m.training_step(x[i:i + 50], g)
            opt.step()
            m.after_update()
    after = m.monitors(x, torch.Generator().manual_seed(5))["recon_error"]
    assert after < 0.5 * before
    *_, (_, samples) = m.gibbs(500, 200, generator=g)
    # samples fall into the two clusters: the first coordinate is bimodal, not centred at zero
    assert (samples[:, 0].abs() > 0.5).float().mean() > 0.7


def test_standard_params_define_the_same_free_energy_for_gaussian_visibles():
    m = tiny(V=3, H=2, visible="gaussian", centered=True)
    v = torch.randn(5, 3, dtype=torch.float64)
    a = m.free_energy(v)
    # centred formula, written independently
    s = m.sigma()
    x = v / s
    fc = ((v - m.b) ** 2 / (2 * s ** 2)).sum(1) + (x - m.mu) @ (m.W @ m.lam) - F.softplus(
        (x - m.mu) @ m.W + m.c).sum(1)
    d = fc - a
    assert torch.allclose(d, d[0].expand_as(d), atol=1e-10)


# ----- multi-prediction training (inpainting) -----
def test_random_masks_hide_halves_rectangles_and_pixels_never_all_or_nothing():
    from engine.models.masks import random_masks

    g = torch.Generator().manual_seed(0)
    m = random_masks(600, 64, g)
    assert m.shape == (600, 64) and m.dtype == torch.bool
    assert m.any(1).all() and (~m).any(1).all()
    img = m.view(-1, 8, 8)
    rows_same, cols_same = (img == img[:, :1]).all((1, 2)), (img == img[:, :, :1]).all((1, 2))
    halves = (img == img[:, :, :1]).all(2).all(1) | (img == img[:, :1, :]).all(1).all(1)
    assert halves.sum() > 100  # a side cut: every row (or column) alike
    assert not (rows_same & cols_same).any()
    # the same generator state gives the same masks; visibles that are no square get pixel subsets only
    assert torch.equal(random_masks(50, 64, torch.Generator().manual_seed(3)),
                       random_masks(50, 64, torch.Generator().manual_seed(3)))
    assert random_masks(400, 88, g).float().mean(0).std() < 0.1  # no spatial structure to the 88 notes


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_completion_cost_is_mean_field_inpainting_with_the_standard_parameters(visible):
    """completion_cost runs k clamped mean-field steps of the equivalent plain RBM, so the centring offsets do
    not change it, and it scores the true hidden pixels under the last step."""
    m = tiny(V=9, H=5, visible=visible, k=3)
    g = torch.Generator().manual_seed(2)
    v = (torch.rand(4, 9, generator=g) < 0.5).double() if visible == "bernoulli" else torch.randn(4, 9,
                                                                                                   generator=g).double()
    hidden = torch.rand(4, 9, generator=g) < 0.5
    p = m.standard_params()
    q = torch.where(hidden, torch.full_like(v, 0.5 if visible == "bernoulli" else 0.0), v)
    for _ in range(3):
        mean = m.visible_mean(m.hidden_probs(q, p), p)
        q = torch.where(hidden, mean, v)
    if visible == "bernoulli":
        want = -(v * mean.log() + (1 - v) * (1 - mean).log())
    else:
        want = (v - mean) ** 2 / 2
    with torch.no_grad():
        got = m.completion_cost(v, hidden)
    assert torch.allclose(got, (want * hidden).sum(1), atol=1e-9)


def test_multi_prediction_training_teaches_an_rbm_to_fill_in_bars():
    """Images of 4x4 bars (one full row or column): after mp training from a random start the mean-field
    completion of a hidden corner (which the rest of each image determines) is far better than before, and
    the step fills .grad for W, b and c."""
    g = torch.Generator().manual_seed(0)
    bars = torch.zeros(8, 4, 4)
    for i in range(4):
        bars[i, i, :] = 1
        bars[4 + i, :, i] = 1
    data = bars.view(8, 16)
    m = RBM(RBMConfig(n_visible=16, n_hidden=16, sampler="mp", k=5, init_std=0.1), generator=g)
    m.begin_training(data, g)
    test_masks = torch.zeros(8, 4, 4, dtype=torch.bool)
    test_masks[:, 2:, 2:] = True  # the bottom right quarter hidden
    test_masks = test_masks.view(8, 16)
    before = m.completion_cost(data, test_masks).mean().item()
    opt = torch.optim.Adam(m.parameters(), 0.05)
    for _ in range(300):
        m.training_step(data[torch.randint(8, (16,), generator=g)], g)
        assert all(t.grad is not None for t in (m.W, m.b, m.c))
        opt.step()
        m.after_update()
    after = m.completion_cost(data, test_masks).mean().item()
    assert after < 0.25 * before, (before, after)


def test_the_mp_rule_with_a_likelihood_weight_adds_that_much_of_the_pcd_gradient():
    """likelihood_weight w: .grad = w * (the PCD-k gradient) + (the multi-prediction gradient), each drawn with
    the same random numbers as when computed alone; w = 0 leaves no PCD chains behind."""
    import copy

    from engine.models.masks import random_masks

    m = tiny(V=16, H=5, sampler="mp", k=2, likelihood_weight=0.3)
    v = (torch.rand(6, 16, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    hybrid, g = copy.deepcopy(m), torch.Generator().manual_seed(5)
    hybrid.training_step(v, g)
    pcd, g2 = copy.deepcopy(m), torch.Generator().manual_seed(5)
    pcd.config = RBMConfig(**{**pcd.config.__dict__, "sampler": "pcd"})
    pcd.training_step(v, g2)
    mp = copy.deepcopy(m)
    with torch.enable_grad():
        mp.completion_cost(v, random_masks(6, 16, g2)).mean().backward()
    for name in ("W", "b", "c"):
        want = 0.3 * getattr(pcd, name).grad + getattr(mp, name).grad
        assert torch.allclose(getattr(hybrid, name).grad, want, atol=1e-10), name
    assert hybrid.chain_h is not None and torch.equal(hybrid.chain_h, pcd.chain_h)
    alone = copy.deepcopy(m)
    alone.config = RBMConfig(**{**alone.config.__dict__, "likelihood_weight": 0.0})
    alone.training_step(v, torch.Generator().manual_seed(5))
    assert alone.chain_h is None and alone.W.grad is not None
