"""The recurrent Ladder: shapes per step and level, which way information flows (decoder to encoder, top
down, recurrence, causality) under each ablation, likelihoods, training on occluded Moving MNIST with labels,
checkpoints and exact resume, and a music run."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import JobError, events as ev, jobs
from engine.config import config_from_dict
from engine.data import load_dataset
from engine.evaluation.music import evaluate_music, frame_states
from engine.models.ladder import LadderConfig, RLadder
from engine.training.trainer import train
from music_data import arpeggios, music_data


def ladder(seed: int = 0, **cfg) -> RLadder:
    c = {"n_visible": 16, "n_units": 6, "n_levels": 3, "channels": 3, "n_classes": 4, **cfg}
    return RLadder(LadderConfig(**c), generator=torch.Generator().manual_seed(seed))


def frames(B: int = 3, T: int = 5, D: int = 16, seed: int = 1) -> torch.Tensor:
    return (torch.rand(B, T, D, generator=torch.Generator().manual_seed(seed)) < 0.4).float()


def states_after(m: RLadder, v: torch.Tensor) -> list:
    """Every step's (state, e, d) reading ``v`` from the initial state."""
    out, st = [], m.initial_state(len(v))
    for t in range(v.shape[1]):
        st, e, d = m.step(v[:, t], st)
        out.append((st, e, d))
    return out


# ----- shapes -----
@pytest.mark.parametrize("frame", ["dense", "conv"])
@pytest.mark.parametrize("decoder_cell", ["g1", "g2", "g3"])
def test_shapes_per_step_and_level(frame, decoder_cell):
    m = ladder(frame=frame, decoder_cell=decoder_cell, cell="lstm" if decoder_cell == "g2" else "gru")
    want = ([(1, 4, 4), (3, 2, 2), (3, 1, 1), (6,)] if frame == "conv" else [(16,), (6,), (6,), (6,)])
    v = frames()
    with torch.no_grad():
        out = m.run(v)
        (_, e, d), = states_after(m, v[:, :1])
    assert [tuple(x.shape[2:]) for x in out.enc] == want and [x.shape[:2] for x in out.enc] == [(3, 5)] * 4
    assert [tuple(x.shape[2:]) for x in out.dec] == want
    assert [tuple(x.shape[1:]) for x in e] == want and [tuple(x.shape[1:]) for x in d] == want
    assert torch.equal(out.dec[3], out.enc[3])  # the top turns the ladder round
    assert out.next_logits.shape == (3, 5, 16) and out.class_logits.shape == (3, 5, 4)
    r = m.infer(v[0].numpy())  # one sequence, (T, D), as the inference view would hand it
    assert r["prediction"].shape == (1, 5, 16) and ((0 < r["prediction"]) & (r["prediction"] < 1)).all()
    assert r["classes"].shape == (1, 5, 4) and torch.allclose(r["classes"].sum(-1), torch.ones(1, 5))
    assert torch.allclose(r["prediction"][0], torch.sigmoid(out.next_logits[0]), atol=1e-6)


def test_ablations_drop_what_they_say():
    assert ladder(n_classes=0).infer(frames())["classes"] is None
    for cfg in ({"predict": False}, {"decoder": False}, {"temporal_baseline": True}):
        m = ladder(**cfg)
        assert m.infer(frames())["prediction"] is None and not hasattr(m, "b_out")
        with pytest.raises(ValueError, match="does not predict"):
            m.log_prob(frames())
    assert set(ladder(predict=False).dec) == {"1", "2"} and not ladder(decoder=False).dec
    with pytest.raises(ValueError, match="learn nothing"):
        config_from_dict(LadderConfig, {"n_classes": 0, "predict": False})
    with pytest.raises(ValueError, match="square"):
        config_from_dict(LadderConfig, {"n_visible": 88, "frame": "conv"})


