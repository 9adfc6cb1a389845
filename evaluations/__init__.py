"""Whistles (吹哨/报到), reverse evaluations, scorecards and rankings (issue 6)."""
