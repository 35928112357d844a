"""The demo retailer's catalog: 12 families, 150 products, with structure.

Structure the generator relies on, so that segments and offers mean something:

* replenishable families (candles, tea lights, tea and coffee, bath and body)
  have a typical repurchase interval in days (REBUY);
* families that are bought together (``PARTNERS``: candles with tea lights,
  tea with kitchenware...) give co-purchase lift (CROSS_SELL);
* the last two products of every family are premium versions at about
  2.5 times the price and a better margin (UPSELL);
* a few products are discontinued (``active`` False) and stop selling after
  the first year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Family:
    """One product family of the demo shop."""

    code: str
    name: str
    base_price: float
    margin: float  # standard products' margin rate; premium ones get +0.12
    popularity: float
    rebuy_days: int | None  # typical repurchase interval of a replenishable family
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    size: int


FAMILIES = (
    Family("CAN", "Candles", 4.95, 0.55, 1.3, 60, ("Pillar Candle", "Jar Candle", "Dinner Candles"),
           ("Vanilla", "Lavender", "Cedarwood", "Fig", "Sea Salt"), 13),
    Family("TEA", "Tea Lights", 2.50, 0.60, 1.2, 35, ("Tea Lights 24", "Tea Lights 50", "Scented Tea Lights"),
           ("Unscented", "Vanilla", "Citrus", "Rose", "Cinnamon"), 12),
    Family("BRW", "Tea & Coffee", 5.50, 0.45, 1.1, 30, ("Loose Tea", "Ground Coffee", "Coffee Beans"),
           ("Breakfast", "Earl Grey", "Colombian", "Ethiopian", "Decaf"), 13),
    Family("BTH", "Bath & Body", 6.95, 0.62, 1.0, 45, ("Hand Wash", "Bath Salts", "Body Lotion"),
           ("Mint", "Rose", "Oat", "Eucalyptus", "Neroli"), 13),
    Family("STA", "Stationery", 3.25, 0.58, 0.9, None, ("Notebook", "Greeting Cards", "Pencil Set"),
           ("Kraft", "Floral", "Botanical", "Marble", "Retro"), 12),
    Family("KIT", "Kitchenware", 12.95, 0.40, 1.0, None, ("Mug", "Teapot", "Storage Jar", "Tea Towel"),
           ("Enamel", "Stoneware", "Spotty", "Striped"), 13),
    Family("DEC", "Home Decor", 18.50, 0.50, 0.9, None, ("Photo Frame", "Wall Clock", "Vase"),
           ("Rustic", "Gilt", "Scandi", "Vintage", "Ceramic"), 12),
    Family("TEX", "Textiles", 14.95, 0.48, 0.8, None, ("Cushion Cover", "Throw", "Table Runner"),
           ("Linen", "Velvet", "Knitted", "Check", "Jacquard"), 12),
    Family("GAR", "Garden", 9.95, 0.45, 0.7, None, ("Planter", "Seed Kit", "Bird Feeder", "Watering Can"),
           ("Zinc", "Terracotta", "Herb", "Wildflower"), 12),
    Family("TOY", "Toys & Games", 11.50, 0.42, 0.7, None, ("Jigsaw", "Wooden Puzzle", "Card Game"),
           ("Classic", "Animal", "Space", "Pirate", "Travel"), 13),
    Family("PTY", "Party Supplies", 3.95, 0.60, 0.8, None, ("Bunting", "Napkins", "Paper Cups", "Balloons"),
           ("Gold", "Pastel", "Rainbow", "Silver"), 12),
    Family("LGT", "Lighting", 24.95, 0.44, 0.6, None, ("Table Lamp", "Fairy Lights", "Lantern"),
           ("Brass", "Warm White", "Rattan", "Glass", "Copper"), 13),
)

# co-purchase partners (symmetric): family index pairs and their lift weight
PARTNERS = ((0, 1, 9.0), (2, 5, 8.0), (3, 7, 6.0), (6, 11, 7.0), (9, 10, 7.0), (4, 10, 4.0), (6, 8, 3.0))
PREMIUM_PER_FAMILY = 2
PREMIUM_PRICE_FACTOR = 2.5
DISCONTINUED = ("CAN105", "KIT108", "TOY104", "GAR107")


def family_affinity() -> np.ndarray:
    """Family × family weights: 1 everywhere, the partner lift on partner pairs, 0 on the diagonal."""
    n = len(FAMILIES)
    a = np.ones((n, n))
    for i, j, w in PARTNERS:
        a[i, j] = a[j, i] = w
    np.fill_diagonal(a, 0.0)
    return a


def build_products() -> pd.DataFrame:
    """The catalog frame plus generator columns.

    Returns:
        Columns ``product_id, name, family, price, unit_cost, active`` (the
        canonical products file) and ``family_index, premium, weight,
        rebuy_days`` used by the generator (dropped before writing).
    """
    rows = []
    for fi, fam in enumerate(FAMILIES):
        combos = [(v, n) for n in fam.nouns for v in fam.variants]
        # spread picks over nouns so each family has every kind of product
        order = sorted(range(len(combos)), key=lambda k: (k % len(fam.variants), k // len(fam.variants)))
        standard = fam.size - PREMIUM_PER_FAMILY
        for k in range(fam.size):
            premium = k >= standard
            variant, noun = combos[order[k if not premium else k - standard]]
            step = 1.0 + 0.12 * ((k * 7) % 5 - 2)  # +-24 % around the family's base price
            price = fam.base_price * step * (PREMIUM_PRICE_FACTOR if premium else 1.0)
            price = np.floor(price) + 0.95 if price >= 2 else round(price, 2)
            margin = fam.margin + (0.12 if premium else 0.0) + 0.02 * ((k * 3) % 3 - 1)
            code = f"{fam.code}{101 + k}"
            rows.append({
                "product_id": code,
                "name": f"{'Premium ' if premium else ''}{variant} {noun}",
                "family": fam.name,
                "price": round(float(price), 2),
                "unit_cost": round(float(price) * (1 - margin), 2),
                "active": code not in DISCONTINUED,
                "family_index": fi,
                "premium": premium,
                # Zipf-like popularity within a family's standard range; premium is chosen separately
                "weight": 1.0 / (1 + (k if not premium else k - standard)) ** 0.8,
                "rebuy_days": fam.rebuy_days or 0,
            })
    out = pd.DataFrame(rows)
    for col in ("product_id", "name", "family"):
        out[col] = out[col].astype("string")
    return out
