"""Measurements of the recognition layer on labelled development sets (see /work/shared/data)."""
