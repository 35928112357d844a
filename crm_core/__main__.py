"""``python -m crm_core``: the command-line entry (see crm_core.cli)."""

import sys

from crm_core.cli import main

sys.exit(main())
