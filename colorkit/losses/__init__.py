"""Built-in losses, registered through the same hook a third-party plugin uses."""

from colorkit.hookspecs import hookimpl
from colorkit.losses.base import Loss
from colorkit.losses.mse import MSELoss

__all__ = ["Loss", "MSELoss"]


@hookimpl
def colorkit_register_losses(register):
    register("mse", MSELoss)
