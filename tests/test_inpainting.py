"""The inpaint job: clamped pixels never change, an empty mask returns the image, any image size fits."""
from __future__ import annotations

import numpy as np
import pytest

from engine import jobs
from engine import events as ev
from engine.engine import JobError
from engine.inpainting import fit_image, image_shape, inpaint


def digit_rbm(engine, shape=(6, 6)):
    n = shape[0] * shape[1]
    name = engine.call(jobs.create_model, "rbm", {"n_visible": n, "n_hidden": 8, "init_std": 1.0}, name="tiny")["name"]
    engine.call(lambda ctx: ctx.registry[name].data.update(shape=list(shape)))
    return name


def frames_of(engine, fn, *args, **kw):
    frames: list = []
    engine.subscribe(lambda e: isinstance(e, ev.Frame) and e.label == "inpaint" and frames.append(e.image))
    out = engine.submit(fn, *args, **kw).result(timeout=30)
    return out, frames


def test_known_pixels_never_change_and_the_masked_ones_are_filled(engine):
    name = digit_rbm(engine)
    rng = np.random.default_rng(0)
    image = (rng.random((6, 6)) < 0.5).astype(np.float32)
    mask = np.zeros((6, 6), bool)
    mask[3:] = True  # the bottom half
    out, frames = frames_of(engine, inpaint, name, image, mask, steps=12, variations=3, seed=1, every=3)
    assert len(frames) == 5 and out["images"].shape == (3, 6, 6)  # every third step, then ranked
    np.testing.assert_array_equal(frames[-1], out["images"])
    for f in [*frames, out["images"]]:
        np.testing.assert_array_equal(f[:, ~mask], np.broadcast_to(image[~mask], (3, int((~mask).sum()))))
    filled = out["images"][:, mask]
    assert ((filled >= 0) & (filled <= 1)).all()
    assert np.abs(filled - image[mask]).max() > 0  # the model drew something there, not the original
    again, _ = frames_of(engine, inpaint, name, image, mask, steps=12, variations=3, seed=1, every=3)
    np.testing.assert_array_equal(again["images"], out["images"])  # seeded


def test_variations_come_most_probable_first_by_the_models_free_energy(engine):
    import torch

    name = digit_rbm(engine)
    image = np.zeros((6, 6), np.float32)
    mask = np.zeros((6, 6), bool)
    mask[:, 2:] = True
    out, _ = frames_of(engine, inpaint, name, image, mask, steps=5, variations=6, seed=2)
    module = engine.call(lambda ctx: ctx.registry[name].module)
    fe = engine.call(lambda ctx: module.free_energy(torch.from_numpy(out["images"].reshape(6, 36))).tolist())
    np.testing.assert_allclose(out["free_energy"], fe, rtol=1e-5, atol=1e-4)
    assert out["free_energy"] == sorted(out["free_energy"]) and len(set(np.round(fe, 4))) > 1


def test_ranking_keeps_the_order_of_a_model_without_a_free_energy_and_never_puts_nan_first():
    import torch

    from engine.inpainting import rank_completions

    images = torch.rand(6, 4)
    order, fe = rank_completions(object(), images, groups=2)
    assert fe is None and order.tolist() == [[0, 1, 2], [0, 1, 2]]

    class Energy:
        def free_energy(self, v):
            return torch.tensor([3.0, float("nan"), 1.0, 2.0, 0.0, -1.0])

    order, fe = rank_completions(Energy(), images, groups=2)
    assert order.tolist() == [[2, 0, 1], [2, 1, 0]] and fe[0, 2] == float("inf")


def test_an_empty_mask_returns_the_image(engine):
    name = digit_rbm(engine)
    image = np.linspace(0, 1, 36, dtype=np.float32).reshape(6, 6)
    out, frames = frames_of(engine, inpaint, name, image, np.zeros((6, 6), bool), variations=2)
    np.testing.assert_array_equal(out["images"], np.stack([image, image]))
    np.testing.assert_array_equal(out["expected"], image)


def test_the_expected_completion_averages_every_variation_over_the_second_half(engine):
    """``expected``: the chains' pixel means over steps 6..10 of 10 and over the 3 variations, known pixels
    exact; the frames the job shows are those means, so their average is the same number."""
    name = digit_rbm(engine)
    image = (np.random.default_rng(1).random((6, 6)) < 0.5).astype(np.float32)
    mask = np.zeros((6, 6), bool)
    mask[:, :3] = True
    out, frames = frames_of(engine, inpaint, name, image, mask, steps=10, variations=3, seed=2)
    assert out["expected"].shape == (6, 6)
    np.testing.assert_allclose(out["expected"], np.mean(frames[5:10], axis=(0, 1)), atol=1e-6)
    np.testing.assert_array_equal(out["expected"][~mask], image[~mask])


def test_a_bigger_image_is_fitted_to_the_model():
    image = np.zeros((12, 18), np.float32)
    image[:, :9] = 1.0
    mask = np.zeros((12, 18), bool)
    mask[:, 12:] = True  # the right third; at 6 x 6 its columns 4 and 5
    img, m = fit_image(image, mask, (6, 6))
    assert img.shape == m.shape == (6, 6)
    np.testing.assert_allclose(img[:, :3], 1.0)
    np.testing.assert_allclose(img[:, 3], 0.0)
    assert m[:, 4:].all() and not m[:, :4].any()
    with pytest.raises(ValueError, match="mask"):
        fit_image(image, mask[:, :5], (6, 6))


def test_the_image_shape_comes_from_the_data_and_a_sequence_model_is_refused(engine):
    name = digit_rbm(engine, (4, 9))
    assert engine.call(image_shape, name) == (4, 9)
    seq = engine.call(jobs.create_model, "rtrbm", {"n_visible": 36, "n_hidden": 4}, name="seq")["name"]
    with pytest.raises(JobError, match="sequences"):
        engine.call(image_shape, seq)


def test_retune_switches_a_trained_rbm_to_multi_prediction_and_keeps_its_weights(engine):
    """The fine-tune for inpainting: retune changes how the RBM learns, drops its optimiser state and chains,
    keeps its weights, and refuses options that would change what the weights mean; training then runs mp."""
    from engine.data import Dataset
    from engine.training.trainer import train

    name = digit_rbm(engine)
    rng = np.random.default_rng(0)
    empty = np.zeros((0, 36), np.float32)
    data = Dataset("bits", (rng.random((40, 36)) < 0.3).astype(np.float32), empty, empty, (6, 6))
    engine.submit(train, name, data, {"epochs": 1, "batch_size": 10}).result(timeout=60)
    W = engine.call(lambda ctx: ctx.registry[name].module.W.detach().clone())
    assert engine.call(lambda ctx: "optimizer" in ctx.registry[name].trainer)
    with pytest.raises(JobError, match="n_hidden cannot change"):
        engine.call(jobs.retune, name, {"n_hidden": 9})
    info = engine.call(jobs.retune, name, {"sampler": "mp", "k": 4})
    assert (info["config"]["sampler"], info["config"]["k"]) == ("mp", 4)
    entry = engine.call(lambda ctx: ctx.registry[name])
    assert "optimizer" not in entry.trainer and entry.module.chain_h is None and entry.dirty
    assert (entry.module.W == W).all()
    out = engine.submit(train, name, data, {"epochs": 2, "batch_size": 10}).result(timeout=60)
    assert out["step"] == 8 and not (entry.module.W == W).all()
