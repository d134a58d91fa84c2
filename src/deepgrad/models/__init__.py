"""The lectures' models, from the perceptron to ResNet, and a registry of them by name."""
from .classic import McCullochPitts, Perceptron, PerceptronFit
from .classic import McCullochPitts, Perceptron, PerceptronFit
from .mlp import MLP, LinearSVM, LogisticRegression, SoftmaxRegression
from .registry import get_model, list_models, model_info, register_model
from .lenet import LeNet5, lenet5, lenet5_mnist, lenet5_relu
