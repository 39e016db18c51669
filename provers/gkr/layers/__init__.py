"""One module per layer kind; each has ``prove`` and ``verify`` reducing a claim on the layer's
output to claims on its inputs. ``REDUCTIONS`` maps a layer kind to its module."""

from provers.gkr.layers import add, hadamard, matmul, rearrange, requant, scale

REDUCTIONS = {
    "hadamard": hadamard,
    "rearrange": rearrange,
    "requant": requant,
    "matmul": matmul,
    "add": add,
    "add_bias": add,
    "add_const": add,
    "scale": scale,
}
