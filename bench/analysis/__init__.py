"""Measures computed on cached checkpoints, never retraining them (mode connectivity trains only its curve's
control point): each writes a tidy table, one row per test point, grid point or t, or reshapes training
traces, for a figure module of ``bench.figures`` to draw."""
from bench.protocols import variant_name

# Relaxations the tightness analysis computes on every model (thesis fig. 3.10: all share IBP intermediate
# bounds and differ in the last pass's lower slopes); torch-free, so the Snakefile can read it.
RELAXATIONS = ("ours", "crown_ibp", "cap_ibp", "random_ibp", "zero_ibp")


def figure_methods(spec: dict) -> list[str]:
    """The trained methods a figure's config entry reads: ``trained``, or every method of its ``panels`` or
    ``pairs``, in order of first mention, or its ``method`` at every alpha of its ``alphas`` (variants)."""
    if "alphas" in spec:
        return [variant_name(spec["method"], alpha=alpha) for alpha in spec["alphas"]]
    if "trained" in spec:
        return list(spec["trained"])
    groups = [panel["trained"] for panel in spec["panels"]] if "panels" in spec else spec["pairs"]
    return list(dict.fromkeys(method for group in groups for method in group))
