"""One training run for every data source: fit, judge, log, register, promote."""
