"""Append-only audit history of every change to regulated data."""
