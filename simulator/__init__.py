"""The built-in simulated audience and its oracle: a data source, not a feature."""
