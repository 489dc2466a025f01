"""The mixed objective of thesis eq. C.1.1 (bench.methods.schedules) at the end of the kappa schedule."""
import torch
import torch.nn.functional as F

from bench.bounds import margin_bounds, robust_logits
from bench.data import dataset_spec
from bench.methods import TrainContext, get_method
from bench.models import build_model

SPEC = dataset_spec("digits_rgb8")


def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.rand(16, *SPEC.shape, generator=generator), torch.arange(16) % SPEC.num_classes


def context():
    return TrainContext(0, 1, torch.Generator().manual_seed(0), eps=8 / 255, ramp=1.0)


def test_at_kappa_zero_the_loss_is_the_robust_term_alone():
    torch.manual_seed(0)
    model, (x, y) = build_model("small", SPEC).train(), batch()
    margins = margin_bounds(model, x, y, 8 / 255, "ibp")
    expected = F.cross_entropy(robust_logits(margins), y)
    assert torch.equal(get_method("ibp").loss(model, x, y, context()), expected)


def test_at_kappa_zero_batchnorm_running_statistics_still_follow_the_clean_batch():
    torch.manual_seed(0)
    model, (x, y) = build_model("small_bn", SPEC).train(), batch()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    before = [m.running_mean.clone() for m in norms]
    get_method("ibp").loss(model, x, y, context())
    assert norms and all(not torch.equal(m.running_mean, old) for m, old in zip(norms, before))
