"""NextBest domain library: ingest, segments, offers, audit, workflow.

Imports no streamlit; everything here is usable from a script or the CLI.
"""

__version__ = "0.1.0"
