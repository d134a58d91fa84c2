"""``deepgrad.data``: datasets, samplers, the DataLoader, transforms, splits, and named datasets.

Shaped like ``torch.utils.data`` (plus a little of torchvision), on NumPy only:

>>> import deepgrad as dg
>>> from deepgrad.data import DataLoader, get_dataset
>>> loader = DataLoader(get_dataset("mnist-sample", split="train"), batch_size=128, shuffle=True, generator=0)
>>> x, y = next(iter(loader))
>>> tuple(x.shape), y.dtype
((128, 1, 28, 28), dtype('int64'))
"""
from __future__ import annotations

from . import synthetic, transforms
from ._random import augmentation_rng
from .cifar import CIFAR10, read_cifar_binary
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (ArrayDataset, ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset)
from .download import ChecksumError, DownloadError, data_root, download_file
from .idx import IDXError, read_idx, write_idx
from .mnist import MNIST, MNIST_SAMPLE_SPLITS, FashionMNIST, MNISTSample
from .registry import DatasetInfo, dataset_info, get_dataset, list_datasets
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler
from .text import LanguageModelDataset, Vocabulary, python_docs_corpus
from .splits import KFold, StratifiedKFold, random_split, train_val_test_split
from .worker import WorkerInfo, get_worker_info
from .transforms import Compose, Lambda, Normalize, RandomCrop, RandomHorizontalFlip, RandomRotation, RandomShift, ToTensor

__all__ = ["Dataset", "IterableDataset", "ChainDataset", "StackDataset", "get_worker_info", "WorkerInfo",
           "ArrayDataset", "TensorDataset", "Subset", "ConcatDataset", "DataLoader", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "default_collate", "default_convert", "random_split", "KFold", "StratifiedKFold", "train_val_test_split",
           "transforms", "Compose", "ToTensor", "Normalize", "RandomCrop", "RandomShift", "RandomHorizontalFlip",
           "RandomRotation", "Lambda", "augmentation_rng", "synthetic", "read_idx", "write_idx", "IDXError",
           "MNISTSample", "MNIST", "FashionMNIST", "MNIST_SAMPLE_SPLITS", "CIFAR10", "read_cifar_binary",
           "download_file", "data_root", "DownloadError", "ChecksumError", "get_dataset", "list_datasets",
           "dataset_info", "DatasetInfo"]
