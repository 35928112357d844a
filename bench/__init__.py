"""NextBest benchmarks: ``python -m bench.run`` (also ``make bench``); never part of the test suite."""
