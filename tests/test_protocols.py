"""Protocol conformance: every paper-scale training protocol, setting by setting, against the sentence of the
paper (or the reference code) it comes from. A later edit of config/config.yaml cannot drift silently: change a
value here only together with the quote that justifies it. Choices the papers leave open are listed in the
config's comments, not here."""
import pytest
import yaml

from bench.data import dataset_spec
from bench.protocols import resolve_protocol, split_variant, variant_name
from bench.train import TrainSettings
from conftest import REPO, SHARED

THESIS = "lee_thesis_heuristic_to_certified_2021.txt"
SHI_CODE = "Shi et al. (2021) code, shizhouxing/Fast-Certified-Robust-Training"
SAC = "sac_shrink_and_cert_2023.txt"
COHEN_CODE = "Cohen et al. (2019) code, locuslab/smoothing, train.py defaults"
BCP_CODE = "Lee et al. (2020) code, sungyoon-lee/bcp, utils.argparser defaults"
DUET = "duet_vanilla_model_guide.txt"
CRM = "crm_liplt_dynamic_margin_2023.txt"
CRM_CODE = "Fazlyab et al. (2023) code, o4lc/CRM-LipLT"
LOCAL_LIP_CODE = "Huang et al. (2021) code, yjhuangcd/local-lipschitz"
CAP_CODE = "Wong et al. (2018) code, locuslab/convex_adversarial, examples' run script"


def after_ramp(warmup: int, rampup: int, epochs: int) -> tuple[int, ...]:
    """'by 2x every 10 epochs after the ramp-up period': first halving 10 epochs after the ramp's end, as the
    thesis' ref. [78] (CROWN-IBP) code counts its StepLR from the end of the eps schedule."""
    return tuple(range(warmup + rampup + 10, epochs, 10))


