"""The outcomes loop: holdout groups, conversions, uplift with honest uncertainty, and experiments from elsewhere."""
