"""NumPy kernels over integer-coded events: counts, recency, rhythm, content, id lookups."""
