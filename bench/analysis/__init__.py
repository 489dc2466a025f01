"""Measures computed on cached checkpoints (never training): each writes a tidy table, one row per test point,
epoch or t, that a figure module of ``bench.figures`` draws."""

# Relaxations the tightness analysis computes on every model (thesis fig. 3.10: all share IBP intermediate
# bounds and differ in the last pass's lower slopes); torch-free, so the Snakefile can read it.
RELAXATIONS = ("ours", "crown_ibp", "cap_ibp", "random_ibp", "zero_ibp")
