"""Make the flat top-level scripts (encoding.py, lstm_drums.py, ...) importable from tests/."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
