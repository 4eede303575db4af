"""Built-in losses, registered through the same hook a third-party plugin uses.

One loss per module; add a built-in by importing its class and adding one ``register`` line.
"""

from colorkit.hookspecs import hookimpl
from colorkit.losses.adversarial import AdversarialLoss
from colorkit.losses.base import Loss
from colorkit.losses.chroma_weighted import ChromaWeightedLoss
from colorkit.losses.colorfulness import ColorfulnessLoss
from colorkit.losses.l1 import L1Loss
from colorkit.losses.mse import MSELoss
from colorkit.losses.perceptual import PerceptualLoss
from colorkit.losses.psnr import PSNRLoss
from colorkit.losses.rebalanced_ce import RebalancedCELoss

__all__ = [
    "Loss",
    "MSELoss",
    "L1Loss",
    "ChromaWeightedLoss",
    "RebalancedCELoss",
    "ColorfulnessLoss",
    "PerceptualLoss",
    "PSNRLoss",
    "AdversarialLoss",
]


@hookimpl
def colorkit_register_losses(register):
    register("mse", MSELoss)
    register("l1", L1Loss)
    register("chroma_weighted", ChromaWeightedLoss)
    register("rebalanced_ce", RebalancedCELoss)
    register("colorfulness", ColorfulnessLoss)
    register("perceptual", PerceptualLoss)
    register("psnr", PSNRLoss)
    register("adversarial", AdversarialLoss)