# ----- information flow -----
@pytest.mark.parametrize("dec2enc", [True, False])
def test_the_decoder_output_of_the_last_step_reaches_the_encoder_unless_dec2enc_is_off(dec2enc):
    m = ladder(dec2enc=dec2enc)
    v = frames()
    (st, _, d), (_, e, _) = states_after(m, v[:, :2])
    for l in (1, 2):  # d_0^l -> e_1^l, the decoder-to-encoder connection of level l
        g = torch.autograd.grad(e[l].sum(), d[l], retain_graph=True, allow_unused=True)[0]
        assert (g is not None and g.abs().sum() > 0) == dec2enc
    # the bottom-up path and the encoder's own recurrence stay either way
    assert torch.autograd.grad(e[1].sum(), st.s[0], retain_graph=True)[0].abs().sum() > 0
    if dec2enc:  # and a perturbed d_{t-1}^1, handed over in the state, changes e_t^1 and above
        st.d[1] = st.d[1] + 0.5
        _, e2, _ = m.step(v[:, 1], st)
        assert not torch.allclose(e2[1], e[1]) and not torch.allclose(e2[3], e[3])


def test_dec2enc_off_cuts_exactly_the_decoder_to_encoder_weights():
    on, off = ladder(seed=3), ladder(seed=4, dec2enc=False)
    cut = {k for k in on.state_dict() if k not in off.state_dict()}
    assert cut == {"enc.0.d.weight", "enc.1.d.weight"}  # W_d of levels 1 and 2 (the top has no decoder above)
    off.load_state_dict({k: x for k, x in on.state_dict().items() if k not in cut})
    with torch.no_grad():
        for k in cut:
            on.state_dict()[k].zero_()
        a, b = on.run(frames()), off.run(frames())
    assert all(torch.equal(x, y) for x, y in zip(a.enc + [a.next_logits, a.class_logits],
                                                  b.enc + [b.next_logits, b.class_logits]))


@pytest.mark.parametrize("decoder", [True, False])
def test_without_the_decoder_nothing_comes_down(decoder):
    m = ladder(decoder=decoder, n_classes=4)
    v = frames()
    with torch.no_grad():
        before = m.run(v).enc
        for p in m.enc[2].parameters():  # the top level
            p.add_(0.3)
        after = m.run(v).enc
    assert not torch.allclose(before[3], after[3])
    assert torch.equal(before[1][:, 0], after[1][:, 0])  # at the first step nothing has come down yet
    assert torch.equal(before[1], after[1]) != decoder  # later the top reaches level 1 through the decoder


@pytest.mark.parametrize("baseline", [True, False])
def test_the_temporal_baseline_has_recurrence_at_the_top_only(baseline):
    m = ladder(temporal_baseline=baseline)
    v = frames()
    w = v.clone()
    w[:, :3] = 1 - w[:, :3]  # other frames before step 3, the same frame at step 3
    with torch.no_grad():
        a, b = m.run(v).enc, m.run(w).enc
    assert not torch.allclose(a[3][:, 3], b[3][:, 3])
    for l in (1, 2):
        assert torch.equal(a[l][:, 3], b[l][:, 3]) == baseline


@pytest.mark.parametrize("cfg", [{}, {"frame": "conv", "norm": "batch"}, {"cell": "lstm", "decoder_cell": "g1"},
                                 {"dec2enc": False}])
def test_the_prediction_of_frame_t_plus_1_depends_on_no_later_frame(cfg):
    m = ladder(**cfg)
    v = frames(T=6)
    for t in range(5):
        w = v.clone()
        w[:, t + 1:] = 1 - w[:, t + 1:]
        with torch.no_grad():
            a, b = m.run(v), m.run(w)
            fa, fb = m.frame_logits(v), m.frame_logits(w)
        assert torch.equal(a.next_logits[:, :t + 1], b.next_logits[:, :t + 1])  # predictions of frames <= t+1
        assert not torch.allclose(a.next_logits[:, t + 1:], b.next_logits[:, t + 1:])
        assert torch.equal(fa[:, :t + 2], fb[:, :t + 2]) and torch.equal(a.class_logits[:, :t + 1],
                                                                         b.class_logits[:, :t + 1])


