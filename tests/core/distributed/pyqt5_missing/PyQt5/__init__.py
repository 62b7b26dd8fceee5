# ruff: noqa: N999 -- the stand-in must bear the name of the package it replaces
"""Test stand-in for an install without PyQt5: importing it fails as a missing module does.

Tests put the folder above this package first on PYTHONPATH, so that a process and the
processes it spawns behave as after the README's headless install.
"""
raise ModuleNotFoundError("No module named 'PyQt5'", name="PyQt5")
