"""Ladder feature: eligibility rules for each rung of the Tianjin innovation ladder."""
