"""Lipschitz bounds of a ReLU network and of its logit differences (crm sec. 3 and Table 2): the naive product
bound and LipLT, the loop-transformation bound of crm Theorem 3.3, each for the whole net (L), for one logit
(L_i, GloRo's per-class constants) and for a logit difference z_i - z_j (L_ij, crm's "direct pairwise" bound).

The net is cut at its ReLUs into linear maps W_0, ..., W_L (each the composition of the affine layers between two
ReLUs, biases dropped: Linear, Conv2d, Flatten, Normalize, BatchNorm in eval mode, AvgPool2d). ReLU is slope-
restricted in [alpha, beta] = [0, 1], so with H_k = 0 and G_k = I crm eq. 19 reads, with W_{a..b} = W_a ... W_b,

    m_0 = ||W_0||,  m_{k+1} = 2^-(k+1) ||W_{k+1..0}|| + 1/2 sum_{j<=k} 2^-(k-j) ||W_{k+1..j+1}|| m_j,

and m_L bounds the net's Lipschitz constant (O(L^2) norms of products, against the naive bound's L norms of
factors). For z_i - z_j the last map W_L is replaced by its row difference (W_L)_i - (W_L)_j, whose products'
norms are vector norms, exact from one adjoint pass for every pair at once.

Norms of products: ``norm="exact"`` gives guaranteed bounds for certificates: the exact largest singular value
(float64 SVD) of the product's dense matrix when it has at most ``DENSE_LIMIT`` entries, else the product of its
layers' guaranteed bounds (``bench.bounds.lipschitz.l2_lipschitz_bound``), with which LipLT never exceeds naive.
``norm="power"`` takes ``iterations`` power steps (an estimate from below, differentiable: training).
"""
from __future__ import annotations

import math
import weakref

import torch
from torch import nn

from bench.bounds.layers import Normalize, UnsupportedLayer, flatten_layers, linear_part
from bench.bounds.linear import identity_rows
from bench.bounds.lipschitz import l2_lipschitz_bound

DENSE_LIMIT = 1 << 24
ROWS_MEMORY = 2**30  # bytes: rows of a pairwise bound passed at once without gradients (certificates)
LINEAR = (nn.Linear, nn.Conv2d, nn.Flatten, Normalize, nn.AvgPool2d, nn.modules.batchnorm._BatchNorm)


class LinearMap:
    """Consecutive affine layers without their biases, as a linear map on inputs of ``shape``."""

    def __init__(self, layers: list[nn.Module], shape: tuple[int, ...]):
        for layer in layers:
            if not isinstance(layer, LINEAR) or (isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.training):
                mode = " in training mode" if isinstance(layer, nn.modules.batchnorm._BatchNorm) else ""
                raise UnsupportedLayer(f"LipLT cannot bound {type(layer).__name__}{mode}: it bounds ReLU nets of "
                                       "Linear, Conv2d, Flatten, Normalize, AvgPool2d and BatchNorm in eval mode")
        self.layers, self.shape = layers, tuple(shape)
        self.shapes = [self.shape]
        with torch.no_grad():
            v = torch.zeros((1, *shape), device=self._device())
            for layer in layers:
                v = linear_part(layer, v)
                self.shapes.append(tuple(v.shape[1:]))

    def _device(self):
        return next((p.device for layer in self.layers for p in layer.parameters()), torch.device("cpu"))

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            v = linear_part(layer, v)
        return v

    def sound_norm(self) -> torch.Tensor:
        return math.prod(l2_lipschitz_bound(layer, shape).double() for layer, shape in zip(self.layers, self.shapes))


def linear_maps(model: nn.Module, input_shape: tuple[int, ...]) -> list[LinearMap]:
    """W_0, ..., W_L: the net cut at its ReLUs; refuses any other nonlinearity, naming it."""
    groups, current = [], []
    for layer in flatten_layers(model):
        if isinstance(layer, nn.ReLU):
            groups.append(current)
            current = []
        else:
            current.append(layer)
    groups.append(current)
    maps, shape = [], tuple(input_shape)
    for layers in groups:
        maps.append(LinearMap(layers, shape))
        shape = maps[-1].shapes[-1]
    return maps


def _compose(maps: list[LinearMap]):
    def apply(v):
        for linear in maps:
            v = linear(v)
        return v
    return apply


