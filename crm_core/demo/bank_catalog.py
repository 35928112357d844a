"""The demo bank's 22 products in 8 families, and who tends to hold them.

``price`` is the yearly revenue of one holding (fees, interest margin,
premiums) and ``unit_cost`` its yearly cost to serve, so that margins compare.
Ownership probabilities depend on the life stage (young, family, established,
retired), rise with income for premium products (``income_power``), and a few
follow other holdings (home insurance with a mortgage).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

LIFE_STAGES = ("young", "family", "established", "retired")
INCOME_BANDS = ("under-20k", "20-40k", "40-70k", "70-120k", "120k-plus")
INCOME_FACTOR = (0.5, 0.8, 1.0, 1.5, 2.2)


@dataclass(frozen=True)
class BankProduct:
    """One product of the demo bank and how customers come to hold it."""

    product_id: str
    name: str
    family: str
    price: float  # yearly revenue per holding
    margin: float
    stage_prob: tuple[float, float, float, float]  # by LIFE_STAGES
    income_power: float  # how strongly income raises the probability
    period_days: int  # one charge per period while held (before calibration)
    balance: float  # typical balance; negative for debts, 0 for none
    term_years: tuple[int, int] | None = None  # loans close after their term
    active: bool = True


PRODUCTS = (
    BankProduct("CA-STD", "Everyday Current Account", "Current Accounts", 60, 0.55,
                (0.80, 0.80, 0.80, 0.85), 0.0, 365, 1500),
    BankProduct("CA-PREM", "Premier Current Account", "Current Accounts", 180, 0.60,
                (0.04, 0.10, 0.15, 0.10), 2.0, 182, 6000),
    BankProduct("CA-STU", "Student Account", "Current Accounts", 20, 0.20,
                (0.0, 0.0, 0.0, 0.0), 0.0, 365, 400),
    BankProduct("SV-EASY", "Easy Access Saver", "Savings", 90, 0.45,
                (0.30, 0.45, 0.60, 0.65), 0.5, 365, 8000),
    BankProduct("SV-FIX", "Fixed Term Deposit", "Savings", 150, 0.50,
                (0.03, 0.08, 0.25, 0.40), 1.0, 365, 20000),
    BankProduct("SV-KIDS", "Children's Saver", "Savings", 25, 0.30,
                (0.01, 0.35, 0.10, 0.02), 0.0, 365, 1500),
    BankProduct("CC-STD", "Classic Credit Card", "Credit Cards", 120, 0.50,
                (0.35, 0.35, 0.25, 0.12), 0.0, 182, -1200),
    BankProduct("CC-REW", "Rewards Credit Card", "Credit Cards", 200, 0.45,
                (0.08, 0.18, 0.18, 0.08), 1.2, 182, -1800),
    BankProduct("CC-PLAT", "Platinum Credit Card", "Credit Cards", 350, 0.55,
                (0.01, 0.04, 0.06, 0.03), 2.5, 182, -3500),
    BankProduct("LN-PERS", "Personal Loan", "Loans", 450, 0.40,
                (0.15, 0.18, 0.08, 0.02), 0.0, 182, -6000, (2, 5)),
    BankProduct("LN-CAR", "Car Finance", "Loans", 600, 0.35,
                (0.06, 0.15, 0.08, 0.02), 0.5, 182, -9000, (3, 4)),
    BankProduct("MG-FIX", "Fixed Rate Mortgage", "Mortgages", 1800, 0.30,
                (0.05, 0.45, 0.25, 0.03), 0.7, 365, -150000),
    BankProduct("MG-TRK", "Tracker Mortgage", "Mortgages", 1600, 0.28,
                (0.02, 0.12, 0.08, 0.01), 0.7, 365, -140000),
    BankProduct("IV-CISA", "Cash ISA", "Investments", 80, 0.40,
                (0.08, 0.20, 0.35, 0.40), 0.5, 365, 12000),
    BankProduct("IV-ISA", "Stocks & Shares ISA", "Investments", 250, 0.55,
                (0.05, 0.12, 0.25, 0.20), 1.5, 365, 18000),
    BankProduct("IV-FUND", "Managed Fund", "Investments", 400, 0.60,
                (0.01, 0.05, 0.15, 0.18), 2.0, 365, 40000),
    BankProduct("IV-PEN", "Personal Pension", "Investments", 500, 0.55,
                (0.05, 0.25, 0.45, 0.15), 1.0, 365, 60000),
    BankProduct("IN-HOME", "Home Insurance", "Insurance", 280, 0.30,
                (0.03, 0.10, 0.20, 0.25), 0.3, 365, 0),
    BankProduct("IN-LIFE", "Life Insurance", "Insurance", 320, 0.35,
                (0.02, 0.08, 0.12, 0.05), 0.5, 365, 0),
    BankProduct("IN-TRAV", "Travel Insurance", "Insurance", 65, 0.40,
                (0.10, 0.15, 0.15, 0.20), 0.8, 365, 0, None, False),
    BankProduct("BB-CA", "Business Current Account", "Business Banking", 240, 0.55,
                (0.0, 0.0, 0.0, 0.0), 0.0, 182, 15000),
    BankProduct("BB-LN", "Business Loan", "Business Banking", 900, 0.40,
                (0.0, 0.0, 0.0, 0.0), 0.0, 182, -40000, (3, 7)),
)

INDEX = {p.product_id: i for i, p in enumerate(PRODUCTS)}


def bank_products() -> pd.DataFrame:
    """The bank's products file with canonical columns."""
    out = pd.DataFrame({
        "product_id": pd.array([p.product_id for p in PRODUCTS], dtype="string"),
        "name": pd.array([p.name for p in PRODUCTS], dtype="string"),
        "family": pd.array([p.family for p in PRODUCTS], dtype="string"),
        "price": [float(p.price) for p in PRODUCTS],
        "unit_cost": [round(p.price * (1 - p.margin), 2) for p in PRODUCTS],
        "active": [p.active for p in PRODUCTS],
    })
    return out
