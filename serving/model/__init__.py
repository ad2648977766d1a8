"""The model artifact that training writes and serving reads."""
