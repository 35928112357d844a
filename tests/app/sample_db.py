"""The sample database of the UI tests, built directly through the models.

Shared by tests/app (AppTest) and tests/browser (Playwright); it does not
depend on the importer or the demo generator, so page tests keep working
while those change.
"""

from __future__ import annotations

import datetime as dt
import random

from crm_core.auth import Role
from crm_core.auth.bootstrap import BOOTSTRAP_ACTOR
from crm_core.auth.users import add_user
from crm_core.store import Database
from crm_core.store.models import Customer, ImportBatch, Product, Transaction, Workspace

PASSWORDS = {role.label: f"{role.label}-Secret-42" for role in Role}
FIRST_DAY = dt.datetime(2023, 1, 2, 9, 30)
LAST_DAY = dt.datetime(2024, 3, 28, 16, 0)


def build_sample_database(url: str, *, with_users: bool = True, with_bank: bool = True) -> dict:
    """Create the sample database at ``url`` and return the workspace ids (``shop_id``, ``bank_id``).

    Users: one per role, username = role name, password ``PASSWORDS[role]``
    (left out with ``with_users=False``, so the app's first start creates the
    demo users). Workspaces: ``shop`` (GBP, 40 customers, 12 products, 402
    transaction lines from 2023-01-02 to 2024-03-28 with returns and anonymous
    sales, one import batch) and an empty ``bank`` (EUR).
    """
    db = Database.open(url)
    db.upgrade()
    rng = random.Random(20240328)
    with db.unit_of_work() as s:
        for role in Role if with_users else ():
            add_user(s, BOOTSTRAP_ACTOR, role.label, role, password=PASSWORDS[role.label],
                     display_name=f"Test {role.label}")
        shop = Workspace(name="shop", kind="retail", currency="GBP", currency_decimals=2)
        bank = Workspace(name="bank", kind="bank", currency="EUR", currency_decimals=2) if with_bank else None
        s.add_all([shop] + ([bank] if bank else []))
        s.flush()
        batch = ImportBatch(workspace_id=shop.id, kind="transactions", source_name="sample_sales.csv",
                            content_hash="0" * 64, status="loaded", rows_read=400, rows_loaded=400,
                            created_by="analyst")
        customers = [Customer(workspace_id=shop.id, customer_code=f"C{i:04d}", first_name=f"First{i}",
                              last_name=f"Last{i}", region=rng.choice(["North", "South"])) for i in range(40)]
        families = ["Kitchen", "Garden", "Toys", "Books"]
        products = [Product(workspace_id=shop.id, product_code=f"P{i:03d}", name=f"Product {i}",
                            family=families[i % 4], price_minor=500 + 250 * i, unit_cost_minor=300 + 100 * i,
                            in_catalog=True) for i in range(12)]
        s.add_all([batch, *customers, *products])
        s.flush()
        span = (LAST_DAY - FIRST_DAY).total_seconds()
        for line in range(400):
            when = FIRST_DAY + dt.timedelta(seconds=rng.random() * span)
            product = rng.choice(products)
            qty = rng.randint(1, 4)
            is_return = line % 25 == 24
            customer = None if line % 40 == 39 else rng.choice(customers)
            sign = -1 if is_return else 1
            s.add(Transaction(workspace_id=shop.id, batch_id=batch.id, line_no=line + 2,
                              customer_id=None if customer is None else customer.id, product_id=product.id,
                              invoice_code=f"{'C' if is_return else ''}INV{line // 2:05d}", invoice_date=when,
                              quantity=sign * qty, unit_price_minor=product.price_minor,
                              amount_minor=sign * qty * product.price_minor, is_return=is_return,
                              category=product.family))
        # Make the span exact, so tests can rely on first and last dates.
        s.add(Transaction(workspace_id=shop.id, batch_id=batch.id, line_no=500, customer_id=customers[0].id,
                          product_id=products[0].id, invoice_code="INVFIRST", invoice_date=FIRST_DAY, quantity=1,
                          unit_price_minor=1000, amount_minor=1000, is_return=False, category="Kitchen"))
        s.add(Transaction(workspace_id=shop.id, batch_id=batch.id, line_no=501, customer_id=customers[1].id,
                          product_id=products[1].id, invoice_code="INVLAST", invoice_date=LAST_DAY, quantity=1,
                          unit_price_minor=1000, amount_minor=1000, is_return=False, category="Garden"))
        ids = {"shop_id": shop.id, "bank_id": bank.id if bank else None}
    db.engine.dispose()  # checkpoints the WAL so the file can be copied
    Database._open.pop(url, None)
    return ids
