"""What a feature is: reading and validating inputs, point-in-time features, lead tables."""
