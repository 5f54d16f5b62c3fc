"""RFC 9421 §2: the component values of a signature base.

Field values trimmed and unfolded, structured-field parameters, derived
components (@method, @target-uri, @authority, @path, @query, @query-param)
normalised as the RFC says, and the components we refuse to derive.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import pytest

from vox_activity.protocol.rfc9421 import signature_base

from .support.rfc9421 import HELLO_256, RFC_URL, only_signature, reason_of

# --- RFC 9421 §2: component values ----------------------------------------------------


def base_of(components: str, *, url: str = RFC_URL, method: str = "POST", **headers):
    """The base lines (without @signature-params) for ``components``."""
    headers["Signature-Input"] = f'sig1=({components});created=1;keyid="k"'
    lines = signature_base(method, url, headers, only_signature(headers)).split("\n")
    return lines[:-1]


def test_rfc9421_field_values_are_trimmed_and_unfolded():
    # RFC 9421 §2.1's examples.
    assert base_of(
        '"x-ows-header" "x-obs-fold-header" "cache-control" "example-dict" '
        '"x-empty-header"',
        **{
            "X-OWS-Header": "   Leading and trailing whitespace.  ",
            "X-Obs-Fold-Header": "Obsolete\r\n    line folding.",
            "Cache-Control": "max-age=60, must-revalidate",
            "Example-Dict": " a=1,    b=2;x=1;y=2,   c=(a   b   c)",
            "X-Empty-Header": " ",
        },
    ) == [
        '"x-ows-header": Leading and trailing whitespace.',
        '"x-obs-fold-header": Obsolete line folding.',
        '"cache-control": max-age=60, must-revalidate',
        '"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)',
        '"x-empty-header": ',
    ]


def test_rfc9421_structured_field_parameters():
    # RFC 9421 §2.1.1 and §2.1.2's examples.
    dictionary = {"Example-Dict": "  a=1, b=2;x=1;y=2, c=(a   b    c), d"}
    assert base_of(
        '"example-dict";key="a" "example-dict";key="d" "example-dict";key="b" '
        '"example-dict";key="c"',
        **dictionary,
    ) == [
        '"example-dict";key="a": 1',
        '"example-dict";key="d": ?1',
        '"example-dict";key="b": 2;x=1;y=2',
        '"example-dict";key="c": (a b c)',
    ]
    assert base_of('"content-digest";sf', **{"Content-Digest": f"  {HELLO_256}"}) == [
        f'"content-digest";sf: {HELLO_256}'
    ]
    assert base_of('"cache-control";sf', **{"Cache-Control": "max-age=60 ,  a"}) == [
        '"cache-control";sf: max-age=60, a'
    ]


@pytest.mark.parametrize(
    ("components", "headers", "reason"),
    [
        ('"example-dict";key="z"', {"Example-Dict": "a=1"}, "has no member 'z'"),
        ('"example-dict";key="a"', {"Example-Dict": "a=("}, "malformed example-dict"),
        ('"example-dict";sf', {"Example-Dict": "a=1"}, "not a known structured"),
        ('"cache-control";sf', {"Cache-Control": "a=("}, "not a valid structured"),
        ('"example-dict";bs', {"Example-Dict": "a"}, "unsupported parameter bs"),
        ('"example-dict";req', {"Example-Dict": "a"}, "unsupported parameter req"),
        ('"example-dict";tr', {"Example-Dict": "a"}, "unsupported parameter tr"),
        ('"example-dict";sf=2', {"Example-Dict": "a=1"}, "sf on header"),
        ('"example-dict";key=1', {"Example-Dict": "a=1"}, "key on header"),
        ('"x-missing"', {}, "covered header x-missing is missing"),
        ('"x-nl"', {"X-NL": "a\nb"}, "x-nl has a line break"),
        ('"x-8bit"', {"X-8bit": "caf\xe9"}, "non-ASCII"),
        ('"@status"', {}, "unsupported derived component @status"),
        ('"@method";req', {}, "unsupported parameter req on component @method"),
        ('"@query-param"', {}, '@query-param needs exactly one string "name"'),
        ('"@query-param";name="nope"', {}, "query parameter 'nope' is not in the URL"),
    ],
)
def test_components_we_cannot_derive(components, headers, reason):
    headers["Signature-Input"] = f'sig1=({components});created=1;keyid="k"'
    signature = only_signature(headers)
    assert reason in reason_of(signature_base, "POST", RFC_URL, headers, signature)


def test_rfc9421_derived_components():
    # RFC 9421 §2.2's examples, and the normalisations it asks for.
    url = "https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman"
    assert base_of(
        '"@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" '
        '"@query"',
        url=url,
    ) == [
        '"@method": POST',
        f'"@target-uri": {url}',
        '"@authority": www.example.com',
        '"@scheme": https',
        '"@request-target": /path?param=value&foo=bar&baz=bat%2Dman',
        '"@path": /path',
        '"@query": ?param=value&foo=bar&baz=bat%2Dman',
    ]
    assert base_of('"@query" "@path"', url="http://www.example.com") == [
        '"@query": ?',
        '"@path": /',
    ]
    assert base_of('"@query"', url="http://www.example.com/path?queryString") == [
        '"@query": ?queryString'
    ]


@pytest.mark.parametrize(
    ("url", "target_uri", "authority"),
    [
        (
            "HTTPS://WWW.Example.COM:443/P?Q",
            "https://www.example.com/P?Q",
            "www.example.com",
        ),
        ("http://example.com:80", "http://example.com/", "example.com"),
        ("http://example.com:443/", "http://example.com:443/", "example.com:443"),
        (
            "https://u:pw@example.com:8443/x#frag",
            "https://example.com:8443/x",
            "example.com:8443",
        ),
        ("https://[::1]:8443/inbox", "https://[::1]:8443/inbox", "[::1]:8443"),
        (
            "https://bücher.example/ä?q=ü b",
            "https://xn--bcher-kva.example/%C3%A4?q=%C3%BC%20b",
            "xn--bcher-kva.example",
        ),
        ("https://example.com/a?", "https://example.com/a?", "example.com"),
    ],
)
def test_target_uri_and_authority_are_normalised(url, target_uri, authority):
    assert base_of('"@target-uri" "@authority"', url=url) == [
        f'"@target-uri": {target_uri}',
        f'"@authority": {authority}',
    ]


def test_rfc9421_query_params():
    # RFC 9421 §2.2.8: values (and names) are decoded, then percent-encoded
    # with the application/x-www-form-urlencoded set, spaces as %20.
    url = (
        "https://example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value"
        "&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&qux=&t=a~b"
    )
    assert base_of(
        '"@query-param";name="var" "@query-param";name="bar" '
        '"@query-param";name="fa%C3%A7ade%22%3A%20" "@query-param";name="qux" '
        '"@query-param";name="t"',
        url=url,
    ) == [
        '"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value',
        '"@query-param";name="bar": with%20plus%20whitespace',
        '"@query-param";name="fa%C3%A7ade%22%3A%20": something',
        '"@query-param";name="qux": ',
        '"@query-param";name="t": a%7Eb',
    ]
    headers = {"Signature-Input": 'sig1=("@query-param";name="a");created=1;keyid="k"'}
    assert "occurs more than once" in reason_of(
        signature_base,
        "GET",
        "https://x.example/?a=1&a=2",
        headers,
        only_signature(headers),
    )