# (section, protocol, method or None for the shared settings, expected settings, source, quote)
PROTOCOLS = [
    ("train_linf", "mnist", None, {"epochs": 200, "warmup_epochs": 10, "rampup_epochs": 50, "batch_size": 100},
     THESIS, "For MNIST, we use the same hyper-parameters as in Appendix C of [78]. We train for 200 epochs "
             "(10 warm-up epochs and 50 ramp-up epochs) on **Large** model with batch sizes of 100."),
    ("train_linf", "mnist", None, {"lr": 0.0005, "lr_milestones": (130, 190), "lr_gamma": 0.1}, THESIS,
     "we decay the learning rate, 0.0005, by 10% in [130,190] epochs."),
    ("train_linf", "cifar10", None, {"epochs": 400, "warmup_epochs": 20, "rampup_epochs": 240, "batch_size": 128},
     THESIS, "For CIFAR-10, we train for 400 epochs (20 warm-up epochs and 240 ramp-up epochs) on **Medium** model "
             "with batch sizes of 128."),
    ("train_linf", "cifar10", None, {"lr": 0.003, "lr_gamma": 0.5, "lr_milestones": after_ramp(20, 240, 400)},
     THESIS, "We decay the learning rate, 0.003, by $2\\times$ every 10 epochs after the ramp-up period."),
    ("train_linf", "svhn", None, {"epochs": 200, "warmup_epochs": 10, "rampup_epochs": 120, "batch_size": 128},
     THESIS, "For SVHN, we train for 200 epochs (10 warm-up epochs and 120 ramp-up epochs) on **Large** model with "
             "batch sizes of 128"),
    ("train_linf", "svhn", "ours", {"batch_size": 80}, THESIS, "(OURS with batch sizes of 80 to avoid out of memory)"),
    ("train_linf", "svhn", "ours_kappa0", {"batch_size": 80}, THESIS,
     "(OURS with batch sizes of 80 to avoid out of memory)"),
    ("train_linf", "svhn", None, {"lr": 0.0003, "lr_gamma": 0.5, "lr_milestones": after_ramp(10, 120, 200)},
     THESIS, "We decay the learning rate, 0.0003, by $2\\times$ every 10 epochs after the ramp-up period."),
    ("train_linf", "svhn", None, {"normalize": True}, THESIS,
     "Only for SVHN, we apply normalization with mean (0.438, 0.444, 0.473) and standard deviation (0.198, 0.201, "
     "0.197) for each channel."),
    ("train_linf", "mnist", None, {"normalize": False}, THESIS, "Only for SVHN, we apply normalization"),
    ("train_linf", "cifar10", None, {"normalize": False}, THESIS, "Only for SVHN, we apply normalization"),
    *[("train_linf", protocol, "cap", {"batch_size": 32, "normalize": False}, THESIS,
       "because CAP does not support the channel-wise normalization, we could not use the input normalization. "
       "Also, due to the memory limit of CAP, we use a smaller batch size of 32")
      for protocol in ("mnist", "cifar10", "svhn", "fig3_6")],
    *[("train_linf", protocol, "cap", {"options": {"projections": 50}}, THESIS,
       "but with a batch size of 32 for CAP due to its high memory cost. For CAP, we use random projection of 50 "
       "dimensions.") for protocol in ("mnist", "cifar10", "svhn", "fig3_6")],
    ("train_linf", "fig3_6", None, {"epochs": 200, "warmup_epochs": 10, "rampup_epochs": 120, "optimizer": "adam",
                                    "lr": 0.001}, THESIS,
     "We train the model with $\\epsilon_{train} = 8/255$ for 200 epochs using ϵ_t -scheduling with 10 warm-up "
     "epochs and 120 ramp-up epochs. We use Adam optimizer with learning rate 0.001."),
    ("train_linf", "fig3_6", None, {"lr_gamma": 0.5, "lr_milestones": after_ramp(10, 120, 200)}, THESIS,
     "We reduce the learning rate by 50% every 10 epochs after ϵ_t -scheduling ends."),
    ("train_linf", "fig3_6", None, {"normalize": False}, THESIS, "Only for SVHN, we apply normalization"),
    ("train_linf", "shi_mnist", None, {"normalize": False, "augment": "none"}, SHI_CODE,
     "datasets.py: mean, std = torch.tensor([0.0]), torch.tensor([1.0]); transform=transforms.ToTensor()"),
    ("train_linf", "shi_cifar10", None, {"normalize": True, "augment": "flip_crop2_edge"}, SHI_CODE,
     "datasets.py: transforms.RandomHorizontalFlip(), transforms.RandomCrop(32, 2, padding_mode='edge'), "
     "transforms.ToTensor(), normalize"),
    ("train_linf", "shi_mnist", None, {"grad_clip": 10.0, "optimizer": "adam", "lr": 0.0005}, SHI_CODE,
     "README / train.py: --grad-norm 10, Adam, --lr 5e-4"),
    ("train_linf", "shi_cifar10", None, {"grad_clip": 10.0, "optimizer": "adam", "lr": 0.0005}, SHI_CODE,
     "README / train.py: --grad-norm 10, Adam, --lr 5e-4"),
    ("train", "cifar10", "cohen", {"epochs": 90, "lr": 0.1, "lr_step_epochs": 30, "lr_gamma": 0.1, "momentum": 0.9,
                                   "weight_decay": 1e-4, "normalize": True, "augment": "crop4_flip"}, COHEN_CODE,
     "--epochs 90 --lr 0.1 --lr_step_size 30 --gamma 0.1 --momentum 0.9 --weight-decay 1e-4; "
     "RandomCrop(32, padding=4), RandomHorizontalFlip(); the model's first layer normalises"),
    ("train", "imagenet", "cohen", {"epochs": 90, "lr": 0.1, "lr_step_epochs": 30, "lr_gamma": 0.1,
                                    "augment": "resized_crop_flip"}, COHEN_CODE,
     "--epochs 90 --lr 0.1 --lr_step_size 30 --gamma 0.1; RandomSizedCrop(224), RandomHorizontalFlip()"),
    ("train", "cifar10", "sac", {"batch_size": 128, "optimizer": "sgd"}, SAC,
     "To train 4C3F and ResNet-110 on CIFAR-10 using SaC, we use a batch size of 128, SGD optimizer"),
    ("train", "cifar10", "sac", {"epochs": 100}, SAC, "We train both networks for 100 epochs."),
    ("train", "cifar10", "sac", {"lr": 0.1, "lr_schedule": "cosine", "weight_decay": 1e-4, "momentum": 0.9}, SAC,
     "we use a learning rate of 0.1 and *cosine* schedule with weight decay of $1e-4$ and momentum of 0.9."),
    ("train_linf", "sac_cifar10", "sac_linf", {"batch_size": 128, "optimizer": "sgd"}, SAC,
     "To train 4C3F and ResNet-110 on CIFAR-10 using SaC, we use a batch size of 128, SGD optimizer"),
    ("train_linf", "sac_cifar10", "sac_linf", {"epochs": 100, "lr": 0.1, "lr_schedule": "cosine"}, SAC,
     "We train both networks for 100 epochs."),
    ("train_linf", "bcp_mnist", None, {"batch_size": 50}, THESIS,
     "we use the same batch size for both methods as 50 on MNIST and CIFAR-10"),
    ("train_linf", "bcp_mnist", None, {"optimizer": "adam", "epochs": 60, "lr": 0.0003, "warmup_epochs": 1,
                                       "rampup_epochs": 20, "lr_milestones": (21, 30, 40), "lr_gamma": 0.1}, THESIS,
     "MNIST (28,28) 10 Adam $\\gamma = 0.1$ 60 0.0003 1/20 [21,30,40]"),
    ("train_linf", "bcp_mnist", "bcp", {"options": {"iterations": 10}}, THESIS,
     "used 10 iterations for the optimization (3.2.11) during training on MNIST"),
    ("train_linf", "bcp_cifar10", None, {"batch_size": 50}, THESIS,
     "we use the same batch size for both methods as 50 on MNIST and CIFAR-10"),
    ("train_linf", "bcp_cifar10", None, {"optimizer": "adam", "lr": 0.001, "warmup_epochs": 10, "rampup_epochs": 121,
                                         "lr_gamma": 0.5, "lr_milestones": after_ramp(10, 121, 200)}, THESIS,
     "CIFAR-10 (3,32,32) 10 Adam $\\gamma = 0.5$ 100 0.001 10/121 every 10 epochs after 131"),
    ("train_linf", "bcp_cifar10", None, {"epochs": 200}, BCP_CODE, "epochs=200, warmup=10, rampup=121"),
    ("train_linf", "bcp_cifar10", "bcp", {"options": {}}, THESIS,
     "On CIFAR-10, we found that it is enough to run a single iteration for the optimization (3.2.11)"),
    *[("train_linf", protocol, None, {"norm": "l2"}, THESIS, "We mainly focus on ℓ_2 -perturbation sets")
      for protocol in ("bcp_mnist", "bcp_cifar10")],
    ("train_linf", "bcp_cifar10_linf", None, {"norm": "linf"}, THESIS,
     "We compare the performance of BCP to IBP and CAP as an ℓ_∞ -certifiable training"),
    ("train_linf", "duet_cifar10", None, {"norm": "l2"}, DUET,
     "The $l_2$ -norm-based perturbation radius used is 36/255"),
    # the rest of local_lip_cifar10 is Huang et al.'s code's CIFAR-10 6C2F command (config comment), not in shared/
    ("train_linf", "local_lip_cifar10", None, {"norm": "l2"}, DUET,
     "The $l_2$ -norm-based perturbation radius used is 36/255"),
    # the rest of crm_* is its authors' CIFAR-10 command (config comment): the paper defers it to a supplement
    *[("train_linf", protocol, None, {"norm": "l2"}, CRM,
       "against ℓ_2 perturbations of size 1.58 on MNIST and 36/255 on CIFAR-10") for protocol in ("crm_mnist", "crm_cifar10")],
    ("train_linf", "bcp_tinyimagenet", None, {"optimizer": "sgd", "momentum": 0.1, "weight_decay": 2e-4,
                                              "epochs": 100, "lr": 0.001, "warmup_epochs": 2, "rampup_epochs": 50,
                                              "lr_milestones": (50, 70, 90), "lr_gamma": 0.1}, THESIS,
     "Tiny ImageNet (3,64,64) 200 SGD $\\gamma = 0.1$ momentum=0.1 weight decay= $2e^{-4}$ 100 0.001 2/50 [50,70,90]"),
    ("train_linf", "bcp_tinyimagenet", None, {"batch_size": 5, "norm": "l2"}, THESIS,
     "we use the same batch size for both methods as 50 on MNIST and CIFAR-10 and 5 on Tiny ImageNet"),
    ("train_linf", "bcp_tinyimagenet", "bcp", {"options": {}}, THESIS,
     "On Tiny ImageNet, we cannot run more than one iteration because of the memory constraint"),
    ("train_linf", "local_lip_tinyimagenet", None, {"norm": "l2"}, CRM,
     "against ℓ_2 perturbations of size 1.58 on MNIST and 36/255 on CIFAR-10 and Tiny-Imagenet"),
    ("train_linf", "local_lip_tinyimagenet", "local_bcp",
     {"epochs": 250, "batch_size": 128, "lr": 0.00025, "warmup_epochs": 0, "rampup_epochs": 125, "lr_end": 5e-7,
      "lr_decay_start": 150, "options": {"power_iterations": 1}}, LOCAL_LIP_CODE,
     "TinyImagenet/run_job.sh: --warmup 0 --batch_size 32 (x 4 GPUs) --rampup 125 --sniter 1 --epochs 250 "
     "--lr 2.5e-4 --lr_scheduler exp; end_lr 5e-7, more 25 (decay from epoch 250 // 2 + 25)"),
    ("train_linf", "crm_tinyimagenet", None, {"norm": "l2"}, CRM,
     "against ℓ_2 perturbations of size 1.58 on MNIST and 36/255 on CIFAR-10 and Tiny-Imagenet"),
    ("train_linf", "crm_tinyimagenet", "crm",
     {"epochs": 300, "batch_size": 256, "lr": 0.0001, "lr_decay_start": 100, "lr_end": 1e-7, "warmup_epochs": 10,
      "options": {"weight": 150.0, "alpha": 12.0, "radius": 0.2}}, CRM_CODE,
     "Scripts/tinyImagenetAblation.sh: --batchSize 256 --maxEpoch 300 --initialLearningRate 1e-4 "
     "--learningRateDecayEpoch 100 --robustStartingEpoch 10 --smallestLearningRate 1e-7; defaultLambda=150, "
     "defaultAlpha=12, defaultR0=0.2"),
    *[("train_linf", protocol, None, {"optimizer": "adam", "batch_size": 128, "lr": 0.001, "epochs": epochs,
                                      "lr_milestones": milestones, "lr_gamma": 0.1, "warmup_epochs": warmup,
                                      "rampup_epochs": rampup}, THESIS, quote)
      for protocol, epochs, milestones, warmup, rampup, quote in [
          ("graddiv_mnist", 60, (30,), 3, 20, "MNIST 128 60 0.001 [30] 3 20"),
          ("graddiv_stl10", 120, (60, 100), 6, 60, "STL10 120 [60,100] 6 60"),
          ("graddiv_cifar10", 200, (80, 140, 180), 6, 90, "CIFAR10 200 [80,140,180] 6 90")]],
    *[("train_linf", protocol, "adv_bnn", {"options": {"prior_sigma": sigma}}, THESIS,
       "the prior standard deviation $\\sigma_0 = 0.05, 0.1, 0.15$ for MNIST, CIFAR10, and STL10")
      for protocol, sigma in [("graddiv_mnist", 0.05), ("graddiv_cifar10", 0.1), ("graddiv_stl10", 0.15)]],
    *[("train_linf", protocol, "adv_bnn_graddiv", {"options": {"prior_sigma": sigma, "regularizer": name,
                                                               "weight": weight}}, THESIS,
       "MNIST (GradDiv- κ , 1), CIFAR10 (GradDiv-DPP, 1), and STL10 (GradDiv-mean, 0.7)")
      for protocol, sigma, name, weight in [("graddiv_mnist", 0.05, "kappa", 1.0), ("graddiv_cifar10", 0.1, "dpp", 1.0),
                                            ("graddiv_stl10", 0.15, "mean", 0.7)]],
    ("train_linf", "graddiv_cifar10", "rse_graddiv", {"options": {"regularizer": "kappa", "weight": 1.0}}, THESIS,
     "In the experiment, RSE using (GradDiv- κ , 1) outperforms the baseline on CIFAR10."),
    *[("train_linf", protocol, "pgd", {"options": {"steps": 10}, "warmup_epochs": 0, "rampup_epochs": 0}, THESIS,
       "the step size $\\alpha_{train} = \\epsilon_{train}/4$ and the attack iterations $m = 10$")
      for protocol in ("graddiv_mnist", "graddiv_cifar10", "graddiv_stl10")],
    *[("train_linf", protocol, "cap", {"options": {"projections": 50}}, CAP_CODE,
       "# all remaining experiments use an approximation for training with 50 projections")
      for protocol in ("bcp_mnist", "bcp_cifar10", "bcp_cifar10_linf", "bcp_tinyimagenet")],
    ("train", "imagenet", "sac", {"epochs": 100, "optimizer": "sgd"}, SAC,
     "We train ResNet-50 on ImageNet using SaC for 100 epochs with a batch size of 200 per GPU, SGD optimizer"),
    ("train", "imagenet", "sac", {"lr": 0.01, "lr_schedule": "cosine", "weight_decay": 1e-4, "momentum": 0.9}, SAC,
     "we use a learning rate of 0.01 and a *cosine* schedule with weight decay of $1e-4$ and momentum of 0.9."),
]


