"""The leadscore command line."""
