"""Reference fits of lifetimes 0.11.3 (BetaGeoFitter, GammaGammaFitter), run once OUTSIDE the project.

How they were obtained (2026, this machine): a throwaway venv (python 3.11, numpy<2, pandas<2,
scipy 1.11.4, ``pip install lifetimes``); the summaries below were written to CSV by the
project's venv (``simulate_bgnbd``/``simulate_spend`` with these seeds; CDNOW and Online
Retail II through ``purchase_day_summary`` in weeks), then fitted with default settings
(penalizer 0, lifetimes' own start 0.1 on the log scale, BFGS with autograd gradients).
``ll`` is lifetimes' own ``_negative_log_likelihood`` at its fitted parameters, times n:
the total log-likelihood on the summary in its own time unit, the same quantity as
``BetaGeoModel.log_likelihood_``. Where lifetimes raised ConvergenceError (``success``
False) its optimiser's last point was taken by calling the same ``minimize`` without the
success check. lifetimes is not a dependency of the project.
"""

BGNBD = {  # name: (n, repeat buyers, sum of T) of the summary, and the reference fit
    "middle": ((5000, 3346, 180797.6285), dict(r=0.4840546441, alpha=3.927435445, a=0.7540278708, b=2.500675722,
                                               ll=-37287.389087701136)),
    "no_dropout": ((5000, 3908, 179555.9977), dict(r=0.793825983, alpha=5.942359827, a=4.1865238e-06,
                                                   b=2569.057784, ll=-64256.618270465224)),
    # lifetimes: ConvergenceError; its own arithmetic overstates the ll at a = 1.45e7 (gammaln
    # differences cancel): the exact likelihood at these parameters is -20309.924823
    "dropout_certain": ((8000, 4336, 288500.8957), dict(r=0.7197869612, alpha=17.69401244, a=14514384.31,
                                                        b=8.415124346e-08, ll=-20309.924680026856)),
    "same_rate": ((5000, 4982, 179416.1353), dict(r=665.4051434, alpha=3343.619338, a=0.7371576191, b=2.329377673,
                                                  ll=-60039.9311920317)),
    # the shop in miniature: a year of days, 4,300 customers, 62 % repeat buyers; lifetimes:
    # ConvergenceError; the project's fit before this change: "BG/NBD did not converge (CONVERGENCE:
    # RELATIVE REDUCTION OF F <= FACTR*EPSMCH)"
    "issue_like": ((4300, 2669, 795003.0), dict(r=0.5762496187, alpha=28.31067335, a=365.5635933, b=821750.6849,
                                                ll=-72561.78287576495)),
    "cdnow": ((2357, 946, None), dict(r=0.2425945434, alpha=4.413602716, a=0.7929218333, b=2.425905729,
                                      ll=-9582.429206673936)),
    "online_retail": ((4314, 2818, None), dict(r=0.8732400183, alpha=10.19955304, a=0.2678687973, b=194.0235648,
                                               ll=-38390.468670041235)),
}
GAMMA_GAMMA = {  # lifetimes' v is the project's gamma
    "gg_middle": dict(p=6.257317509, q=3.435424675, gamma=14.12976425, ll=-14518.41697396089),
    "gg_constant_spend": dict(p=1193193.954, q=3.512976063, gamma=1.273437681e-05, ll=-8202.406809459091),  # no success
    "gg_same_spenders": dict(p=5.770809915, q=4661194.755, gamma=24279163.9, ll=-11722.635810494423),  # no success
    "cdnow": dict(p=6.249572278, q=3.744224675, gamma=15.44352102, ll=-4055.917694801872),
    "online_retail": dict(p=2.195277367, q=3.713198516, gamma=503.5856737, ll=-18977.35449575368),
}
