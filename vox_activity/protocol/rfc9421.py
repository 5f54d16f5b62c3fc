"""RFC 9421 HTTP Message Signatures and RFC 9530 Content-Digest, both ways.

The Fediverse signs server-to-server requests with draft-cavage-12
(:mod:`vox_activity.signatures`), but it is moving to the standard: Mastodon
verifies RFC 9421 since 4.4 (by default since 4.5) and Fedify signs with it
first, falling back to draft-cavage only when refused ("double knocking",
https://swicg.github.io/activitypub-http-signature/).  This module is the
RFC 9421 half: pure cryptography and header rules, no models, no database,
no network.  Fetching the key named by :func:`key_id_of` and deciding which
actor may post stay with the callers, as for draft-cavage.

The API, from the top
    :func:`signature_scheme_of` (or :func:`has_rfc9421_signature`) says which
    scheme a request uses; :func:`key_id_of` names the key to fetch;
    :func:`verify_request` applies our rules and returns :class:`Verified`;
    :func:`sign_request` returns the headers to send.  Underneath, with no
    policy: :func:`parse_signatures`, :func:`select_signature`,
    :func:`signature_base`, :func:`verify_signature` and
    :func:`create_signature` (what the RFC's test vectors exercise), and
    :func:`content_digest` / :func:`check_content_digest` for RFC 9530.

Structured Fields
    ``Signature-Input``, ``Signature`` and ``Content-Digest`` are RFC 8941/9651
    Structured Field Dictionaries, and the ``@signature-params`` line of the
    signature base is the re-serialisation of one of them.  Both are done by
    `http-sf <https://pypi.org/project/http-sf/>`_, maintained by Mark
    Nottingham (an editor of RFC 8941 and 9651), tested against the shared
    structured-field test suite, typed, and what the independent
    ``http-message-signatures`` package builds on.  It fits: it parses
    dictionaries of inner lists with parameters and byte sequences, reports
    duplicated keys through a callback (which is how a label given twice is
    refused), serialises strictly, and raises only ``StructuredFieldError``
    on bad input.  Whatever it raises is turned into :class:`SignatureError`
    here, and each header is capped at :data:`MAX_FIELD_LENGTH` before it is
    parsed, as :mod:`vox_activity.signatures` caps its own header.

What we send (:func:`sign_request`)
    One signature, labelled ``sig1``, covering ``@method``, ``@target-uri``
    and, when there is a body (and on every POST, PUT and PATCH),
    ``content-digest``; parameters ``created``, ``keyid`` and ``alg``.
    That is exactly what Mastodon's verifier asks for (its security spec:
    "Only a single signature is supported", ``created`` present, ``@method``
    and ``@target-uri`` signed, ``Content-Digest`` present and signed,
    ``rsa-v1_5-sha256``; ``app/lib/signed_request.rb`` and the Linzer gem
    refuse several labels without a chosen one), and a subset of what Fedify
    signs by default (``@method @target-uri @authority host date
    content-digest``, ``packages/fedify/src/sig/http.ts``), whose verifier
    requires nothing beyond ``created``.  ``alg`` is always sent: RFC 9421
    allows leaving it out, but an RSA key cannot tell a verifier whether it
    signed PKCS#1 v1.5 or PSS, and Fedify and Mastodon both assume v1.5 when
    it is absent.  The digest is SHA-256, the only one Mastodon reads.

What we accept (:func:`verify_request`)
    See that function.  In short: ``created`` within ``SIGNATURE_MAX_SKEW``
    of our clock, ``expires`` not past, ``@method`` and the target URI
    covered, and a matching, covered ``Content-Digest`` whenever there is a
    body; ``rsa-v1_5-sha256``, ``rsa-pss-sha512`` and ``ed25519``.

Components
    ``@method``, ``@target-uri``, ``@authority``, ``@scheme``,
    ``@request-target``, ``@path``, ``@query`` and ``@query-param`` (RFC 9421
    §2.2), and header fields by lower-case name with the §2.1 value rules
    (trimmed, obsolete folding replaced by one space), including the ``sf``
    and ``key`` parameters for fields known to be Dictionaries.  ``bs``,
    ``req`` and ``tr`` are refused: the headers reach us already combined
    into one value per name, and these are request signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from vox_activity.conf import get_setting
from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.private_keys import PrivateKey, load_private_key

__all__ = [
    "ALGORITHMS",
    "DIGEST_ALGORITHMS",
    "MAX_FIELD_LENGTH",
    "Component",
    "SignatureInput",
    "Verified",
    "check_content_digest",
    "content_digest",
    "create_signature",
    "has_rfc9421_signature",
    "key_id_of",
    "parse_signatures",
    "select_signature",
    "sign_request",
    "signature_base",
    "signature_scheme_of",
    "verify_request",
    "verify_signature",
]

#: ``alg`` values we sign and verify (RFC 9421 §3.3.1, §3.3.2, §3.3.6).
ALGORITHMS = ("rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519")

#: RFC 9530 hash algorithm keys we compute and check.  ``sha-256`` is the one
#: Mastodon reads; ``sha-512`` is the one the RFC 9421 examples use.
DIGEST_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}

#: Largest Signature-Input, Signature or Content-Digest value we parse.  One
#: signature with a 4096-bit RSA key and a long key id is well under 1 KiB;
#: the cap stops a client from making us parse megabytes.
MAX_FIELD_LENGTH = 8192

#: Methods whose requests carry a body, so always need a Content-Digest.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

#: Signature parameters whose type we check (RFC 9421 §2.3); others are
#: allowed and ignored, since they are covered by the signature anyway.
_INT_PARAMS = ("created", "expires")
_STR_PARAMS = ("keyid", "alg", "nonce", "tag")

#: Fields that are Dictionaries, for the ``sf`` and ``key`` component
#: parameters; other fields fall back to http-sf's registry of known types.
_DICTIONARY_FIELDS = frozenset(
    {"content-digest", "repr-digest", "signature", "signature-input"}
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: A Structured Field dictionary key, which is what a label must be.
_LABEL = re.compile(r"^[a-z*][a-z0-9_\-.*]{0,63}$")
#: What an HTTP client leaves alone when it percent-encodes a URL
#: (``requests.utils.requote_uri`` keeps these and existing escapes).
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"

SignatureScheme = Literal["rfc9421", "cavage"]
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


# --- data -------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One covered component identifier: a name and its parameters, in order.

    ``str()`` gives the identifier as it appears in a signature base, e.g.
    ``"@method"`` or ``"@query-param";name="Pet"``.
    """

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return http_sf.ser([(self.name, dict(self.params))])

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class SignatureInput:
    """One labelled signature of a request: its Signature-Input member and bytes.

    ``params`` keeps the order the signer chose, which the signature covers.
    ``signature`` is None when the Signature header has no member with this
    label.  Typed parameters (``created``, ``keyid``...) are None when absent.
    """

    label: str
    components: tuple[Component, ...]
    params: tuple[tuple[str, Any], ...]
    signature: bytes | None

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def key_id(self) -> str | None:
        return self.param_dict.get("keyid")

    @property
    def algorithm(self) -> str | None:
        return self.param_dict.get("alg")

    @property
    def created(self) -> int | None:
        return self.param_dict.get("created")

    @property
    def expires(self) -> int | None:
        return self.param_dict.get("expires")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(component.name for component in self.components)

    def signature_params(self) -> str:
        """The ``@signature-params`` value: the inner list re-serialised."""
        return http_sf.ser([_inner_list(self)])


