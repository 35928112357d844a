"""Next best offers: catalog, scenarios, candidates, scoring, diversity, explanations, evaluation.

Entry points: :func:`crm_core.recommend.engine.recommend` (the offers frame of
docs/contracts.md), :func:`crm_core.recommend.calibration.calibrate` (the blend
chosen by a backtest on the shop's own last window, before scoring),
:func:`crm_core.recommend.evaluate.evaluate` (offline evaluation against the
popularity and repeat baselines) and
:func:`crm_core.recommend.cutoffs.evaluate_cutoffs` (the same at many cutoffs,
with the mean and spread).
"""
