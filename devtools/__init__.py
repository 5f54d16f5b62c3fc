"""Checks ``dev.py`` runs on the project itself: its distributions, its install recipe.

Standard library only, like ``dev.py``; not part of the vox-activity package.
"""
