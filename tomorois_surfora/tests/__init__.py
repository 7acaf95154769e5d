"""Tests: engine tests (no Scipion) and protocol tests in real pyworkflow projects."""
