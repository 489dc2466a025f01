"""Model registry: shapes, normalisation in the model, and parameter counts the papers state."""
import pytest
import torch

from bench.data import dataset_spec
from bench.models import MODELS, build_model, count_parameters


@pytest.mark.parametrize("name, millions", [("resnet110", 1.7), ("resnet20", 0.27)])
def test_cifar_resnet_parameter_counts_match_he_et_al(name, millions):
    # He et al. (2016), Table 6: ResNet-20 has 0.27M parameters, ResNet-110 1.7M.
    count = count_parameters(build_model(name, dataset_spec("cifar10")))
    assert round(count / 1e6, 2 if millions < 1 else 1) == millions


def test_resnet50_has_the_25_6_million_parameters_of_he_et_al():
    assert round(count_parameters(build_model("resnet50", dataset_spec("imagenet"))) / 1e6, 1) == 25.6


@pytest.mark.parametrize("name, dataset", [(m, d) for m in MODELS if m != "graddiv_stl10"  # STL10's 96 x 96 only
                                           for d in ("digits_as_cifar10", "cifar10")] + [("cnn_small", "digits")])
def test_models_map_pixels_to_class_logits(name, dataset):
    spec = dataset_spec(dataset)
    logits = build_model(name, spec).eval()(torch.rand(2, *spec.shape))
    assert logits.shape == (2, spec.num_classes)


def test_normalisation_is_the_first_layer():
    model = build_model("cnn_small", dataset_spec("cifar10"))
    x = torch.full((1, 3, 32, 32), 0.4914)
    assert torch.allclose(model[0](x)[0, 0], torch.zeros(32, 32), atol=1e-6)


def test_medium_is_4c3f_and_cnn7_has_batchnorm():
    spec = dataset_spec("cifar10")
    medium, c4f3 = build_model("medium", spec), build_model("4c3f", spec)
    assert [tuple(p.shape) for p in medium.parameters()] == [tuple(p.shape) for p in c4f3.parameters()]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in build_model("cnn7", spec).modules())


@pytest.mark.parametrize("model, dataset, printed", [("4c3f", "mnist", 1_974_762), ("4c3f", "cifar10", 2_466_858),
                                                     ("6c2f", "cifar10", 2_250_378), ("wrn", "cifar10", 4_214_850),
                                                     ("8c2f", "tinyimagenet", 4_342_984)])
def test_bcp_architectures_have_the_parameter_counts_of_thesis_table_3_2(model, dataset, printed):
    assert count_parameters(build_model(model, dataset_spec(dataset))) == printed


@pytest.mark.parametrize("model, unpadded", [("8c2f", [2, 5, 7]), ("8c2f_crm", [1, 2, 5, 7])])
def test_8c2f_and_crms_variant_differ_only_in_padding_and_keep_the_neuron_counts(model, unpadded):
    net = build_model(model, dataset_spec("tinyimagenet"))
    assert count_parameters(net) == 4_342_984 and net(torch.zeros(1, 3, 64, 64)).shape == (1, 200)
    paddings = [layer.padding for layer in net.modules() if isinstance(layer, torch.nn.Conv2d)]
    assert [i for i, padding in enumerate(paddings) if padding == (0, 0)] == unpadded  # 8C2F: C(64,4,2), ...


@pytest.mark.parametrize("model, dataset, convolutions, pools", [("graddiv_mnist", "mnist", 3, 2),
                                                                 ("vgg16", "cifar10", 13, 5),
                                                                 ("graddiv_stl10", "stl10", 6, 4)])
def test_the_networks_of_thesis_app_a11_have_their_layers_and_classify_their_datasets(model, dataset, convolutions,
                                                                                      pools):
    spec = dataset_spec(dataset)
    net = build_model(model, spec)
    layers = list(net.modules())
    assert sum(isinstance(m, torch.nn.Conv2d) for m in layers) == convolutions
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in layers) == pools
    assert net(torch.zeros(2, *spec.shape)).shape == (2, 10)
    if model == "vgg16":  # the CIFAR VGG-16 with BatchNorm of Liu et al.'s code: 13 convolutions and one linear layer
        assert count_parameters(net) == 14_728_266
    with pytest.raises(ValueError, match="32 x 32"):
        build_model("vgg16", dataset_spec("digits_rgb8"))
    with pytest.raises(ValueError, match="80 x 80"):
        build_model("graddiv_stl10", dataset_spec("cifar10"))
