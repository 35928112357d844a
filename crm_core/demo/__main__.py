"""Command line of the demo generator: ``python -m crm_core.demo --help``."""

from __future__ import annotations

import argparse
import sys

from crm_core.demo import generate_bank, generate_retail, write_samples, write_scaled_transactions, write_world


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m crm_core.demo", description="NextBest demo data generator.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("write-samples", help="regenerate the shipped sample files (byte-identical every time)")
    p.add_argument("directory", help="target folder, normally data/samples")
    p = sub.add_parser("write-world", help="write one demo world, one file per dataset")
    p.add_argument("world", choices=["retail", "bank"])
    p.add_argument("directory")
    p.add_argument("--fmt", choices=["csv", "xlsx"], default="csv")
    p.add_argument("--seed", type=int, help="random seed (default: 7 retail, 11 bank)")
    p.add_argument("--customers", type=int, default=5000)
    p.add_argument("--lines", type=int, help="transaction lines (default: the world's own)")
    p = sub.add_parser("write-scaled", help="stream a benchmark-sized retail transactions CSV")
    p.add_argument("path")
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    if args.command == "write-samples":
        for path in write_samples(args.directory):
            print(path)
    elif args.command == "write-world":
        make = generate_retail if args.world == "retail" else generate_bank
        kwargs = {"n_customers": args.customers}
        if args.seed is not None:
            kwargs["seed"] = args.seed
        if args.lines is not None:
            kwargs["n_lines"] = args.lines
        for path in write_world(make(**kwargs), args.directory, fmt=args.fmt):
            print(path)
    else:
        lines = write_scaled_transactions(args.path, args.customers, args.lines, args.seed)
        print(f"{args.path}: {lines} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
