"""pytest configuration: a headless Scipion environment, set before any test imports pyworkflow."""
from tomorois_surfora.tests.scipion_env import configure

configure()
