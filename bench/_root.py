"""Imported first by every benchmark.

Run as ``python bench/NAME.py``, this folder comes first on ``sys.path`` and
``bench/feeds.py`` would shadow the ``feeds`` package: the project root takes the
folder's place.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent) if Path(p or ".").resolve() == _HERE else p for p in sys.path]
