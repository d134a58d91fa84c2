"""The lectures' models, from the perceptron to ResNet, and a registry of them by name."""
from .mlp import MLP, LinearSVM, LogisticRegression, SoftmaxRegression
from .registry import get_model, list_models, model_info, register_model