@pytest.fixture(scope="module")
def paper_protocols():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())["scales"]["paper"]


@pytest.mark.parametrize("section, protocol, method, expected, source, quote", PROTOCOLS,
                         ids=[f"{p[1]}-{p[2] or 'all'}-{'+'.join(p[3])}" for p in PROTOCOLS])
def test_paper_protocols_say_what_their_source_says(paper_protocols, section, protocol, method, expected, source,
                                                    quote):
    settings = TrainSettings(**resolve_protocol(paper_protocols[section][protocol], method or "ibp"))
    assert {key: getattr(settings, key) for key in expected} == expected
    if source in (THESIS, SAC, DUET, CRM) and (SHARED / "papers" / source).exists():
        text = " ".join((SHARED / "papers" / source).read_text().split())
        assert " ".join(quote.split()) in text, f"quote not found in {source}"


@pytest.mark.parametrize("protocol", ["duet_cifar10", "bcp_cifar10_linf"])
def test_a_protocol_derived_from_bcps_differs_only_in_what_it_logs_and_its_ball(paper_protocols, protocol):
    """duet sec. 5 and thesis app. B (table B.2) name no protocol of their own: theirs is BCP's CIFAR-10 one, with
    per-epoch test curves instead of the Lipschitz log (Duet) or on l_inf balls (table B.2)."""
    differs = ("log_lipschitz", "log_test_metrics", "select_skip", "per_method", "norm")
    bcp, derived = (paper_protocols["train_linf"][name] for name in ("bcp_cifar10", protocol))
    assert {k: v for k, v in bcp.items() if k not in differs} == {k: v for k, v in derived.items() if k not in differs}


