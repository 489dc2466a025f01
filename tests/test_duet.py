"""Duet (bench.methods.duet, bench.bounds.rotation): the guide's rotations, the similarity measure of Table 1,
the loss of eq. 11 on tiny models, and a clear error when the guide is missing or does not fit."""
import pandas as pd
import pytest
import torch
from torch import nn

from bench.bounds.rotation import (guide_layers, rank_rotation, recording_inputs, rotation_loss,
                                   rotation_similarities)
from bench.io import atomic_torch_save
from bench.methods import TrainContext, get_method
from conftest import SHARED


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 8),
                         nn.ReLU(), nn.Linear(8, 4))


def context(ramp=1.0, eps=0.3):
    return TrainContext(epoch=0, epochs=1, generator=torch.Generator().manual_seed(0), eps=eps, ramp=ramp, norm="l2")


def saved_guide(tmp_path, model):
    path = tmp_path / "guide.pt"
    atomic_torch_save({"state_dict": model.state_dict(), "meta": {}}, path)
    return str(path)


def test_rank_rotation_is_u_r_v_r_transposed_and_drops_the_singular_values():
    weight = torch.randn(6, 3, 3, 3, dtype=torch.float64)
    u, s, vh = torch.linalg.svd(weight.flatten(1), full_matrices=False)
    rotation = rank_rotation(weight, 4).flatten(1)
    assert torch.allclose(rotation, u[:, :4] @ vh[:4])
    assert torch.allclose(torch.linalg.svdvals(rotation)[:4], torch.ones(4, dtype=torch.float64))
    scaled = (u * s.flip(0)) @ vh  # other singular values, same singular vectors
    assert torch.allclose(rank_rotation(scaled.view_as(weight), 6), rank_rotation(weight, 6))
    assert torch.allclose(rank_rotation(weight, 100).flatten(1), u @ vh)  # r capped at the matrix's rank


def test_similarity_is_one_when_the_rotations_equal_the_guides_and_lower_otherwise():
    guide, x = tiny_model(0), torch.rand(16, 1, 8, 8)
    same_rotation = tiny_model(0)
    with torch.no_grad():  # rescale every layer's spectrum: the rotations stay the guide's
        for layer in (same_rotation[0], same_rotation[3], same_rotation[5]):
            u, s, vh = torch.linalg.svd(layer.weight.flatten(1), full_matrices=False)
            layer.weight.copy_(((u * (s.sqrt() + 0.5)) @ vh).view_as(layer.weight))
    similar = rotation_similarities(same_rotation, guide.state_dict(), [x[:10], x[10:]], rank=3)
    assert set(similar) == {"0", "3", "5"} and all(v == pytest.approx(1.0, abs=1e-5) for v in similar.values())
    other = rotation_similarities(tiny_model(7), guide.state_dict(), [x], rank=3)
    assert all(v < 0.99 for v in other.values())


def test_rotation_loss_vanishes_for_a_flat_spectrum_copy_of_the_guide_and_is_positive_otherwise():
    # linear layers: a convolution's operator norm exceeds its kernel matrix's, so there W / sigma_cer is the
    # paper's approximation of the rotation, not the rotation itself, even for a flat spectrum
    torch.manual_seed(0)
    guide = nn.Sequential(nn.Flatten(), nn.Linear(64, 12), nn.ReLU(), nn.Linear(12, 4))
    with torch.no_grad():  # W = 2 U V^T: the shortcut W / sigma is then exactly the rotation
        for layer in (guide[1], guide[3]):
            layer.weight.copy_(2 * rank_rotation(layer.weight, 1000))
    model, x = nn.Sequential(nn.Flatten(), nn.Linear(64, 12), nn.ReLU(), nn.Linear(12, 4)), torch.rand(8, 1, 8, 8)
    model.load_state_dict(guide.state_dict())
    layers = guide_layers(guide.state_dict(), model, (1, 8, 8), rank=1000)
    assert all(entry.sigma == pytest.approx(2.0, rel=1e-4) for entry in layers.values())

    def exact_sigma(name, layer, shape):
        return layers[name].sigma * torch.ones(())

    with recording_inputs(model, layers) as inputs:
        model(x)
    assert rotation_loss(model, inputs, layers, exact_sigma).item() == pytest.approx(0.0, abs=1e-4)
    with torch.no_grad():
        model[1].weight.mul_(1.5)  # the same rotation, a larger spectral norm: eq. 11's ratios tell them apart
    with recording_inputs(model, layers) as inputs:
        model(x)
    assert rotation_loss(model, inputs, layers, exact_sigma).item() > 0.1


