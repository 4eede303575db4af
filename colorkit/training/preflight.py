"""What ``colorkit run`` checks after the schema and the registry names, before it writes anything,
and ``colorkit validate`` checks the same way: the losses' own checks of their option values (each
loss is built; one may load its frozen feature network's weights), the hint sampler's (it is built),
the network's description (``[hints.spread]``'s skip needs a loss that predicts ab) and ``model.init``
against the network the recipe builds (with batch-norm statistics for ``model.freeze_norm_stats``), and that
every ``[distill]`` teacher loads."""

from __future__ import annotations

from colorkit.build import LossSet, build_hint_sampler, build_losses, hints_meta, model_spec
from colorkit.training import distill, warm_start
from colorkit.errors import ColorkitError, RecipeError
from colorkit.preprocess import Preprocessors
from colorkit.recipe import Recipe


def preflight(recipe: Recipe, host, source: str) -> LossSet:
    """Build the losses and the hint sampler and check the network's description and ``model.init``;
    a problem is a RecipeError naming ``source``."""
    try:
        losses = build_losses(recipe, host)
        build_hint_sampler(recipe, host)
        # the preprocessors are built only for model.init, which compares their channels
        preprocess = Preprocessors([s.model_dump() for s in recipe.preprocess], host) if recipe.model.init and recipe.preprocess else None
        spec = model_spec(recipe, len(preprocess) if preprocess else 0, losses.out_channels)
        if recipe.distill:
            distill.load_teachers(recipe.distill, "cpu", host)
        if recipe.model.init:
            warm_start.check(
                recipe.model.init, spec, preprocess.specs if preprocess else [], host, hints=hints_meta(recipe), frozen_stats=recipe.model.freeze_norm_stats
            )
    except RecipeError:
        raise
    except ColorkitError as exc:
        raise RecipeError(f"{source}: {exc}") from None
    return losses
