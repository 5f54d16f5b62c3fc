"""Sphinx configuration for the vox_activity documentation.

No network: the pages are reStructuredText, built with the theme that ships
with Sphinx.  The API reference (``api.rst``) uses ``sphinx.ext.autodoc``,
which imports the package, so Django is set up first with the smallest
settings under which it imports (``django_settings.py``, next to this file).
The version is read from the package's source text.
"""

import os
import re
import sys
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(_root), str(Path(__file__).resolve().parent)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_settings")

import django  # noqa: E402

django.setup()

_init = _root / "vox_activity" / "__init__.py"
_match = re.search(r'^__version__ = "([^"]+)"', _init.read_text(), re.MULTILINE)

project = "vox_activity"
author = "the vox_activity authors"
copyright = "the vox_activity authors"
release = _match.group(1) if _match else "unknown"
version = release

extensions: list[str] = ["sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"
highlight_language = "python"
pygments_style = "sphinx"

html_theme = "alabaster"
html_theme_options = {
    "description": "An ActivityPub backend for django-vox",
    "fixed_sidebar": False,
}
html_static_path: list[str] = []
html_title = f"vox_activity {release}"
