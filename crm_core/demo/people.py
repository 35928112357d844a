"""Names, places and contact details for demo customers (both worlds).

Everything is drawn from fixed lists with a caller's numpy Generator, so the
same generator state gives the same people. E-mail domains are the reserved
``example.*`` domains and phone numbers sit in Ofcom's drama range
(07700 900xxx), so no demo record reaches a real person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIRST_NAMES = np.array([
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy",
    "Leo", "Lily", "Arthur", "Isabella", "Muhammad", "Rosie", "Oscar", "Sophia", "Charlie", "Grace",
    "Jacob", "Freya", "Thomas", "Willow", "Henry", "Florence", "William", "Emily", "James", "Ella",
    "Alfie", "Poppy", "Joshua", "Evie", "Freddie", "Elsie", "Archie", "Charlotte", "Ethan", "Evelyn",
    "Isaac", "Sienna", "Alexander", "Daisy", "Joseph", "Phoebe", "Edward", "Sofia", "Samuel", "Alice",
    "Max", "Harper", "Daniel", "Matilda", "Arlo", "Ruby", "Lucas", "Emilia", "Mohammed", "Maya",
    "Priya", "Aarav", "Chloe", "Ryan", "Fatima", "Liam", "Zara", "Kai", "Hannah", "Ben",
    "Sarah", "David", "Claire", "Paul", "Helen", "Mark", "Karen", "Andrew", "Susan", "Peter",
])

LAST_NAMES = np.array([
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke",
    "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes",
    "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan",
    "Scott", "Watson", "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell",
    "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum",
    "Miller", "Cox", "Hussain", "Marshall", "Simpson", "Price", "Anderson", "Adams", "Wilkinson", "Ali",
    "Ahmed", "Foster", "Ellis", "Murphy", "Chapman", "Mason", "Gray", "Richards", "Webb", "Griffiths",
])

# (region, city, relative population weight)
PLACES = [
    ("London", "London", 14.0),
    ("South East", "Brighton", 3.0), ("South East", "Reading", 2.5), ("South East", "Oxford", 2.0),
    ("South West", "Bristol", 3.0), ("South West", "Exeter", 1.5), ("South West", "Plymouth", 1.5),
    ("East of England", "Cambridge", 2.0), ("East of England", "Norwich", 2.0),
    ("West Midlands", "Birmingham", 5.0), ("West Midlands", "Coventry", 1.5),
    ("East Midlands", "Nottingham", 2.5), ("East Midlands", "Leicester", 2.5),
    ("North West", "Manchester", 5.0), ("North West", "Liverpool", 3.0),
    ("Yorkshire and the Humber", "Leeds", 3.5), ("Yorkshire and the Humber", "Sheffield", 2.5),
    ("Yorkshire and the Humber", "York", 1.0),
    ("North East", "Newcastle upon Tyne", 2.5),
    ("Wales", "Cardiff", 2.5), ("Wales", "Swansea", 1.0),
    ("Scotland", "Glasgow", 3.5), ("Scotland", "Edinburgh", 3.0), ("Scotland", "Aberdeen", 1.0),
    ("Northern Ireland", "Belfast", 2.0),
]

_EMAIL_DOMAINS = np.array(["example.com", "example.org", "example.net"])


def draw_people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw ``n`` people: names, e-mail, phone, region and city.

    Args:
        rng: the caller's seeded generator (consumed in a fixed order).
        n: number of people.
    Returns:
        A frame with string columns ``first_name, last_name, email, phone,
        region, city``; about 3 % of e-mails and 12 % of phones are missing.
    """
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    number = rng.integers(1, 1000, n).astype(str)
    domain = _EMAIL_DOMAINS[rng.integers(0, len(_EMAIL_DOMAINS), n)]
    email = pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + number + "@" + domain
    phone = "07700 900" + pd.Series(rng.integers(0, 1000, n)).astype(str).str.zfill(3)
    weights = np.array([p[2] for p in PLACES])
    place = rng.choice(len(PLACES), size=n, p=weights / weights.sum())
    region = np.array([p[0] for p in PLACES])[place]
    city = np.array([p[1] for p in PLACES])[place]
    no_email = rng.random(n) < 0.03
    no_phone = rng.random(n) < 0.12
    out = pd.DataFrame({
        "first_name": pd.array(first, dtype="string"),
        "last_name": pd.array(last, dtype="string"),
        "email": pd.array(email.to_numpy(), dtype="string"),
        "phone": pd.array(phone.to_numpy(), dtype="string"),
        "region": pd.array(region, dtype="string"),
        "city": pd.array(city, dtype="string"),
    })
    out.loc[no_email, "email"] = pd.NA
    out.loc[no_phone, "phone"] = pd.NA
    return out


def draw_consent(rng: np.random.Generator, n: int, end_day: np.datetime64,
                 opt_in_rate: float = 0.88, dnc_rate: float = 0.03) -> pd.DataFrame:
    """Draw consent flags and last-contacted dates as of ``end_day``.

    Args:
        rng: the caller's seeded generator.
        n: number of customers.
        end_day: the last day of the demo world; contacts fall in the 180 days before it.
        opt_in_rate: share who opted in to e-mail (about 4 % are unknown).
        dnc_rate: share marked do-not-contact.
    Returns:
        Frame with ``email_opt_in`` (boolean, NA unknown), ``do_not_contact``
        (boolean) and ``last_contacted_at`` (datetime64, NaT never contacted).
    """
    u = rng.random(n)
    opt_in = pd.array(u < opt_in_rate, dtype="boolean")
    opt_in[(u >= 0.96)] = pd.NA
    dnc = rng.random(n) < dnc_rate
    contacted = (rng.random(n) < 0.6) & ~dnc
    days_ago = rng.integers(0, 180, n)
    when = (np.datetime64(end_day, "D") - days_ago.astype("timedelta64[D]")).astype("datetime64[ns]")
    last = pd.Series(when).where(contacted)
    return pd.DataFrame({
        "email_opt_in": opt_in,
        "do_not_contact": pd.array(dnc, dtype="boolean"),
        "last_contacted_at": last.astype("datetime64[ns]"),
    })
