"""The site that docs/integrate.rst builds, step by step, as real code.

A brand-new Django project (``mysite``) with one app of its own (``notes``:
people write short notes), wired to vox_activity exactly as the page says.
The page shows these files with ``literalinclude``, so what it tells a
reader to write is what runs here.

``scenario.py`` follows the page from ``migrate`` to a note delivered, signed,
to a follower on another server (a fake one, ``tests/fediverse.py``); it runs
in a process of its own (``tests/test_walkthrough.py``), because a new project
has its own settings, URLs and registrations, which must not mix with the
demo blog's that the rest of the suite uses.  In that process this directory
is on ``sys.path``, so the modules are ``mysite`` and ``notes``, as in a new
project.
"""
