"""The EOT tables (thesis Tables 2.1, A.2, A.3, A.5): attack groups as printed, paper beside measured."""
import pandas as pd

from bench.report.eot_table import AttackedRun, build_eot_table

REFERENCE = {
    "target": "tables/graddiv_table2_1.md", "title": "Table 2.1", "eval_eps": ["0", "0.03"],
    "attacks": ["fgsm_n20", "pgd_n1", "pgd_n5"],
    "rows": {"standard": "None", "adv_bnn": "Adv-BNN", "adv_bnn_graddiv": "Adv-BNN + GradDiv"},
    "blocks": [{"dataset": "cifar10", "eps": "8/255", "model": "vgg16", "protocol": "graddiv_cifar10", "values": {
        "standard": {"fgsm_n20": [92.39, 8.37], "pgd_n1": [None, 0]},
        "adv_bnn": {"fgsm_n20": [75.97, 49.9], "pgd_n5": [None, 46.81]},
        "adv_bnn_graddiv": {"fgsm_n20": [76.45, 59.02], "pgd_n5": [None, 53.63]}}}],
}


def attacked(method, attack, robust):
    frame = pd.DataFrame({"idx": [0, 1, 2, 3] * 2, "eps": [0.0] * 4 + [0.03] * 4, "label": 0, "predict": 0,
                          "robust": robust})
    provenance = {"run": {"model": "small"}, "settings": {"steps": 20}, "members": 20}
    return AttackedRun(method, "cifar10", attack, frame, provenance)


def test_rows_follow_the_printed_attack_groups_and_cells_put_the_paper_beside_the_measured():
    runs = [attacked("standard", "fgsm_n20", [1, 1, 1, 0, 1, 0, 0, 0]),
            attacked("adv_bnn", "pgd_n5", [1, 1, 1, 1, 1, 1, 0, 0])]
    markdown = build_eot_table(REFERENCE, runs, "smoke", "stand-in", "abc", "graddiv", {"cifar10": "digits_rgb8"})
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in markdown.splitlines() if "| EOT" in line]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("EOT-FGSM", "20", "None"), ("EOT-FGSM", "20", "Adv-BNN"), ("EOT-FGSM", "20", "Adv-BNN + GradDiv"),
        ("EOT-PGD", "-", "None"), ("EOT-PGD", "5", "Adv-BNN"), ("EOT-PGD", "5", "Adv-BNN + GradDiv")]
    assert rows[0][2:4] == ["cifar10 → digits_rgb8", "vgg16 → small"]
    assert rows[0][5].startswith("92.39 / 75.00 [") and rows[0][6].startswith("8.37 / 25.00 [")
    assert rows[4][5] == "n/a / 100.00 [39.8, 100.0]" and rows[4][6].startswith("46.81 / 50.00 [")
    assert rows[1][5] == "75.97 / not run yet" and rows[3][5] == "n/a / not run yet"
    from bench.report.eot_table import attack_label
    assert attack_label("pgd_n1", "rse") == ("EOT-PGD", "1") and attack_label("pgd_n1", "pgd") == ("EOT-PGD", "-")
    assert "m = 20 EOT-PGD steps, randomized networks predicting with 20 sample models." in markdown


def test_the_audit_flags_a_reproduced_accuracy_that_rises_with_the_radius():
    runs = [attacked("standard", "fgsm_n20", [0, 0, 0, 1, 1, 1, 1, 1])]
    markdown = build_eot_table(REFERENCE, runs, "smoke", "stand-in", "abc", "graddiv", {"cifar10": "digits_rgb8"})
    reproduction = markdown.split("Reproduction:")[1]
    assert "radius" in reproduction and "100.0 at radius 0.03 > 25.0 at radius 0" in reproduction
