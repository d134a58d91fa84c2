"""Linear classifiers and the multi-layer perceptron.

* ``LogisticRegression``: p(y=1|x) = σ(wᵀx + b) for binary problems; with ``num_classes > 2`` it is the softmax
  (multinomial logistic) classifier p(y=k|x) = softmax(Wx + b)_k — trained with (binary) cross-entropy.
* ``LinearSVM``: the same linear scores s = Wx + b trained with the multiclass hinge loss
  Σ_{j≠y} max(0, s_j − s_y + Δ) (``nn.functional.multiclass_hinge_loss``).
* ``MLP(sizes)``: x → [Linear → activation] × (L−1) → Linear (→ output activation), of any depth.
"""
from __future__ import annotations

from .. import nn
from .registry import register_model

__all__ = ["MLP", "LogisticRegression", "SoftmaxRegression", "LinearSVM", "mlp", "logistic_regression"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
                "gelu": nn.GELU, "silu": nn.SiLU, "softplus": nn.Softplus, "identity": nn.Identity}


def _activation(a):
    if a is None:
        return None
    if isinstance(a, nn.Module):
        return a
    if isinstance(a, type) and issubclass(a, nn.Module):
        return a()
    if a not in _ACTIVATIONS:
        raise ValueError(f"MLP: unknown activation {a!r}; expected an nn.Module or one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[a]()


class MLP(nn.Sequential):
    """A multi-layer perceptron h_{l+1} = φ(W_l h_l + b_l) with the sizes given, e.g. ``MLP([784, 256, 10])``.

    Args:
        sizes: layer widths, input first and output last (at least two).
        activation: hidden non-linearity — a name ('relu', 'tanh', 'sigmoid', 'leaky_relu', 'elu', 'gelu', 'silu',
            'softplus', 'identity') or a Module (class or instance; an instance is copied per layer by class).
        output_activation: optional non-linearity after the last layer (None gives raw scores/logits).
        dropout: dropout probability after each hidden activation (0 disables).
        flatten: flatten (N, ...) inputs to (N, features) first, so images can be fed directly.
    """

    def __init__(self, sizes, activation="relu", output_activation=None, dropout: float = 0.0, flatten: bool = True):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"MLP: sizes must list at least two positive widths (input ... output), got {sizes}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        layers = [nn.Flatten()] if flatten else []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                act = _activation(activation)
                layers.append(type(act)() if isinstance(activation, nn.Module) and i > 0 else act)
                if dropout:
                    layers.append(nn.Dropout(dropout))
        out = _activation(output_activation)
        if out is not None:
            layers.append(out)
        super().__init__(*layers)
        self.sizes = sizes


class LogisticRegression(nn.Module):
    """Logistic regression: scores z = Wx + b; σ(z) for 2 classes (one output), softmax(z) for more.

    ``forward`` returns the logits (train with ``BCEWithLogitsLoss`` for ``num_classes=2`` or ``CrossEntropyLoss``
    otherwise); ``predict_proba`` returns probabilities.
    """

    def __init__(self, in_features: int, num_classes: int = 2) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"LogisticRegression: num_classes must be >= 2, got {num_classes}")
        self.num_classes = num_classes
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(in_features, 1 if num_classes == 2 else num_classes)

    def forward(self, x):
        z = self.linear(self.flatten(x))
        return z.squeeze(-1) if self.num_classes == 2 else z

    def predict_proba(self, x):
        z = self.forward(x)
        return z.sigmoid() if self.num_classes == 2 else z.softmax(-1)


class SoftmaxRegression(LogisticRegression):
    """The softmax classifier: multinomial logistic regression, p(y=k|x) = softmax(Wx + b)_k."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        if num_classes < 2:
            raise ValueError(f"SoftmaxRegression: num_classes must be >= 2, got {num_classes}")
        nn.Module.__init__(self)
        self.num_classes = num_classes
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.linear(self.flatten(x))


class LinearSVM(SoftmaxRegression):
    """A linear multiclass SVM: scores s = Wx + b, trained with the hinge loss Σ_{j≠y} max(0, s_j − s_y + Δ)."""


@register_model("mlp", input="flat", description="MLP 784-256-128-10 with ReLU and dropout",
                default_recipe={"optimizer": "adam", "lr": 1e-3, "epochs": 20, "batch_size": 64,
                                "weight_decay": 0.0, "augment": True, "shift": 2, "loss": "cross_entropy"})
def mlp(in_features: int = 784, num_classes: int = 10, hidden=(256, 128), in_channels: int | None = None,
        dropout: float = 0.2, **_) -> MLP:
    """MLP 784-256-128-10 with ReLU (the lectures' MNIST MLP, one more hidden layer)."""
    return MLP([in_features, *hidden, num_classes], dropout=dropout)


@register_model("logistic", input="flat", description="softmax (multinomial logistic) regression",
                default_recipe={"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "epochs": 10, "batch_size": 64,
                                "loss": "cross_entropy"})
def logistic_regression(in_features: int = 784, num_classes: int = 10, **_) -> SoftmaxRegression:
    """Softmax (multinomial logistic) regression on flattened inputs."""
    return SoftmaxRegression(in_features, num_classes)


@register_model("linear-svm", input="flat", description="linear multiclass SVM (Weston-Watkins hinge loss)",
                default_recipe={"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "epochs": 10, "batch_size": 64,
                                "loss": "multiclass_hinge"})
def linear_svm(in_features: int = 784, num_classes: int = 10, **_) -> LinearSVM:
    """Linear multiclass SVM trained with the multiclass hinge loss."""
    return LinearSVM(in_features, num_classes)
