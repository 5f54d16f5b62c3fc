"""Helpers for the test modules: plain functions and classes, no fixtures.

Test modules import from here (``from .support.remote_actors import
make_remote``), never from conftest or from another test module; the
fixtures that wrap these helpers are in ``tests/conftest.py``.

=====================  ==========================================================
``constants``          media types, JSON-LD contexts, the test site's origin
``local_site``         django-vox notifications of the test site, ``APClient``
``remote_actors``      cached remote actors with keys the test holds, signed
                       POSTs to our inboxes
``remote_web``         :class:`RemoteWeb`, the in-process fake of other servers
                       (the ``remote_web`` fixture)
``records``            rows, signals and handler inputs a test observes
``slow_servers``       a loopback server that answers a byte at a time
``services``           skip (or fail in CI) when Redis or a browser is missing
=====================  ==========================================================

The over-the-wire fake, remote servers on 127.0.0.1 that check signatures
with independent libraries, is ``tests/fediverse.py``.
"""
