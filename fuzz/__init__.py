"""Differential fuzzing of allm's sans-IO API: the native backend against the pure twin."""
