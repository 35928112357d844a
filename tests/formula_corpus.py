"""Text that a spreadsheet would run as a formula, for the tests of every file NextBest writes."""

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
PAYLOADS = (
    '=HYPERLINK("http://evil.example/x","click")',
    "@SUM(A1:A2)",
    "=cmd|' /C calc'!A0",
    "-1+cmd|' /C calc'!A0",
    "-2+3",
    "+1+1",
    "=1+1",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    '"=1+1',
    "'=1+1",
    " ' @SUM(1)",
    "=2*3;",
    *(f"{t}A1" for t in TRIGGERS),
    *(f"  {t}A1" for t in TRIGGERS),
    *(f"'{t}A1" for t in TRIGGERS),
    *(f'"{t}A1' for t in TRIGGERS),
)
SAFE_NUMBERS_AS_TEXT = ("-12.5", "+3", "-0", "1e5")


def is_formula_in_a_spreadsheet(cell: str) -> bool:
    """Whether a spreadsheet would run this CSV cell: a trigger after leading spaces and quotes, no apostrophe first."""
    stripped = cell.lstrip(" \"")
    return bool(stripped) and stripped[0] in TRIGGERS and not cell.startswith("'")
