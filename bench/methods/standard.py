"""Standard (non-robust) training: cross-entropy on clean inputs."""
from torch import nn


class Standard:
    family = "standard"

    def loss(self, model, x, y, ctx):
        return nn.functional.cross_entropy(model(x), y)
