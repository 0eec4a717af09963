"""Personalize filters: parsing and validating filter expressions (reference §4.5)."""