def test_svhn_normalisation_constants_are_the_thesis_ones():
    spec = dataset_spec("svhn")
    assert (spec.mean, spec.std) == ((0.438, 0.444, 0.473), (0.198, 0.201, 0.197))


def test_every_paper_protocol_is_checked(paper_protocols):
    checked = {(section, protocol) for section, protocol, *_ in PROTOCOLS}
    assert checked == {(section, name) for section in ("train", "train_linf") for name in paper_protocols[section]}


def test_a_per_method_override_replaces_only_its_keys():
    protocol = {"epochs": 3, "batch_size": 128, "per_method": {"cap": {"batch_size": 32}}}
    assert resolve_protocol(protocol, "cap") == {"epochs": 3, "batch_size": 32}
    assert resolve_protocol(protocol, "ibp") == {"epochs": 3, "batch_size": 128}


def test_options_merge_key_by_key_from_the_method_to_its_sigma():
    protocol = {"epochs": 3, "per_method": {"smoothadv": {
        "options": {"m": 4, "steps": 2}, "by_sigma": {0.5: {"options": {"steps": 8}, "epochs": 5}}}}}
    assert resolve_protocol(protocol, "smoothadv", 0.25) == {"epochs": 3, "options": {"m": 4, "steps": 2}}
    assert resolve_protocol(protocol, "smoothadv", 0.5) == {"epochs": 5, "options": {"m": 4, "steps": 8}}
    assert resolve_protocol(protocol, "smoothadv") == {"epochs": 3, "options": {"m": 4, "steps": 2}}
    assert resolve_protocol(protocol, "cohen", 0.5) == {"epochs": 3}


def test_a_variant_trains_under_its_methods_settings_with_the_options_its_name_fixes():
    protocol = {"epochs": 3, "per_method": {"sac_linf": {"batch_size": 32, "options": {"alpha": 0.2, "mask_lr": 0.1}}}}
    name = variant_name("sac_linf", alpha=0.05)
    assert name == "sac_linf-alpha0.05" and split_variant(name) == ("sac_linf", {"alpha": 0.05})
    assert resolve_protocol(protocol, name) == {"epochs": 3, "batch_size": 32,
                                                "options": {"alpha": 0.05, "mask_lr": 0.1}}
    assert resolve_protocol(protocol, "smoothadv-m4") == {"epochs": 3, "options": {"m": 4}}
    assert split_variant("sac_linf") == ("sac_linf", {})
    assert split_variant(variant_name("sac", alpha=1e-5, mask_lr=0.5)) == ("sac", {"alpha": 1e-5, "mask_lr": 0.5})


@pytest.mark.parametrize("name", ["sac_linf-alpha", "sac_linf-0.05", "sac_linf-alpha0.05x", "sac_linf-"])
def test_a_malformed_variant_is_refused_naming_its_part(name):
    with pytest.raises(ValueError, match="is not <option><number>"):
        split_variant(name)
