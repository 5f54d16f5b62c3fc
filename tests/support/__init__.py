"""Helpers for the test modules: plain functions, classes and constants, no fixtures.

Test modules import from here (``from .support.remote_actors import
make_remote``), never from conftest or from another test module; the
fixtures that wrap these helpers are in ``tests/conftest.py``.

=====================  ==========================================================
``constants``          media types, JSON-LD contexts, the test site's origin
``local_site``         django-vox notifications of the test site, ``APClient``
``remote_actors``      cached remote actors with keys the test holds, signed
                       POSTs to our inboxes, actors served by ``fediverse``
``remote_web``         ``RemoteWeb``, the in-process fake of other servers (the
                       ``remote_web`` fixture)
``records``            rows, signals and handler inputs a test observes
``slow_servers``       a loopback server that answers a byte at a time
``loopback_http``      plain HTTP servers on 127.0.0.1 for the HTTP client's tests
``services``           skip (or fail in CI) when Redis is missing
``inbox``              the inbox tests' addresses, follow rows and look-ups
``outbound``           the outbound tests' addresses, keys, fast settings, a note,
                       the sweep command, signatures checked by ``fediverse``
``hostile_input``      IRIs that once broke something, for the trust-input tests
``parsed_html``        sanitised HTML parsed again, Mastodon-shaped samples
``cavage``             draft-cavage HTTP Signatures: a key, requests, ``forge``
``rfc9421``            RFC 9421 and 9530: the RFC's keys, requests, ``forge``
``proofs``             Object Integrity Proofs: published vectors and keys
``diagnostics``        reading findings, actors and settings for fake servers
=====================  ==========================================================

The over-the-wire fake, remote servers on 127.0.0.1 that check signatures
with independent libraries, is ``tests/fediverse.py``.
"""
