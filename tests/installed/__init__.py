"""Tests of built wheels, installed outside the source tree (run.py here runs them)."""
