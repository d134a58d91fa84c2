"""``deepgrad.utils.data`` is ``deepgrad.data`` under PyTorch's import path."""
import importlib

import deepgrad
import deepgrad.data


def test_utils_data_is_the_data_module():
    from deepgrad.utils.data import DataLoader, Dataset, TensorDataset, random_split

    assert importlib.import_module("deepgrad.utils.data") is deepgrad.data
    assert deepgrad.utils.data is deepgrad.data
    assert (DataLoader, Dataset, TensorDataset, random_split) == (
        deepgrad.data.DataLoader, deepgrad.data.Dataset, deepgrad.data.TensorDataset, deepgrad.data.random_split)


def test_utils_reachable_as_an_attribute_after_import_deepgrad():
    mod = importlib.import_module("deepgrad")
    assert mod.utils.data is deepgrad.data
