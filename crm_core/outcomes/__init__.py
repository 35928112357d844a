"""The outcomes loop: holdout groups, conversions, uplift with honest uncertainty, learning, experiments from elsewhere.

* :mod:`.holdout` - the seeded, stratified control group drawn at export;
* :mod:`.attribution` - when a later purchase counts as a conversion (window, product or family);
* :mod:`.uplift` - treatment against holdout from per-group sums, through :mod:`crm_core.stats`;
* :mod:`.results` - a campaign's results, overall and per segment, scenario and family (reads only);
* :mod:`.evidence`, :mod:`.learning` - what converts best and the settings changes it supports;
* :mod:`.service` - applying a proposal as a new settings version (admin);
* :mod:`.experiment` - any experiment file, every group against its control.
"""