# ----- likelihoods -----
def test_log_prob_is_the_chain_rule_over_each_piece_alone():
    m = ladder().double()
    v = frames(T=7).double()
    mask = torch.arange(7)[None] < torch.tensor([7, 4, 6])[:, None]
    v = v * mask[..., None]
    with torch.no_grad():
        together = m.log_prob(v, mask)
        alone = [m.log_prob(v[i, :int(mask[i].sum())]).item() for i in range(3)]
        out = m.run(v[:1])
        naive = torch.distributions.Bernoulli(logits=m.b_first).log_prob(v[0, 0]).sum()
        for t in range(1, 7):  # frame t given the frames before it: the prediction made after step t-1
            naive += torch.distributions.Bernoulli(logits=out.next_logits[0, t - 1]).log_prob(v[0, t]).sum()
    assert together.tolist() == pytest.approx(alone, abs=1e-10) and naive.item() == pytest.approx(alone[0])
    seqs = arpeggios(5, 2, V=16, lengths=(3, 9))
    vf, lg = frame_states(m, seqs, batch_frames=20)  # the music evaluation's batching by length
    lp = m.frame_log_prob(vf, lg).sum().item()
    assert lp == pytest.approx(sum(m.log_prob(torch.from_numpy(p).double()).item() for p in seqs), abs=1e-8)


# ----- training through the engine -----
TC = {"epochs": 5, "batch_size": 25, "lr": 0.005, "optimizer": "adam", "monitor_every": 8, "monitor_size": 100}
MNIST = {"name": "occluded_moving_mnist", "limit": 200, "n_test": 50, "valid": 40}
SMALL = {"n_visible": 1024, "n_units": 32, "n_levels": 2, "predict_weight": 0.2}


@pytest.fixture(scope="module")
def videos(mnist_root):
    """The tiny occluded Moving MNIST, read once (the train jobs take it as it is)."""
    return load_dataset({**MNIST, "root": str(mnist_root)})


def record_training_steps(engine, name: str) -> list:
    """The (batch, labels) of every training step model ``name`` takes from now on."""
    seen = []

    def spy(ctx):
        m = ctx.registry[name].module
        step = m.training_step

        def recording(v, gen, mask=None, labels=None):
            seen.append((v.clone(), labels))
            return step(v, gen, mask=mask, labels=labels)
        m.training_step = recording
    engine.call(spy)
    return seen