@dataclass(frozen=True)
class Verified:
    """What :func:`verify_request` checked: trust only what is listed here.

    ``components`` are the covered components, in the signer's order;
    ``algorithm`` is the one used (from ``alg``, or from the key when the
    signature has none).  ``created`` and ``expires`` are Unix times.
    """

    label: str
    key_id: str
    algorithm: str
    created: int
    expires: int | None
    components: tuple[Component, ...]
    nonce: str | None = None
    tag: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(component.name for component in self.components)


def _inner_list(signature: SignatureInput) -> tuple[list[Any], dict[str, Any]]:
    """A signature's Signature-Input member, as http-sf represents it."""
    items = [(c.name, dict(c.params)) for c in signature.components]
    return items, dict(signature.params)


# --- headers ----------------------------------------------------------------------


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` keyed by lower-case name; a name given in two spellings is
    refused because we could not tell which of the values was signed."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in lowered:
            raise SignatureError(f"header {key} is given more than once")
        lowered[key] = value
    return lowered


def has_rfc9421_signature(headers: Mapping[str, str]) -> bool:
    """Whether the request carries an RFC 9421 signature (a Signature-Input)."""
    return any(name.lower() == "signature-input" for name in headers)


def signature_scheme_of(headers: Mapping[str, str]) -> SignatureScheme | None:
    """Which HTTP signature scheme a request uses, if any.

    RFC 9421 Appendix A: a Signature-Input header means RFC 9421 (and the
    Signature header is then its dictionary); a Signature header alone is the
    older draft-cavage format.
    """
    names = {name.lower() for name in headers}
    if "signature-input" in names:
        return "rfc9421"
    if "signature" in names:
        return "cavage"
    return None


def _parse_field(value: object, field: str) -> dict[str, Any]:
    """Parse a Structured Field Dictionary from an untrusted header.

    Anything that is not one, is too long, or repeats a key raises
    :class:`SignatureError` naming the field; nothing else escapes.
    """
    if not isinstance(value, str):
        raise SignatureError(f"malformed {field} header: not a string")
    if len(value) > MAX_FIELD_LENGTH:
        raise SignatureError(f"malformed {field} header: too long")
    if not value.isascii():
        raise SignatureError(f"malformed {field} header: non-ASCII characters")

    def refuse_duplicate(key: str, context: str) -> None:
        if context == "dictionary":
            raise SignatureError(f"malformed {field} header: {key} is given twice")
        raise SignatureError(f"malformed {field} header: parameter {key} is repeated")

    try:
        parsed = http_sf.parse(
            value.encode("ascii"),
            tltype="dictionary",
            on_duplicate_key=refuse_duplicate,
        )
    except SignatureError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        # StructuredFieldError is a ValueError; the others are belt and braces
        # for a third-party parser fed hostile input.
        raise SignatureError(f"malformed {field} header: {exc}") from exc
    assert isinstance(parsed, dict)
    return parsed


# --- RFC 9530 Content-Digest ------------------------------------------------------


def content_digest(body: bytes, algorithm: str = "sha-256") -> str:
    """The ``Content-Digest`` value for ``body``, e.g. ``sha-256=:…:``."""
    if algorithm not in DIGEST_ALGORITHMS:
        raise ValueError(
            f"unsupported digest algorithm {algorithm!r}; "
            f"use one of {', '.join(DIGEST_ALGORITHMS)}"
        )
    digest = DIGEST_ALGORITHMS[algorithm](body).digest()
    return http_sf.ser({algorithm: (digest, {})})


def check_content_digest(value: str, body: bytes) -> None:
    """Check a ``Content-Digest`` header against ``body`` (RFC 9530).

    Every member we know (``sha-256``, ``sha-512``) must be a byte sequence
    that matches the body; members with other algorithms are ignored, as
    RFC 9530 §2 allows, but at least one known member must be there.
    Raises :class:`SignatureError` otherwise.
    """
    members = _parse_field(value, "Content-Digest")
    found = False
    for algorithm, (given, _params) in members.items():
        if algorithm not in DIGEST_ALGORITHMS:
            continue
        found = True
        if not isinstance(given, bytes):
            raise SignatureError(f"Content-Digest {algorithm} is not a byte sequence")
        expected = DIGEST_ALGORITHMS[algorithm](body).digest()
        if not hmac.compare_digest(given, expected):
            raise SignatureError("Content-Digest does not match the body")
    if not found:
        raise SignatureError(
            f"Content-Digest has no {' or '.join(DIGEST_ALGORITHMS)} digest"
        )


# --- parsing signatures -----------------------------------------------------------


def parse_signatures(headers: Mapping[str, str]) -> tuple[SignatureInput, ...]:
    """Every labelled signature of a request, in Signature-Input order.

    Only the shape is checked here: each Signature-Input member must be an
    inner list of lower-case component names (strings, none repeated) with
    well-typed parameters, and each Signature member a byte sequence.  A
    label given twice, or any malformed member, makes the whole header
    malformed (:class:`SignatureError`): two readings of one header must
    never be possible.  Returns ``()`` when there is no Signature-Input.
    """
    lowered = _lower_headers(headers)
    if "signature-input" not in lowered:
        return ()
    inputs = _parse_field(lowered["signature-input"], "Signature-Input")
    if not inputs:
        raise SignatureError("malformed Signature-Input header: no signature")
    values: dict[str, Any] = {}
    if "signature" in lowered:
        values = _parse_field(lowered["signature"], "Signature")
    result = []
    for label, (members, params) in inputs.items():
        raw = values.get(label)
        signature = None
        if raw is not None:
            if not isinstance(raw[0], bytes):
                raise SignatureError(
                    f"malformed Signature header: {label} is not a byte sequence"
                )
            signature = raw[0]
        result.append(
            SignatureInput(
                label=label,
                components=_components_of(label, members),
                params=_checked_params(label, params),
                signature=signature,
            )
        )
    return tuple(result)


def _components_of(label: str, members: object) -> tuple[Component, ...]:
    where = f"malformed Signature-Input header: {label}"
    if not isinstance(members, list):
        raise SignatureError(f"{where} is not an inner list")
    components: list[Component] = []
    seen: set[tuple[str, frozenset[tuple[str, Any]]]] = set()
    for value, params in members:
        if not isinstance(value, str) or isinstance(value, http_sf.Token):
            raise SignatureError(f"{where} has a component that is not a string")
        if value != value.lower() or not value:
            raise SignatureError(f"{where} has a component {value!r} not in lower case")
        # Equal identifiers with their parameters in another order are the
        # same identifier (RFC 9421 §2), and may not be covered twice.
        identity = (value, frozenset(params.items()))
        if identity in seen:
            raise SignatureError(f"{where} covers {value} twice")
        seen.add(identity)
        components.append(Component(value, tuple(params.items())))
    return tuple(components)


def _checked_params(label: str, params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    where = f"malformed Signature-Input header: {label}"
    for name in _INT_PARAMS:
        if name in params:
            value = params[name]
            # bool is an int in Python, and a bare "created" parses as True.
            if type(value) is not int or value < 0:
                raise SignatureError(f"{where}: {name} is not a timestamp")
    for name in _STR_PARAMS:
        if name in params:
            value = params[name]
            if type(value) is not str or not value:
                raise SignatureError(f"{where}: {name} is not a non-empty string")
    return tuple(params.items())


# --- choosing a signature -----------------------------------------------------------


def select_signature(headers: Mapping[str, str]) -> SignatureInput | None:
    """The signature we would verify: the first one our rules could accept.

    Only rules that can be read from the headers take part in the choice:
    a Signature value for the label, a ``keyid``, a ``created``, an ``alg``
    we support (or none), and coverage of ``@method`` and of the target
    (:func:`_target_problem`).  Rules that need the body, the URL or the
    clock are applied afterwards to this one signature by
    :func:`verify_request`, which refuses rather than trying the next one:
    :func:`key_id_of` and :func:`verify_request` must agree on the label,
    since the caller fetches the key of the first and hands it to the
    second, and a sender should not make us fetch one key per label.

    Peers send one signature (Mastodon accepts nothing else), labelled
    ``sig1`` by Fedify and by Mastodon's documentation, ``pyhms`` by the
    ``http-message-signatures`` package; the RFC's own examples use labels
    such as ``sig-b21`` and, for a proxy adding its own, ``proxy_sig``.  So
    the label is not used to choose: the first acceptable one wins.

    None when the request has no Signature-Input; :class:`SignatureError`
    when it has one but no signature is acceptable (the reason names each
    label and what is wrong with it).
    """
    candidates = parse_signatures(headers)
    if not candidates:
        return None
    reasons = []
    for candidate in candidates:
        problem = _header_problem(candidate)
        if problem is None:
            return candidate
        reasons.append(f"{candidate.label}: {problem}")
    if len(reasons) == 1:
        raise SignatureError(reasons[0].partition(": ")[2])
    raise SignatureError("no acceptable signature (" + "; ".join(reasons) + ")")


def _header_problem(candidate: SignatureInput) -> str | None:
    if candidate.signature is None:
        return f"Signature header has no value for label {candidate.label}"
    if candidate.key_id is None:
        return "signature has no keyid"
    if candidate.created is None:
        return "signature has no created time"
    if candidate.algorithm is not None and candidate.algorithm not in ALGORITHMS:
        return f"unsupported algorithm {candidate.algorithm!r}"
    names = candidate.names
    if "@method" not in names:
        return "signature does not cover @method"
    return _target_problem(names, has_query=False)


def _target_problem(names: tuple[str, ...], *, has_query: bool) -> str | None:
    """Whether the covered components pin the request's target URI.

    ``@target-uri`` does on its own.  Otherwise ``@authority`` (the server)
    and the path are needed: ``@request-target`` (path and query), or
    ``@path`` plus ``@query`` when the URL has a query.  Without the query a
    signed GET of one collection page could be replayed against another,
    and a signed POST to ``/inbox?x`` against ``/inbox?y``; a signature
    without ``@query`` on a URL without one stays valid only for that URL,
    since adding a query to it would then be refused.
    """
    if "@target-uri" in names:
        return None
    if "@authority" not in names:
        return "signature covers neither @target-uri nor @authority"
    if "@request-target" in names:
        return None
    if "@path" not in names:
        return "signature covers neither @target-uri nor @path"
    if has_query and "@query" not in names:
        return "signature does not cover @query, and the URL has a query"
    return None


def key_id_of(headers: Mapping[str, str]) -> str | None:
    """The ``keyid`` of the signature :func:`verify_request` would check.

    The key has to be fetched before anything can be verified, so this
    reads it first, with :func:`select_signature`.  None when the request
    has no RFC 9421 signature; :class:`SignatureError` when it has one that
    is malformed or that our rules cannot accept.
    """
    chosen = select_signature(headers)
    if chosen is None:
        return None
    assert chosen.key_id is not None
    return chosen.key_id


# --- the signature base -------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """The parts of a request's target URI, normalised as HTTP clients send them."""

    scheme: str
    authority: str
    path: str
    query: str | None

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path}{self.query_suffix}"

    @property
    def query_suffix(self) -> str:
        return "" if self.query is None else "?" + self.query


def _target(url: str) -> _Target:
    """Split an absolute http(s) URL the way RFC 9421 §2.2 derives components.

    Scheme and host are lower-cased, the default port dropped (§2.2.3), an
    empty path becomes ``/`` (§2.2.6); user info and fragment are never sent,
    so they are dropped.  Characters not allowed in a URI are percent-encoded
    as UTF-8, as HTTP clients do before sending (existing escapes are kept:
    ``@path`` and ``@query`` are compared undecoded).  Raises ValueError.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    host = parts.hostname  # lower-cased, brackets removed
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a bad port
    authority = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe=_URL_SAFE) or "/"
    query = quote(parts.query, safe=_URL_SAFE) if "?" in url.split("#")[0] else None
    return _Target(scheme, authority, path, query)


def _form_encode(text: str) -> str:
    """Percent-encode with the application/x-www-form-urlencoded set (§2.2.8)."""
    return quote(text, safe="*").replace("~", "%7E")


def _derived_value(component: Component, method: str, target: _Target) -> str:
    name, params = component.name, component.param_dict
    if name == "@query-param":
        if set(params) != {"name"} or type(params["name"]) is not str:
            raise SignatureError('@query-param needs exactly one string "name"')
        wanted = params["name"]
        values = [
            _form_encode(value)
            for key, value in parse_qsl(target.query or "", keep_blank_values=True)
            if _form_encode(key) == wanted
        ]
        if not values:
            raise SignatureError(f"query parameter {wanted!r} is not in the URL")
        if len(values) > 1:
            raise SignatureError(f"query parameter {wanted!r} occurs more than once")
        return values[0]
    if params:
        raise SignatureError(
            f"unsupported parameter {', '.join(params)} on component {name}"
        )
    if name == "@method":
        return method
    if name == "@target-uri":
        return target.uri
    if name == "@authority":
        return target.authority
    if name == "@scheme":
        return target.scheme
    if name == "@request-target":
        return target.path + target.query_suffix
    if name == "@path":
        return target.path
    if name == "@query":
        return "?" + (target.query or "")
    raise SignatureError(f"unsupported derived component {name}")


def _field_value(component: Component, headers: Mapping[str, str]) -> str:
    name, params = component.name, component.param_dict
    if name not in headers:
        raise SignatureError(f"covered header {name} is missing")
    # RFC 9421 §2.1: trim, and replace obsolete line folding with one space.
    value = re.sub(r"\r?\n[ \t]+", " ", headers[name]).strip(" \t")
    unsupported = set(params) - {"sf", "key"}
    if unsupported:
        raise SignatureError(
            f"unsupported parameter {', '.join(sorted(unsupported))} on header {name}"
        )
    if not params:
        return value
    if params.get("sf", True) is not True:
        raise SignatureError(f"parameter sf on header {name} is not a flag")
    if "key" not in params:
        return _reserialise(name, value)
    key = params["key"]
    if type(key) is not str:
        raise SignatureError(f"parameter key on header {name} is not a string")
    members = _parse_field(value, name)
    if key not in members:
        raise SignatureError(f"header {name} has no member {key!r}")
    return http_sf.ser([members[key]])


def _reserialise(name: str, value: str) -> str:
    """The strict serialisation of a structured header (``sf``, §2.1.1)."""
    if len(value) > MAX_FIELD_LENGTH:
        raise SignatureError(f"header {name} is too long")
    fallback = "dictionary" if name in _DICTIONARY_FIELDS else None
    try:
        parsed = http_sf.parse(value.encode("ascii"), name=name, tltype=fallback)
        return http_sf.ser(parsed)
    except KeyError as exc:
        raise SignatureError(f"header {name} is not a known structured field") from exc
    except (ValueError, TypeError, IndexError, UnicodeError) as exc:
        raise SignatureError(f"header {name} is not a valid structured field") from exc


def signature_base(
    method: str,
    url: str,
    headers: Mapping[str, str],
    signature: SignatureInput,
) -> str:
    """The signature base (RFC 9421 §2.5) of one signature of a request.

    ``url`` is the full target URI; ``headers`` may use any case.  A covered
    component that cannot be derived (a missing header, an unknown name or
    parameter, a value with a line break or a non-ASCII character) raises
    :class:`SignatureError`, as §2.5 requires.
    """
    lowered = _lower_headers(headers)
    try:
        target = _target(url)
    except ValueError as exc:
        raise SignatureError(f"cannot read the request URL: {exc}") from exc
    method = method.upper()
    lines = []
    for component in signature.components:
        if component.name.startswith("@"):
            value = _derived_value(component, method, target)
        else:
            value = _field_value(component, lowered)
        if "\n" in value or "\r" in value or not value.isascii():
            raise SignatureError(
                f"component {component.name} has a line break or non-ASCII text"
            )
        lines.append(f"{component}: {value}")
    lines.append(f'"@signature-params": {signature.signature_params()}')
    return "\n".join(lines)


# --- keys and algorithms ------------------------------------------------------------


def _public_key(public_key: str | PublicKey) -> PublicKey:
    """The key to verify with; it came from a remote actor, so any problem
    with it is the request's and raises :class:`KeyMismatch`."""
    key: object = public_key
    if isinstance(public_key, str):
        try:
            key = serialization.load_pem_public_key(public_key.encode("ascii"))
        except (ValueError, TypeError, UnicodeError) as exc:
            raise KeyMismatch("the public key is not valid PEM") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise KeyMismatch(f"unsupported public key type {type(key).__name__}")
    return key


def _algorithm_for(key: PublicKey, alg: str | None) -> str:
    """The algorithm to verify with: ``alg`` when given (it must suit the
    key), else the one the key implies (RFC 9421 §3.3.7).  An RSA key is
    taken to mean ``rsa-v1_5-sha256``, as Fedify and Mastodon do: the key
    cannot say whether it signed PSS, which is why we always send ``alg``."""
    implied = "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else None
    if alg is None:
        return implied or "rsa-v1_5-sha256"
    if alg not in ALGORITHMS:
        raise SignatureError(f"unsupported algorithm {alg!r}")
    if (alg == "ed25519") != (implied == "ed25519"):
        # The cached key may be an old one of another type: re-fetching it
        # can cure this, so it is a KeyMismatch.
        raise KeyMismatch(f"algorithm {alg} does not match the {_key_type(key)} key")
    return alg


def _key_type(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    return type(key).__name__


#: RFC 9421 §3.3.1: RSASSA-PSS with SHA-512, MGF1 SHA-512, a 64-byte salt.
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)


def _verify_bytes(
    key: PublicKey, algorithm: str, signature: bytes, data: bytes
) -> None:
    if isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, data)
    elif algorithm == "rsa-pss-sha512":
        key.verify(signature, data, _PSS, hashes.SHA512())
    else:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def _sign_bytes(key: PrivateKey, algorithm: str, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if algorithm == "rsa-pss-sha512":
        return key.sign(data, _PSS, hashes.SHA512())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


# --- verifying ----------------------------------------------------------------------


def verify_signature(
    method: str,
    url: str,
    headers: Mapping[str, str],
    signature: SignatureInput,
    public_key: str | PublicKey,
    *,
    key_algorithm: str | None = None,
) -> str:
    """Check the cryptography of one signature, and nothing else; return its algorithm.

    No policy: freshness, coverage and digests are :func:`verify_request`'s
    business.  This is the step the RFC 9421 test vectors exercise.
    ``key_algorithm`` is the algorithm the application knows the key to be
    used with, for signatures without ``alg`` (RFC 9421 §3.2 step 5; the
    RFC's own RSA-PSS examples rely on it); an ``alg`` in the signature must
    still agree with it.
    :class:`KeyMismatch` when the key does not verify the signature (or does
    not suit its ``alg``), :class:`SignatureError` when the signature base
    cannot be built.
    """
    if signature.signature is None:
        raise SignatureError(
            f"Signature header has no value for label {signature.label}"
        )
    key = _public_key(public_key)
    algorithm = _algorithm_for(key, signature.algorithm or key_algorithm)
    if key_algorithm is not None and algorithm != key_algorithm:
        raise KeyMismatch(f"algorithm {algorithm} is not the key's {key_algorithm}")
    base = signature_base(method, url, headers, signature)
    try:
        _verify_bytes(key, algorithm, signature.signature, base.encode("ascii"))
    except InvalidSignature as exc:
        raise KeyMismatch("signature does not verify") from exc
    return algorithm


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: str | PublicKey,
    *,
    now: datetime | None = None,
    max_skew: int | None = None,
) -> Verified:
    """Check a request's RFC 9421 signature against ``public_key``.

    ``url`` is the full target URI as the server sees it (scheme, host and
    port as the client addressed us, and the request target as received:
    behind a proxy, rebuild it from the forwarded scheme and host).
    ``public_key`` is a PEM string or a ``cryptography`` RSA or Ed25519
    public key, normally the one named by :func:`key_id_of`.  The signature
    checked is the one :func:`select_signature` picks.  Beyond a valid
    signature we insist on, and why:

    * ``@method`` covered, and the target URI pinned (:func:`_target_problem`):
      ``@target-uri``, or ``@authority`` with ``@request-target`` or with
      ``@path`` (and ``@query`` when the URL has one).  Otherwise a captured
      signature could be replayed to another server, path or query.
    * When there is a body, or the method is POST, PUT or PATCH:
      ``content-digest`` covered, present and matching the body.  The
      signature covers headers only; without a signed digest anyone holding
      one signed request could swap in a body of their own.  A covered
      Content-Digest is checked even when there is no body.
    * ``created`` present and within ``max_skew`` seconds of ``now`` either
      way (``SIGNATURE_MAX_SKEW``, an hour by default, the same window as
      for draft-cavage and as Fedify's).  That bounds how long a captured
      request can be replayed, while tolerating skewed clocks and queued
      deliveries; senders sign every retry afresh.
    * ``expires``, when present, not in the past: it is the signer's own
      statement of how long the signature may be used.
    * ``alg``, when present, one of :data:`ALGORITHMS` and of the key's type
      (RSA for the ``rsa-*`` ones); when absent, RSA keys verify as
      ``rsa-v1_5-sha256`` and Ed25519 keys as ``ed25519`` (§3.3.7).

    Failures raise :class:`SignatureError` with the reason, or its subclass
    :class:`KeyMismatch` when the request is well formed but the key does not
    verify it (the only failure a fresh copy of the key can cure).
    """
    if max_skew is None:
        max_skew = int(get_setting("SIGNATURE_MAX_SKEW"))
    moment = _aware(now or datetime.now(UTC)).timestamp()
    lowered = _lower_headers(headers)
    if "signature-input" not in lowered:
        raise SignatureError("missing Signature-Input header")
    if "signature" not in lowered:
        raise SignatureError("missing Signature header")
    chosen = select_signature(lowered)
    assert chosen is not None and chosen.created is not None
    assert chosen.key_id is not None

    try:
        has_query = _target(url).query is not None
    except ValueError as exc:
        raise SignatureError(f"cannot read the request URL: {exc}") from exc
    problem = _target_problem(chosen.names, has_query=has_query)
    if problem is not None:
        raise SignatureError(problem)

    body = body or b""
    needs_digest = bool(body) or method.upper() in BODY_METHODS
    covers_digest = "content-digest" in chosen.names
    if needs_digest and not covers_digest:
        raise SignatureError("signature does not cover content-digest")
    if covers_digest:
        if "content-digest" not in lowered:
            raise SignatureError("missing Content-Digest header")
        check_content_digest(lowered["content-digest"], body)

    age = moment - chosen.created
    if age > max_skew:
        raise SignatureError("signature created time is too old")
    if age < -max_skew:
        raise SignatureError("signature created time is in the future")
    if chosen.expires is not None and moment > chosen.expires:
        raise SignatureError("signature has expired")

    algorithm = verify_signature(method, url, lowered, chosen, public_key)
    params = chosen.param_dict
    return Verified(
        label=chosen.label,
        key_id=chosen.key_id,
        algorithm=algorithm,
        created=chosen.created,
        expires=chosen.expires,
        components=chosen.components,
        nonce=params.get("nonce"),
        tag=params.get("tag"),
    )


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- signing ------------------------------------------------------------------------

#: What we cover, in this order: Mastodon's required set (see the module
#: docstring); ``content-digest`` is added for requests with a body.
SIGNED_COMPONENTS = ("@method", "@target-uri")


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    algorithm: str = "rsa-v1_5-sha256",
    now: datetime | None = None,
    label: str = "sig1",
    components: Iterable[str] | None = None,
) -> dict[str, str]:
    """The headers to send: ``headers`` plus Content-Digest, Signature-Input
    and Signature.

    A request with a body (and any POST, PUT or PATCH, whose empty body is
    still asserted) gets a fresh SHA-256 ``Content-Digest`` and covers it.
    Stale Content-Digest, Signature-Input and Signature headers in
    ``headers`` are replaced (a draft-cavage ``Signature`` too: both schemes
    use that name, so one request carries one of them).  ``url`` must be the
    URL the HTTP client will request; ``components`` overrides the covered
    components (field names must then be in ``headers``), for tests and for
    peers that ask for more.  Programming errors (a key id or label that
    cannot be serialised, a key that does not suit ``algorithm``) raise
    ValueError.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    if not _LABEL.match(label):
        raise ValueError(f"label {label!r} is not a structured field key")
    if not key_id or not key_id.isascii() or not key_id.isprintable():
        raise ValueError(f"keyid {key_id!r} cannot be put in a Signature-Input")
    method = method.upper()

    out = dict(headers)
    for name in list(out):
        if name.lower() in ("content-digest", "signature-input", "signature"):
            del out[name]
    covered = list(SIGNED_COMPONENTS if components is None else components)
    if body is not None or method in BODY_METHODS:
        out["Content-Digest"] = content_digest(body or b"")
        if "content-digest" not in covered:
            covered.append("content-digest")

    created = int(_aware(now or datetime.now(UTC)).timestamp())
    signature = SignatureInput(
        label=label,
        components=tuple(Component(name) for name in covered),
        params=(("created", created), ("keyid", key_id), ("alg", algorithm)),
        signature=None,
    )
    value = create_signature(method, url, out, signature, private_key_pem)
    out["Signature-Input"] = http_sf.ser({label: _inner_list(signature)})
    out["Signature"] = http_sf.ser({label: (value, {})})
    return out


def create_signature(
    method: str,
    url: str,
    headers: Mapping[str, str],
    signature: SignatureInput,
    private_key_pem: str,
) -> bytes:
    """The signature bytes of ``signature`` over a request, and nothing else.

    The counterpart of :func:`verify_signature`, used by :func:`sign_request`
    and by the tests that reproduce the RFC's deterministic examples.  The
    algorithm is the signature's ``alg``, else the key's (``ed25519``, or
    ``rsa-v1_5-sha256`` for RSA).  ValueError when the key does not suit the
    algorithm or a covered component cannot be derived.
    """
    key = load_private_key(private_key_pem)
    algorithm = signature.algorithm or (
        "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "rsa-v1_5-sha256"
    )
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    if (algorithm == "ed25519") != isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError(
            f"algorithm {algorithm} cannot sign with an {_key_type(key)} key"
        )
    try:
        base = signature_base(method, url, headers, signature)
    except SignatureError as exc:
        raise ValueError(f"cannot sign this request: {exc.reason}") from exc
    return _sign_bytes(key, algorithm, base.encode("ascii"))