def test_duet_loss_is_bcp_plus_the_similarity_term_and_trains_every_weight(tmp_path):
    guide = saved_guide(tmp_path, tiny_model(5))
    x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 0, 1])
    duet_model = tiny_model(1)
    duet = get_method("duet", {"guide": guide, "rank": 3})
    no_guidance = get_method("duet", {"guide": guide, "rank": 3, "weight": 0.0})
    for ramp in (0.0, 1.0):  # before the ramp BCP is the clean cross-entropy; the similarity term applies anyway
        bcp = get_method("bcp").loss(tiny_model(1), x, y, context(ramp))
        assert no_guidance.loss(tiny_model(1), x, y, context(ramp)).item() == pytest.approx(bcp.item(), rel=1e-6)
        assert duet.loss(tiny_model(1), x, y, context(ramp)).item() > bcp.item() + 1e-3
    loss = duet.loss(duet_model, x, y, context(0.0))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in duet_model.parameters())
    model = tiny_model(1)  # the similarity term alone reaches every weight
    (duet.loss(model, x, y, context(0.0)) - no_guidance.loss(model, x, y, context(0.0))).backward()
    assert all(layer.weight.grad.abs().sum() > 0 for layer in (model[0], model[3], model[5]))


def test_the_similarity_loss_is_added_with_the_papers_weight():
    assert get_method("duet").weight == 1.0
    paper = SHARED / "papers" / "duet_vanilla_model_guide.txt"
    if paper.exists():  # Algorithm 1, line 14
        assert "$Loss_{total} = loss_{z_{cer}^*} + loss_{sim}$" in " ".join(paper.read_text().split())


def test_a_missing_or_mismatched_guide_is_named(tmp_path):
    x, y = torch.rand(2, 1, 8, 8), torch.tensor([0, 1])
    with pytest.raises(FileNotFoundError, match="guide = 'nowhere.pt' names no file"):
        get_method("duet", {"guide": "nowhere.pt"}).loss(tiny_model(), x, y, context())
    wider = nn.Sequential(nn.Conv2d(1, 5, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(80, 8),
                          nn.ReLU(), nn.Linear(8, 4))
    with pytest.raises(ValueError, match=r"guide's '0.weight' has shape \(5, 1, 3, 3\)"):
        get_method("duet", {"guide": saved_guide(tmp_path, wider)}).loss(tiny_model(), x, y, context())


def test_table1_rows_give_each_layers_similarity_and_lipschitz_bound_and_the_table_averages_and_multiplies():
    from bench.analysis.rotation import layer_rows
    from bench.reference import reference_table
    from bench.report.rotation_table import build_rotation_table

    model, x = tiny_model(2).eval(), torch.rand(10, 1, 8, 8)
    rows = pd.DataFrame(layer_rows(model, model.state_dict(), [x[:6], x[6:]], rank=3))
    assert list(rows["layer"]) == ["0", "1", "2", "3", "4", "5"]
    affine = rows.dropna(subset=["similarity"])
    assert list(affine["layer"]) == ["0", "3", "5"] and (affine["similarity"] - 1).abs().max() < 1e-5
    assert rows.loc[rows["layer"] == "3", "lipschitz"].item() == pytest.approx(
        float(torch.linalg.matrix_norm(model[3].weight.detach().double(), 2)))
    assert (rows.loc[rows["kind"] == "ReLU", "lipschitz"] == 1).all()

    cell = {"dataset": "cifar10", "paper_model": "6c2f", "model": "small_star", "used_dataset": "digits_rgb8",
            "points": 10}
    frame = pd.concat([rows.assign(method="duet", **cell),
                       rows.assign(method="bcp", similarity=rows["similarity"] / 2, **cell)])
    markdown = build_rotation_table(reference_table("duet", "table1"), frame, {"guide": "g.pt", "rank": 3}, "smoke",
                                    "note", "abc", "duet")
    duet = next(line for line in markdown.splitlines() if "Duet (ours)" in line)
    assert "95.60 / 100.00 " in duet and f"7.80 / {rows['lipschitz'].prod():.2f} " in duet and "(+" not in duet
    assert "70.30 / 50.00" in next(line for line in markdown.splitlines() if "BCP (Lee" in line)
    assert "77.80 / not run yet" in next(line for line in markdown.splitlines() if "LocalBCP" in line)


def test_figure_2_3_data_is_one_row_per_method_epoch_and_measure(tmp_path):
    from bench.analysis.test_curves import MEASURES, test_curves

    history = pd.DataFrame({"epoch": [1, 2], "eps": [0.0, 0.1], "loss": [2.0, 1.0], "clean_accuracy": [50.0, 60.0],
                            "clean_loss": [1.5, 1.2], "verified_accuracy": [0.0, 20.0], "certified_loss": [3.0, 2.0]})
    history.to_csv(tmp_path / "duet.csv", index=False)
    history.drop(columns="certified_loss").to_csv(tmp_path / "plain.csv", index=False)
    table = test_curves(["duet"], [tmp_path / "duet.csv"], 1, 4)
    assert len(table) == 2 * len(MEASURES) and set(table["rampup_end"]) == {5}
    assert table.query("epoch == 2 and measure == 'verified_accuracy'")["value"].item() == 20.0
    with pytest.raises(ValueError, match="no certified_loss: train its run with log_test_metrics: true"):
        test_curves(["standard"], [tmp_path / "plain.csv"], 1, 4)
