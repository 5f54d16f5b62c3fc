"""Sphinx configuration for the vox_activity documentation.

No extensions and no network: the pages are plain reStructuredText, built with
the theme that ships with Sphinx.  The version is read from the package's
source text, so building the docs never imports Django or vox_activity.
"""

import re
from pathlib import Path

_init = Path(__file__).resolve().parent.parent / "vox_activity" / "__init__.py"
_match = re.search(r'^__version__ = "([^"]+)"', _init.read_text(), re.MULTILINE)

project = "vox_activity"
author = "the vox_activity authors"
copyright = "the vox_activity authors"
release = _match.group(1) if _match else "unknown"
version = release

extensions: list[str] = []
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
