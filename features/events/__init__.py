"""Event logs in: read, mapped onto the contract, validated and deduplicated."""
