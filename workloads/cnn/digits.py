"""The ``digits`` CNN: trained on scikit-learn's bundled 8x8 digits with a small numpy trainer.

Architecture (input ``1x1x8x8``, pixels scaled from 0..16 to [0, 1]):
conv3x3 pad 1 (8) - relu - maxpool - conv3x3 pad 1 (16) - relu - maxpool - flatten - gemm 10.

Data split: a permutation of the 1797 samples seeded with :data:`SPLIT_SEED`; the first
:data:`N_TRAIN` are the training set, the remaining 397 the held-out set.

Training (:func:`train_digits`): float64 numpy forward/backward, softmax cross-entropy, Adam
(lr 0.01), minibatches of 32 in a seeded order, :data:`EPOCHS` epochs, He-normal init from a
fixed seed; under two seconds on one core. The trained weights are committed as float32 in
``digits_weights.npz`` next to this file; regenerate them with ``python -m
workloads.cnn.digits``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WEIGHTS_PATH = Path(__file__).with_name("digits_weights.npz")
SPLIT_SEED = 0
TRAIN_SEED = 1
N_TRAIN = 1400
EPOCHS = 15
BATCH = 32
LR = 0.01
TENSORS = ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias")


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_heldout, y_heldout)``; x float32 ``(n, 1, 8, 8)`` in [0, 1]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None, :, :]
    y = data.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    tr, ho = perm[:N_TRAIN], perm[N_TRAIN:]
    return x[tr], y[tr], x[ho], y[ho]


# -- numpy layers (NCHW, 3x3 kernels, pad 1, stride 1) -----------------------------------------
def _im2col(x: np.ndarray) -> np.ndarray:
    """``(n, c, h, w)`` -> ``(n, c * 9, h * w)``; row ``c * 9 + ky * 3 + kx``."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, c, 9, h, w), dtype=x.dtype)
    for ky in range(3):
        for kx in range(3):
            cols[:, :, ky * 3 + kx] = xp[:, :, ky:ky + h, kx:kx + w]
    return cols.reshape(n, c * 9, h * w)


def _col2im(cols: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    n, c, h, w = shape
    cols = cols.reshape(n, c, 9, h, w)
    xp = np.zeros((n, c, h + 2, w + 2), dtype=cols.dtype)
    for ky in range(3):
        for kx in range(3):
            xp[:, :, ky:ky + h, kx:kx + w] += cols[:, :, ky * 3 + kx]
    return xp[:, :, 1:-1, 1:-1]


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, _, h, w = x.shape
    cols = _im2col(x)
    out = np.matmul(weight.reshape(weight.shape[0], -1), cols) + bias[None, :, None]
    return out.reshape(n, weight.shape[0], h, w), cols


def _conv_back(dout: np.ndarray, cols: np.ndarray, weight: np.ndarray,
               x_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, c_out = dout.shape[:2]
    d = dout.reshape(n, c_out, -1)
    w2 = weight.reshape(c_out, -1)
    dw = np.einsum("nop,nkp->ok", d, cols).reshape(weight.shape)
    db = d.sum(axis=(0, 2))
    dx = _col2im(np.matmul(w2.T, d), x_shape)
    return dx, dw, db


def _pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        n, c, h // 2, w // 2, 4)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], arg


def _pool_back(dout: np.ndarray, arg: np.ndarray) -> np.ndarray:
    n, c, h2, w2 = dout.shape
    win = np.zeros((n, c, h2, w2, 4), dtype=dout.dtype)
    np.put_along_axis(win, arg[..., None], dout[..., None], axis=-1)
    return win.reshape(n, c, h2, w2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h2 * 2, w2 * 2)


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The float logits ``(n, 10)`` of the network (same maths as the ONNX graph)."""
    return _forward(params, x.astype(np.float64))[0]


def _forward(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, tuple]:
    z1, cols1 = _conv(x, params["conv1.weight"], params["conv1.bias"])
    a1 = np.maximum(z1, 0.0)
    p1, arg1 = _pool(a1)
    z2, cols2 = _conv(p1, params["conv2.weight"], params["conv2.bias"])
    a2 = np.maximum(z2, 0.0)
    p2, arg2 = _pool(a2)
    f = p2.reshape(len(x), -1)
    logits = f @ params["fc.weight"].T + params["fc.bias"]
    return logits, (x, cols1, z1, arg1, p1, cols2, z2, arg2, f)


def _grads(params: dict[str, np.ndarray], x: np.ndarray,
           y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    logits, (x, cols1, z1, arg1, p1, cols2, z2, arg2, f) = _forward(params, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(shifted)
    prob /= prob.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.mean(np.log(prob[np.arange(n), y] + 1e-12)))
    dlogits = prob
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    g = {"fc.weight": dlogits.T @ f, "fc.bias": dlogits.sum(axis=0)}
    dp2 = (dlogits @ params["fc.weight"]).reshape(p1.shape[0], -1, 2, 2)
    dz2 = _pool_back(dp2, arg2) * (z2 > 0)
    dp1, g["conv2.weight"], g["conv2.bias"] = _conv_back(dz2, cols2, params["conv2.weight"],
                                                         p1.shape)
    dz1 = _pool_back(dp1, arg1) * (z1 > 0)
    _, g["conv1.weight"], g["conv1.bias"] = _conv_back(dz1, cols1, params["conv1.weight"],
                                                       x.shape)
    return loss, g


def init_params(seed: int = TRAIN_SEED) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

    return {
        "conv1.weight": he((8, 1, 3, 3), 9), "conv1.bias": np.zeros(8),
        "conv2.weight": he((16, 8, 3, 3), 72), "conv2.bias": np.zeros(16),
        "fc.weight": he((10, 64), 64) / np.sqrt(2.0), "fc.bias": np.zeros(10),
    }


def accuracy(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(forward(params, x).argmax(axis=1) == y))


def train_digits(epochs: int = EPOCHS, seed: int = TRAIN_SEED) -> dict[str, np.ndarray]:
    """Train the digits CNN from scratch, deterministically; float32 weights by tensor name."""
    x_tr, y_tr, _, _ = load_split()
    x_tr = x_tr.astype(np.float64)
    params = init_params(seed)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    order_rng = np.random.default_rng(seed + 1)
    step = 0
    for _ in range(epochs):
        order = order_rng.permutation(len(y_tr))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            _, g = _grads(params, x_tr[idx], y_tr[idx])
            step += 1
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * g[k]
                v[k] = beta2 * v[k] + (1 - beta2) * g[k] ** 2
                m_hat = m[k] / (1 - beta1**step)
                v_hat = v[k] / (1 - beta2**step)
                params[k] = params[k] - LR * m_hat / (np.sqrt(v_hat) + eps)
    return {k: params[k].astype(np.float32) for k in TENSORS}


def save_weights(params: dict[str, np.ndarray], path: Path = WEIGHTS_PATH) -> None:
    np.savez(path, **{k: params[k].astype(np.float32) for k in TENSORS})


def load_weights(path: Path = WEIGHTS_PATH) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k].astype(np.float32) for k in TENSORS}


def main() -> None:
    params = train_digits()
    save_weights(params)
    _, _, x_ho, y_ho = load_split()
    print(f"wrote {WEIGHTS_PATH}; held-out accuracy {accuracy(params, x_ho, y_ho):.4f}")


if __name__ == "__main__":
    main()
