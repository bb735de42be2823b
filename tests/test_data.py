"""Datasets: MNIST, binarisation, the image folder, and the messages for missing or bad data."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.data import DataError, binarize, load_dataset
from engine.settings import ENV_DATA, data_root


def test_mnist_shapes_splits_and_binarisation(mnist_root):
    d = load_dataset({"name": "mnist", "valid": 1000})
    assert d.train.shape == (59000, 784) and d.valid.shape == (1000, 784) and d.test.shape == (10000, 784)
    assert d.train.dtype == np.float32 and set(np.unique(d.train[:100])) <= {0.0, 1.0}
    grey = load_dataset({"name": "mnist", "binarize": "none", "limit": 100})
    thr = load_dataset({"name": "mnist", "binarize": "threshold", "limit": 100})
    assert np.array_equal(thr.train, (grey.train > 0.5).astype(np.float32))
    assert 0 < grey.train.max() <= 1 and len(np.unique(grey.train)) > 2


def test_stochastic_binarisation_is_seeded_and_unbiased():
    x = np.full((200, 100), 0.3, np.float32)
    a, b = binarize(x, "stochastic", 1), binarize(x, "stochastic", 1)
    assert np.array_equal(a, b) and abs(a.mean() - 0.3) < 0.01


def test_data_root_order_flag_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_DATA, str(tmp_path / "env"))
    assert data_root(tmp_path / "flag") == tmp_path / "flag"
    assert data_root() == tmp_path / "env"


def test_missing_mnist_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset({"name": "mnist", "root": str(tmp_path)})
    msg = str(err.value)
    assert str(tmp_path / "mnist.npz") in msg and ENV_DATA in msg


def test_image_folder_loads_resizes_and_skips_unreadable_files(tmp_path):
    for i in range(5):
        img = np.zeros((40, 30), np.uint8)
        img[5 + i:20, 10:20] = 255
        Image.fromarray(img).save(tmp_path / f"im{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    d = load_dataset({"name": "folder", "path": str(tmp_path), "size": [16, 12], "test": 1})
    assert d.shape == (16, 12) and d.train.shape == (4, 192) and d.test.shape == (1, 192)
    assert d.spec["skipped"] == 1 and 0 <= d.train.min() and d.train.max() <= 1
    with pytest.raises(DataError, match="image folder not found"):
        load_dataset({"name": "folder", "path": str(tmp_path / "missing")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no readable images"):
        load_dataset({"name": "folder", "path": str(tmp_path / "empty")})


def test_unknown_dataset_is_refused():
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar")
