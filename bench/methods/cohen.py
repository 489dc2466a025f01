"""Cohen et al. (2019): train the base classifier on Gaussian-noise augmented inputs, x + N(0, sigma^2 I)."""
from bench.smoothing import gaussian_augmentation_loss


class Cohen:
    family = "smoothing"

    def loss(self, model, x, y, ctx):
        if ctx.sigma is None:
            raise ValueError("method 'cohen' needs a noise level sigma")
        return gaussian_augmentation_loss(model, x, y, ctx.sigma, ctx.generator)
