"""bench.audit: each rule finds a planted violation and stays quiet on a consistent table; the reference data of
every paper is audited without error, and the findings its numbers are known to hold are found."""
import subprocess
import sys

import pytest

from bench.audit import (Finding, Row, audit, claims, eps, identical_rows, ordering, radius, reference_rows,
                         repeated)


def linf(method="ibp", values=(10.0, 20.0, 30.0), metric="error", table="t1", eps_test=0.1, model=("m", 0.1)):
    columns = ("standard", "pgd", "verified") if metric == "error" else ("clean", "pgd", "certified")
    return Row("p", table, f"mnist eps {eps_test}", method, metric, dict(zip(columns, values)), model, eps_test)


def smoothing(method="cohen", values=(0.8, 0.6, 0.4), sigma=0.25):
    return Row("p", "t2", f"sigma {sigma}", method, "certified accuracy", dict(zip(("0.0", "0.25", "0.5"), values)),
               ("cifar10", "resnet110", sigma))


@pytest.mark.parametrize("row, planted", [
    (linf(values=(10.0, 20.0, 30.0)), None),
    (linf(values=(10.0, 35.0, 30.0)), "pgd 35.0 > verified 30.0"),        # PGD error above the verified error
    (linf(values=(25.0, 20.0, 30.0)), "standard 25.0 > pgd 20.0"),
    (linf(values=(0.8, 0.6, 0.5), metric="accuracy"), None),
    (linf(values=(0.83, 0.60, 0.61), metric="accuracy"), "pgd 0.6 < certified 0.61"),
    (linf(values=(10.0, None, 30.0)), None),                                # "-" cells are skipped
])
def test_ordering(row, planted):
    found = [f.message for f in ordering([row])]
    assert found == ([planted] if planted else [])


def test_radius():
    assert radius([smoothing(values=(0.8, 0.6, 0.6))]) == []
    [finding] = radius([smoothing(values=(0.55, 0.40, 0.44))])
    assert finding.rule == "radius" and "0.44 at radius 0.5 > 0.4 at radius 0.25" in finding.message


def test_eps_within_one_trained_model_only():
    rows = [linf(eps_test=0.1, values=(1.0, 2.0, 9.0)), linf(eps_test=0.2, values=(1.0, 3.0, 5.0))]
    [finding] = eps(rows)
    assert "certified error 5.0" in finding.message and "9.0" in finding.message
    assert eps([linf(eps_test=0.1, values=(1.0, 2.0, 4.0)), linf(eps_test=0.2, values=(1.0, 3.0, 5.0))]) == []
    # another training setting (model) is another model: no comparison across them
    assert eps([rows[0], linf(eps_test=0.2, values=(1.0, 3.0, 5.0), model=("m", 0.3))]) == []


def test_repeated_within_printing_precision():
    one, same = linf(table="t1", values=(1.2, 2.0, 3.0)), linf(table="t2", values=(1.20, 2.0, 3.0))
    assert repeated([one, same]) == []
    assert repeated([one, linf(table="t2", values=(1.2, 2.0, 3.04))]) == []   # 3.04 prints as 3.0 at one decimal
    [finding] = repeated([linf(table="t1", values=(1.25, 2.0, 3.0)), linf(table="t2", values=(1.29, 2.0, 3.0))])
    assert finding.message == "standard 1.25 in t1 but 1.29 in t2"
    assert repeated([one, linf(table="t2", values=(9.0, 9.0, 9.0), model=("other", 0.1))]) == []


def test_identical_rows():
    assert identical_rows([smoothing("a"), smoothing("b", values=(0.8, 0.6, 0.41))]) == []
    assert identical_rows([smoothing("a", (0.0, 0.0, 0.0)), smoothing("b", (0.0, 0.0, 0.0))]) == []  # all zeros
    [finding] = identical_rows([smoothing("a"), smoothing("b")])
    assert finding.message == "a and b both read [0.8, 0.6, 0.4]"


def test_a_text_claim_is_checked_against_its_cell(monkeypatch):
    import bench.audit

    row = linf(values=(0.83, 0.60, 0.61), metric="accuracy")
    stated = {"claims": [{"table": "t1", "block": "mnist eps 0.1", "method": "ibp", "column": "certified",
                          "value": 0.6023, "quote": "certified accuracy = 60.23%"},
                         {"table": "t1", "block": "mnist eps 0.1", "method": "ibp", "column": "clean",
                          "value": 0.825, "quote": "clean accuracy = 82.5%"}]}
    monkeypatch.setattr(bench.audit, "load_paper", lambda paper: stated)
    [finding] = claims("p", [row])
    assert "the text says certified 0.6023" in finding.message and "prints 0.61" in finding.message


def test_the_papers_numbers_hold_the_findings_checked_by_hand():
    found = {paper: {str(f) for f in audit(reference_rows(paper), paper)} for paper in ("landscape", "sac", "book", "bcp")}
    assert found["book"] == set() and found["bcp"] == set()
    assert "[identical_rows] sac table2, sigma 1.0: smoothadv and macer both read [0.45, 0.41, 0.38, 0.32, 0.25]" \
        in found["sac"]
    assert "[ordering] sac table1, cifar10 eps 2/255, sac_linf: pgd 0.6 < certified 0.61" in found["sac"]
    assert "[repeated] landscape ours, cifar10 eps 16/255: standard 65.93 in table3_4 but 65.39 in tableC3" \
        in found["landscape"]
    assert len(found["landscape"]) == 18 and len(found["sac"]) == 4


def test_the_command_prints_every_papers_findings():
    out = subprocess.run([sys.executable, "-m", "bench.audit"], capture_output=True, text=True, check=True).stdout
    assert "landscape: 18 finding(s)" in out and "sac: 4 finding(s)" in out and "book: 0 finding(s)" in out and "bcp: 0 finding(s)" in out


def test_unsound_counts_points_a_bound_verifies_but_pgd_breaks():
    import pandas as pd

    from bench.audit import unsound

    frame = pd.DataFrame({"correct": [True, True, True, False], "pgd_correct": [True, False, False, False],
                          "margin_ibp": [1.0, -1.0, -2.0, 3.0], "margin_crown": [1.0, 0.5, -1.0, 3.0]})
    assert unsound(frame, "run") == [Finding("unsound", "run", "1 point(s) verified by crown but broken by PGD")]
    frame["margin_crown"] = [1.0, -0.5, -1.0, 3.0]  # a wrong point (index 3) is never counted: it is not verified
    assert unsound(frame, "run") == []



def test_graddiv_numbers_hold_three_rises_with_eps_and_table_a5_repeats_table_2_1s_rse_rows():
    """Accuracy under one attack should not rise with the radius: three printed cells do (one FGSM row of Table 2.1
    by 0.15 points, two MNIST rows of Table A.2); RSE's rows shared by Tables 2.1 and A.5 agree."""
    found = {str(f) for f in audit(reference_rows("graddiv"), "graddiv")}
    assert found == {"[radius] graddiv table2_1, fgsm_n20, standard: 6.96 at radius 0.07 > 6.81 at radius 0.06",
                     "[radius] graddiv tableA2, pgd_n10, rse: 0.25 at radius 0.4 > 0.22 at radius 0.38",
                     "[radius] graddiv tableA2, fgsm_n20, adv_bnn: 97.28 at radius 0.32 > 97.23 at radius 0.3"}
    rse = [r for r in reference_rows("graddiv") if (r.method, r.block, r.model[0]) == ("rse", "pgd_n20", "cifar10")]
    assert len(rse) == 2 and rse[0].model == rse[1].model and rse[0].values == rse[1].values  # compared, equal
