"""``deepgrad.linalg``: the matrix functions PyTorch keeps in ``torch.linalg``.

>>> import deepgrad as dg
>>> A = dg.tensor([[4.0, 2.0], [2.0, 2.0]])
>>> L = dg.linalg.cholesky(A)
>>> (L @ L.mT).tolist()
[[4.0, 2.0], [2.0, 2.0]]
"""
from .ops.factorization import cholesky, solve_triangular
from .ops.linalg import matmul
from .ops.matrix import diagonal

__all__ = ["cholesky", "solve_triangular", "matmul", "diagonal"]
