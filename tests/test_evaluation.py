"""Exact log Z and AIS against brute force, and the average log-likelihood."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.data import load_dataset
from engine.evaluation import average_log_likelihood, log_partition_exact
from engine.evaluation.ais import ais, run
from engine.evaluation.exact import all_states
from engine.models.rbm import RBM, RBMConfig


def random_rbm(V, H, visible="bernoulli", seed=0, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    m = RBM(RBMConfig(n_visible=V, n_hidden=H, visible=visible, learn_sigma=visible == "gaussian",
                      init_std=scale), generator=g).double()
    with torch.no_grad():
        m.b.normal_(0, 0.3, generator=g)
        m.c.normal_(0, 0.3, generator=g)
        m.mu.uniform_(0, 1, generator=g)
        m.lam.uniform_(0, 1, generator=g)
        if visible == "gaussian":
            m.log_sigma.uniform_(-0.3, 0.3, generator=g)
    return m


@pytest.mark.parametrize("V,H", [(5, 7), (8, 4)])  # enumerate visibles, then hiddens
def test_exact_log_z_matches_the_sum_over_every_joint_state(V, H):
    m = random_rbm(V, H)
    p = m.standard_params()
    v, h = all_states(V), all_states(H)
    neg_energy = (v @ p.b)[:, None] + (h @ p.c)[None, :] + v @ p.W.double() @ h.T
    assert log_partition_exact(p) == pytest.approx(torch.logsumexp(neg_energy.flatten(), 0).item(), abs=1e-9)


def test_exact_log_z_of_a_gaussian_rbm_matches_numerical_integration():
    m = random_rbm(2, 3, visible="gaussian")
    p = m.standard_params()
    grid = torch.linspace(-12, 12, 1201, dtype=torch.float64)
    vv = torch.cartesian_prod(grid, grid)
    logp = -m.free_energy(vv, p)
    dv = (grid[1] - grid[0]).item()
    numeric = torch.logsumexp(logp, 0).item() + 2 * math.log(dv)
    assert log_partition_exact(p) == pytest.approx(numeric, abs=1e-4)


def test_average_log_likelihood_normalises_over_all_states():
    m = random_rbm(6, 5)
    p = m.standard_params()
    v = all_states(6)
    logp = -m.free_energy(v, p) - log_partition_exact(p)
    assert torch.logsumexp(logp, 0).item() == pytest.approx(0.0, abs=1e-9)
    assert average_log_likelihood(p, v[:10], log_partition_exact(p)) == pytest.approx(logp[:10].mean().item())


@pytest.fixture(scope="module")
def trained_20_hidden(mnist_root):
    """A 20-hidden RBM trained briefly on MNIST: its log Z is far from the base model's, so AIS has real
    work to do, yet it is smooth enough that 3000 temperatures give log-weights with a small spread (a
    sharper model trained with momentum 0.9 needs far more temperatures for 0.1-nat agreement)."""
    data = load_dataset({"name": "mnist", "limit": 3000})
    X = torch.from_numpy(data.train)
    g = torch.Generator().manual_seed(0)
    m = RBM(RBMConfig(n_hidden=20, sampler="pcd"), generator=g)
    m.begin_training(X, g)
    opt = torch.optim.SGD(m.param_groups(0.0), lr=0.05, momentum=0.5)
    for epoch in range(4):
        for i in range(0, len(X), 100):
            m.training_step(X[i:i + 100], g)
            opt.step()
            m.after_update()
    return m, X


def test_ais_matches_exact_log_z_of_a_trained_20_hidden_rbm(trained_20_hidden):
    m, X = trained_20_hidden
    p = m.standard_params()
    exact = log_partition_exact(p)
    r = run(ais(p, X, n_runs=100, n_betas=3000, generator=torch.Generator().manual_seed(0)))
    assert exact - r.log_z_base > 10
    assert abs(r.log_z - exact) < 0.1
    assert r.log_z_lo <= r.log_z <= r.log_z_hi
    assert 0 < r.log_z_err < 1.0


def test_ais_matches_exact_log_z_of_a_gaussian_rbm():
    m = random_rbm(10, 8, visible="gaussian", scale=0.3)
    p = m.standard_params()
    data = torch.randn(500, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    r = run(ais(p, data, n_runs=200, n_betas=2000, generator=torch.Generator().manual_seed(1)))
    assert r.log_z == pytest.approx(log_partition_exact(p), abs=0.1)


def test_ais_error_bar_shrinks_with_more_runs(trained_20_hidden):
    m, X = trained_20_hidden
    p = m.standard_params()
    few = run(ais(p, X, n_runs=10, n_betas=300, generator=torch.Generator().manual_seed(0)))
    many = run(ais(p, X, n_runs=400, n_betas=300, generator=torch.Generator().manual_seed(0)))
    assert many.log_z_err < few.log_z_err
    assert np.isfinite(many.log_w).all()
