"""Fidelity checking: golden transcripts recorded from real LVM, and differential testing."""
