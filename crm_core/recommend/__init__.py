"""Next best offers: catalog, scenarios, candidates, scoring, diversity, explanations, evaluation.

Entry points: :func:`crm_core.recommend.engine.recommend` (the offers frame of
docs/contracts.md) and :func:`crm_core.recommend.evaluate.evaluate` (offline
evaluation against the popularity and repeat baselines).
"""
