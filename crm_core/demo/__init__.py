"""Seeded, deterministic demo data: a retailer and a bank, samples, benchmark-sized files.

``generate_retail()`` and ``generate_bank()`` return a :class:`DemoWorld` of
source frames with canonical column names; ``write_world`` writes them as
CSV or XLSX; ``write_samples`` regenerates data/samples/;
``write_scaled_transactions`` streams benchmark-sized CSVs in chunks.
Command line: ``python -m crm_core.demo --help``.
"""

from crm_core.demo.bank import generate_bank
from crm_core.demo.retail import generate_retail
from crm_core.demo.samples import SAMPLE_FILES, write_samples
from crm_core.demo.scaled import write_scaled_products, write_scaled_transactions
from crm_core.demo.world import DemoArgumentError, DemoWorld
from crm_core.demo.writing import write_world

__all__ = [
    "DemoWorld", "DemoArgumentError", "generate_retail", "generate_bank", "write_world", "write_samples", "SAMPLE_FILES",
    "write_scaled_transactions", "write_scaled_products",
]
