"""The benchmark of vox_activity against django-vox's built-in activity backend.

Run it with ``python3 bench/run.py`` (see bench/README.md).
"""
