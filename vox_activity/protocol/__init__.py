"""Pure protocol pieces: no models, no database, no network.

Vocabulary, IRIs, payload reading, signatures (draft-cavage, RFC 9421,
integrity proofs), retry policy and HTML sanitising live here, so each can
be read and tested on its own.  Nothing in this package imports from the
rest of vox_activity except :mod:`vox_activity.conf` and
:mod:`vox_activity.exceptions`.
"""