def dense_product(maps: list[LinearMap]) -> torch.Tensor:
    """W_b ... W_a as an (outputs, inputs) float64 matrix, from its narrower side: the adjoint's response to each
    output basis vector, or the map's to each input one, in chunks sized to ROWS_MEMORY (Tiny-ImageNet's 12,288
    input basis images through a 64 x 64 x 64 layer took 26 GB at once)."""
    inputs, outputs = math.prod(maps[0].shape), math.prod(maps[-1].shapes[-1])
    apply, device = _compose(maps), maps[0]._device()
    like = torch.empty(0, dtype=torch.float64, device=device)
    chunk = _rows_per_pass(maps, like.element_size())
    with torch.no_grad():
        if outputs <= inputs:
            return torch.cat([_adjoint(apply, identity_rows(start, min(start + chunk, outputs), outputs, like),
                                       maps[0].shape, device).flatten(1) for start in range(0, outputs, chunk)])
        return torch.cat([apply(identity_rows(start, min(start + chunk, inputs), inputs, like).reshape(
            -1, *maps[0].shape)).flatten(1) for start in range(0, inputs, chunk)]).T


def _rows_per_pass(maps: list[LinearMap], element_bytes: int) -> int:
    widest = max(math.prod(shape) for linear in maps for shape in linear.shapes)
    return max(1, ROWS_MEMORY // (3 * widest * element_bytes))


def product_norm(maps: list[LinearMap], norm: str, iterations: int = 50, rows: torch.Tensor | None = None):
    """||W_b ... W_a|| for ``maps`` = [W_a, ..., W_b]; with ``rows`` (R, outputs of W_b), the l2 norm of each
    ``rows[r] @ W_b ... W_a`` instead (R values, exact: one adjoint pass; ``rows``' own norms without maps)."""
    rows = rows.double() if rows is not None and norm == "exact" else rows
    if rows is not None and not maps:
        return rows.norm(dim=1)
    apply, shape = _compose(maps), maps[0].shape
    device = maps[0]._device()
    if rows is not None:
        # without gradients (certificates) the rows go in chunks sized to ROWS_MEMORY: Tiny-ImageNet's 19,900
        # pairs through a 64 x 64 x 64 layer would take 42 GB at once in float64
        differentiable = torch.is_grad_enabled() and norm != "exact"
        chunk = len(rows) if differentiable else _rows_per_pass(maps, rows.element_size())
        with torch.set_grad_enabled(differentiable):
            return torch.cat([_adjoint(apply, rows[start:start + chunk], shape, device).flatten(1).norm(dim=1)
                              for start in range(0, len(rows), chunk)])
    if norm == "exact":
        if math.prod(shape) * math.prod(maps[-1].shapes[-1]) > DENSE_LIMIT:
            return math.prod(linear.sound_norm() for linear in maps)
        return torch.linalg.matrix_norm(dense_product(maps), ord=2)
    v = torch.randn((1, *shape), generator=torch.Generator(device).manual_seed(0), device=device)
    for _ in range(iterations):
        with torch.no_grad():
            v = v.detach().requires_grad_()
            with torch.enable_grad():
                out = apply(v)
                (w,) = torch.autograd.grad(out, v, out)
            v = w / w.norm().clamp_min(1e-30)
    return apply(v.detach()).norm()


def _adjoint(apply, rows: torch.Tensor, shape, device) -> torch.Tensor:
    """rows @ W, shaped (R, *shape), for the linear map ``apply`` on inputs of ``shape``: one adjoint (autograd)
    pass, differentiable in the weights when gradients are on."""
    differentiable = torch.is_grad_enabled()
    v = torch.zeros((len(rows), *shape), device=device, dtype=rows.dtype, requires_grad=True)
    with torch.enable_grad():
        out = apply(v).flatten(1)
        (grad,) = torch.autograd.grad((out * rows).sum(), v, create_graph=differentiable)
    return grad


def pair_rows(last: nn.Linear, pairs: list[tuple[int, int]] | None = None) -> torch.Tensor:
    """Rows (W_L)_i - (W_L)_j of every pair (i < j by default), or (W_L)_i for pairs (i, None)."""
    weight = last.weight
    classes = weight.shape[0]
    pairs = pairs if pairs is not None else [(i, j) for i in range(classes) for j in range(i + 1, classes)]
    return torch.stack([weight[i] - (weight[j] if j is not None else 0) for i, j in pairs])


def naive_bound(maps: list[LinearMap], norm: str = "exact", *, rows=None, iterations: int = 50) -> torch.Tensor:
    """prod_k ||W_k||: the product of the maps' norms (the last one's rows' norms with ``rows``)."""
    inner = math.prod(product_norm([linear], norm, iterations) for linear in maps[:-1])
    return inner * (product_norm([], norm, rows=rows) if rows is not None else product_norm(maps[-1:], norm, iterations))


def liplt_bound(maps: list[LinearMap], norm: str = "exact", *, rows=None, iterations: int = 50) -> torch.Tensor:
    """m_L of crm eq. 19 for ReLU (alpha 0, beta 1): a Lipschitz constant of the net, or with ``rows`` one for
    each rows[r] @ z (a logit, or a logit difference)."""
    m = [product_norm(maps[:1], norm, iterations)]
    for k in range(len(maps) - 1):
        last = k + 1 == len(maps) - 1 and rows is not None

        def size(j):  # ||W_{k+1} ... W_j||; at the last map, of the rows in its place
            return product_norm(maps[j:k + 1], norm, iterations, rows) if last else \
                product_norm(maps[j:k + 2], norm, iterations)
        m.append(0.5 ** (k + 1) * size(0) + 0.5 * sum(0.5 ** (k - j) * size(j + 1) * m[j] for j in range(k + 1)))
    return m[-1]


def pairwise_constants(model: nn.Module, input_shape: tuple[int, ...], norm: str = "exact", bound: str = "liplt",
                       iterations: int = 50, last_layer_apart: bool = False) -> torch.Tensor:
    """(K, K) constants L_ij of every z_i - z_j (zero on the diagonal) by LipLT or the naive product (GloRo's
    K_ij), guaranteed with ``norm="exact"``, power-iteration estimates (differentiable) with ``"power"``. Each
    pair i < j is bounded once (L_ji = L_ij: the rows differ in sign only).

    ``last_layer_apart``: L_ij = ||(W_L)_i - (W_L)_j|| times the bound of the net below the last map, as the CRM
    authors' code does above 101 classes (their pairwiseClassLimit; looser, and far cheaper for 200 classes)."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    classes = last.out_features
    first, second = torch.triu_indices(classes, classes, 1).tolist()
    rows = pair_rows(last, list(zip(first, second)))
    of = liplt_bound if bound == "liplt" else naive_bound
    maps = linear_maps(model, input_shape)
    if last_layer_apart:
        below = of(maps[:-1], norm, iterations=iterations) if len(maps) > 1 else 1.0
        upper = product_norm([], norm, rows=rows) * below  # the rows stand in for W_L
    else:
        upper = of(maps, norm, rows=rows, iterations=iterations)
    constants = upper.new_zeros(classes, classes)
    constants[first, second] = upper
    constants[second, first] = upper
    return constants


def pairwise_radii(logits: torch.Tensor, y: torch.Tensor, constants: torch.Tensor) -> torch.Tensor:
    """(z_y - z_i) / L_yi for every class i, +inf at i = y: crm eq. 5 before its min over i."""
    gaps = logits.gather(1, y.unsqueeze(1)) - logits
    return (gaps / constants[y].clamp_min(1e-12)).scatter(1, y.unsqueeze(1), float("inf"))


_CERTIFICATE_CONSTANTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _certificate_constants(model: nn.Module, input_shape: tuple[int, ...], bound: str) -> torch.Tensor:
    """Guaranteed pairwise constants of ``model``, computed once per state of its weights: they do not depend on
    the input, and a certificate run asks for them at every batch (on Tiny-ImageNet 19,900 pairs). Any in-place
    change of a parameter or buffer (an optimizer step, load_state_dict) bumps its version: then they are
    computed again."""
    state = (input_shape, bound, tuple((t.data_ptr(), t._version) for t in (*model.parameters(), *model.buffers())))
    cached = _CERTIFICATE_CONSTANTS.get(model)
    if cached is None or cached[0] != state:
        cached = _CERTIFICATE_CONSTANTS[model] = (state, pairwise_constants(model, input_shape, bound=bound))
    return cached[1]


def liplt_margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: torch.Tensor, radius,
                  bound: str = "liplt") -> torch.Tensor:
    """Lower bounds on z_y - z_m over the l2 ball of ``radius``: z_y(x) - z_m(x) - L_ym radius (crm eqs. 4-5), with
    LipLT's L_ym or (``bound="naive"``) GloRo's."""
    constants = _certificate_constants(model, tuple(x.shape[1:]), bound).to(x.dtype)
    margins = torch.einsum("bmc,bc->bm", spec, model(x))
    return margins - constants[y] * radius
