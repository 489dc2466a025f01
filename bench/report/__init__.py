"""Table and figure builders. They read only ``results/`` and ``bench.reference``: never training code."""
