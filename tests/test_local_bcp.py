"""Local Lipschitz bounds and LocalBCP (bench.bounds.local_lipschitz, bench.methods.local_bcp; Huang et al. 2021):
the reduced matrices' norms against explicit matrices with rows and columns deleted, soundness on sampled points of
the ball, and the training loss on a tiny model."""
import pytest
import torch
from torch import nn

from bench.bounds import margin_bounds
from bench.bounds.bcp import ball_and_box, sound_norm
from bench.bounds.lipschitz import spectral_upper_bound
from bench.bounds.local_lipschitz import masked_exact_norm, masked_power_norm, relu_masks
from bench.bounds.network import Ball, BoundedNet
from bench.methods import get_method
from test_bcp import sample_ball, small_net
from test_l2_methods import context, tiny_model
from test_lipschitz import CONVS, explicit_matrix


def random_masks(generator, batch, in_shape, out_shape):
    return ((torch.rand(batch, *in_shape, generator=generator) > 0.4).float(),
            (torch.rand(batch, *out_shape, generator=generator) > 0.4).float())


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,size", CONVS)
def test_the_exact_masked_norm_is_the_norm_of_the_matrix_with_rows_and_columns_deleted(cin, cout, kernel, stride,
                                                                                       padding, size):
    torch.manual_seed(0)
    conv, shape = nn.Conv2d(cin, cout, kernel, stride, padding), (cin, size, size)
    generator = torch.Generator().manual_seed(1)
    out_shape = conv(torch.zeros(1, *shape)).shape[1:]
    in_mask, out_mask = random_masks(generator, 3, shape, out_shape)
    norms = masked_exact_norm()(conv, shape, in_mask, out_mask)
    matrix = explicit_matrix(conv, shape).double()
    for k in range(3):
        reduced = matrix[out_mask[k].flatten().bool()][:, in_mask[k].flatten().bool()]
        assert float(norms[k]) == pytest.approx(float(torch.linalg.matrix_norm(reduced, ord=2)), rel=1e-9)
        assert float(norms[k]) <= float(spectral_upper_bound(conv, shape)) + 1e-9
    fallback = masked_exact_norm(dense_limit=1)(conv, shape, in_mask, out_mask)  # too large: the global bound
    assert torch.equal(fallback, spectral_upper_bound(conv, shape).expand(3))


def test_power_steps_on_the_reduced_matrix_approach_its_norm_from_below_and_train_the_weights():
    torch.manual_seed(1)
    conv, shape = nn.Conv2d(2, 3, 3, 2, 1), (2, 7, 7)
    in_mask, out_mask = random_masks(torch.Generator().manual_seed(2), 4, shape, (3, 4, 4))
    exact = masked_exact_norm()(conv, shape, in_mask, out_mask).float()
    few = masked_power_norm(2)(conv, shape, in_mask, out_mask)
    many = masked_power_norm(500)(conv, shape, in_mask, out_mask)
    assert (few <= exact + 1e-5).all() and (few < exact - 1e-4).any()
    assert torch.allclose(many, exact, rtol=1e-4)
    many.sum().backward()
    assert conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("eps", [0.3, 1.0])
@pytest.mark.parametrize("normalize", [False, True])
def test_local_bcp_holds_for_ten_thousand_sampled_points_and_is_at_least_bcp(eps, normalize):
    model = small_net(7, normalize)
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    y = model(x).argmax(1)
    local = margin_bounds(model, x, y, eps, "local_bcp", "l2").detach()
    bcp = margin_bounds(model, x, y, eps, "bcp", "l2").detach()
    assert (local >= bcp - 1e-6).all() and (local > bcp + 1e-4).any()

    net, boxes = BoundedNet(model), []
    ball_and_box(net, Ball(x, eps, "l2"), sound_norm(net), boxes)
    masks = relu_masks(net, boxes)
    generator = torch.Generator().manual_seed(2)
    for k in range(len(x)):
        points = sample_ball(x[k], eps, 10_000, "l2", generator)
        h = points
        with torch.no_grad():
            for i, layer in enumerate(model):
                if i in masks:  # a removed neuron's input is <= 0 everywhere on the ball
                    assert (h[:, masks[i][k] == 0] <= 1e-5).all()
                h = layer(h)
        sampled = h[:, y[k]:y[k] + 1] - h
        assert (sampled >= local[k] - 1e-5).all()


def test_local_bcp_trains_every_weight_and_is_registered_for_l2_balls_only():
    model, method = tiny_model(3), get_method("local_bcp")
    assert method.certifiers == ("local_bcp",) and method.norms == ("l2",) and method.power_iterations == 2
    x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 0, 1])
    loss = method.loss(model, x, y, context(ramp=1.0))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    bcp_loss = get_method("bcp", {"power_iterations": 2}).loss(tiny_model(3), x, y, context(ramp=1.0))
    assert loss.item() < bcp_loss.item()  # the local radius is at most the global one, here smaller
