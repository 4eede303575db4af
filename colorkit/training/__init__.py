"""Train models from recipes: the loop and its run directory (:mod:`.trainer`), several processes
(:mod:`.distributed`), the checks before a run writes anything (:mod:`.preflight`), starting from
trained weights (:mod:`.warm_start`), fair comparisons of variants (:mod:`.compare`) and packing a
run as a pretrained model (:mod:`.pack`).

This package sits above :mod:`colorkit.inference`, which it uses to find and evaluate trained
weights (see docs/architecture.md).
"""
