"""Lead tables: which columns a table model reads, how they are prepared and said in words."""