def test_training_on_occluded_moving_mnist_lowers_both_costs_with_the_right_labels(engine, videos):
    got = []
    engine.subscribe(got.append)
    name = engine.call(jobs.create_model, "ladder", SMALL, seed=0)["name"]
    seen = record_training_steps(engine, name)
    engine.submit(train, name, videos, TC).result(120)
    y = videos.meta["labels"]["train"]
    assert len(seen) == 5 * (len(videos.train) // 25)
    assert all(lab is not None and lab.dtype == torch.long and lab.shape == (25,) for _, lab in seen)
    for v, lab in seen[:3] + seen[-2:]:  # each video comes with its own digit's label
        idx = [int(np.flatnonzero((videos.train == x.numpy()).all((1, 2)))[0]) for x in v]
        assert lab.tolist() == y[idx].tolist()
    train_m = [e.values for e in got if isinstance(e, ev.Metrics) and e.split == "train"]
    valid_m = [e.values for e in got if isinstance(e, ev.Metrics) and e.split == "valid"]
    assert {"nll_per_frame", "class_nll", "class_error"} <= set(train_m[0]) & set(valid_m[0])
    assert train_m[-1]["nll_per_frame"] < 0.85 * train_m[0]["nll_per_frame"]
    assert train_m[-1]["class_nll"] < 0.75 * train_m[0]["class_nll"]


def test_fresh_motion_keeps_each_video_with_its_digits_label(engine, mnist_root):
    data = load_dataset({**MNIST, "root": str(mnist_root), "fresh_motion": True})
    name = engine.call(jobs.create_model, "ladder", SMALL, seed=0)["name"]
    seen = record_training_steps(engine, name)
    engine.submit(train, name, data, {**TC, "epochs": 3, "batch_size": 40}).result(120)
    spe, y = len(data.train) // 40, data.meta["labels"]["train"]
    for epoch in range(3):  # epochs 1 and 2 train on new motion of the same digits, still labelled
        source = data.regenerate(epoch)
        for v, lab in seen[epoch * spe:(epoch + 1) * spe][:2]:
            idx = [int(np.flatnonzero((source == x.numpy()).all((1, 2)))[0]) for x in v]
            assert lab is not None and lab.tolist() == y[idx].tolist()
    assert not np.array_equal(data.regenerate(1), data.train)


def test_a_checkpoint_round_trips_and_resumes_exactly(engine, videos, tmp_path):
    tc = {**TC, "epochs": 2, "batch_size": 50}
    straight = engine.call(jobs.create_model, "ladder", SMALL, name="straight", seed=2)["name"]
    engine.submit(train, straight, videos, tc).result(120)
    half = engine.call(jobs.create_model, "ladder", SMALL, name="half", seed=2)["name"]
    engine.submit(train, half, videos, {**tc, "epochs": 1}).result(120)
    engine.call(jobs.save_model, half, str(tmp_path / "half"))
    back = engine.call(jobs.load_model, str(tmp_path / "half"), name="back")["name"]
    conv = engine.call(jobs.create_model, "ladder", {**SMALL, "frame": "conv", "channels": 3, "cell": "lstm"},
                       seed=1)["name"]
    engine.call(jobs.save_model, conv, str(tmp_path / "conv"))
    conv_back = engine.call(jobs.load_model, str(tmp_path / "conv"), name="conv back")["name"]

    def state(model):
        return engine.call(lambda ctx: {k: v.clone() for k, v in ctx.registry[model].module.state_dict().items()})
    v = videos.test[:2, :3]
    for one, other in ((half, back), (conv, conv_back)):
        a, b = state(one), state(other)
        assert "x_mean" in a and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        pa, pb = (engine.call(lambda ctx, m=m: ctx.registry[m].module.infer(v)) for m in (one, other))
        assert torch.equal(pa["prediction"], pb["prediction"]) and torch.equal(pa["classes"], pb["classes"])
    engine.submit(train, back, videos, tc).result(120)
    a, b = state(straight), state(back)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_music_run_on_arpeggios(engine):
    got = []
    engine.subscribe(got.append)
    data = music_data((40, 12, 6), lengths=(8, 20))
    # a labelled model on data without labels trains the prediction alone
    name = engine.call(jobs.create_model, "ladder", {"n_visible": 8, "n_units": 16, "n_levels": 2}, seed=0)["name"]
    engine.submit(train, name, data, {**TC, "epochs": 6, "batch_size": 8, "lr": 0.02, "seq_chunk": 10,
                                      "monitor_every": 20, "monitor_size": 50}).result(120)
    metrics = [e.values for e in got if isinstance(e, ev.Metrics) and e.split == "train"]
    assert set(metrics[0]) == {"nll_per_frame", "lr"}
    assert metrics[-1]["nll_per_frame"] < 0.6 * metrics[0]["nll_per_frame"]
    r = engine.submit(evaluate_music, name, data).result(60)
    m = engine.call(lambda ctx: ctx.registry[name].module)
    with torch.no_grad():
        lp = sum(m.log_prob(torch.from_numpy(p)).item() for p in data.test)
    assert r["method"] == "exact" and r["nll"] == pytest.approx(-lp / data.test.n_frames, rel=1e-5)
    assert 0 < r["accuracy"] <= 1 and r["n_frames"] == data.test.n_frames
    only = engine.call(jobs.create_model, "ladder", {"n_visible": 8, "n_units": 4, "predict": False}, seed=0)["name"]
    with pytest.raises(JobError, match="only classifies"):
        engine.submit(train, only, data, {**TC, "seq_chunk": 10}).result(60)
