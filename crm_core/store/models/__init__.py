"""SQLAlchemy 2 typed models: the whole data model of NextBest.

Conventions every table follows:

* every business row belongs to a ``Workspace`` (one database can hold a
  shop and a bank side by side);
* surrogate integer keys; ids as the source gives them (normalised text)
  live in ``*_code`` columns, unique per workspace;
* money is stored exactly as integer minor units (``*_minor``); the
  workspace says which currency and how many decimals;
* business times (transactions, purchases) are naive local date-times in
  the workspace's time zone; audit and system times are UTC;
* consent, do-not-contact and last-contacted values are kept with the date
  they took effect (``CustomerAttribute``), so a run as of a past date is
  reproducible;
* segments, scenarios, flags and explanations are stable codes plus
  parameters; labels are rendered from templates.
"""

from crm_core.store.models.audit import *  # noqa: F401,F403
from crm_core.store.models.base import Base, utc_now  # noqa: F401 (re-exported)
from crm_core.store.models.campaigns import *  # noqa: F401,F403
from crm_core.store.models.config_versions import *  # noqa: F401,F403
from crm_core.store.models.data import *  # noqa: F401,F403
from crm_core.store.models.decisions import *  # noqa: F401,F403
from crm_core.store.models.health_checks import *  # noqa: F401,F403
from crm_core.store.models.merges import *  # noqa: F401,F403
from crm_core.store.models.offers import *  # noqa: F401,F403
from crm_core.store.models.outcomes import *  # noqa: F401,F403
from crm_core.store.models.pitches import *  # noqa: F401,F403
from crm_core.store.models.runs import *  # noqa: F401,F403
