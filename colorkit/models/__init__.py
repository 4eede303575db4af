"""Built-in network architectures, registered through the same hook a third-party plugin uses.

Each factory maps ``(B, in_channels, H, W)`` to ``(B, out_channels, H, W)`` with a linear output and
has ``input_stride(**options)``, the number H and W must be divisible by.

A factory whose class sets ``role = "discriminator"`` (``patchgan``) is no colorizer: it maps an
image to real/fake patch logits and is built by name by a loss (``adversarial``), not by a recipe's
``[model]``. Both attributes, with their defaults (``role = "colorizer"``, stride 1), are
:class:`colorkit.contracts.ModelContract`'s.
"""

from colorkit.hookspecs import hookimpl
from colorkit.models.cunet import CUNet
from colorkit.models.eccv16 import ECCV16
from colorkit.models.patchgan import PatchGAN
from colorkit.models.smp_unet import SmpUnet
from colorkit.models.unet import UNet

__all__ = ["CUNet", "ECCV16", "PatchGAN", "SmpUnet", "UNet"]


@hookimpl
def colorkit_register_models(register):
    register("cunet", CUNet)
    register("unet", UNet)
    register("smp_unet", SmpUnet)
    register("eccv16", ECCV16)
    register("patchgan", PatchGAN)
