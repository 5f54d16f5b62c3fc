"""Received HTML made safe (vox_activity.protocol.html.sanitize_html, plain_text).

Safety is asserted on the output's structure, parsed again with the standard
library's ``html.parser`` (``tests/support/parsed_html.py``): no element,
attribute or link scheme outside the allow-list survives, whatever went in:
Mastodon-shaped content keeps its shape, XSS payloads are neutralised, and
any text is safe and idempotent.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vox_activity.protocol.html import LINK_REL, LINK_SCHEMES, plain_text, sanitize_html

from .support.parsed_html import MASTODON_NOTE, MENTION, Parsed, assert_safe


def test_mastodon_note_keeps_its_mentions_hashtags_links_and_paragraphs():
    output = sanitize_html(MASTODON_NOTE)
    parsed = assert_safe(output)
    assert parsed.text == (
        "@Gargron hello #fediverse"
        "see https://example.com/a/very/long/path/to/somewhere"
        "second line"
    )
    assert parsed.tags == [
        "p", "span", "a", "span", "a", "span",
        "p", "a", "span", "span", "span", "br",
    ]  # fmt: skip
    links = [attrs for tag, attrs in parsed.elements if tag == "a"]
    assert [(link["href"], link.get("class")) for link in links] == [
        ("https://mastodon.social/@Gargron", "u-url mention"),
        ("https://mastodon.social/tags/fediverse", "mention hashtag"),
        ("https://example.com/a/very/long/path/to/somewhere", None),
    ]
    spans = [attrs.get("class") for tag, attrs in parsed.elements if tag == "span"]
    assert spans == [
        "h-card", None, None, "invisible", "ellipsis", "invisible",
    ]  # fmt: skip
    assert parsed.elements[1][1]["translate"] == "no"


def test_mastodon_output_is_kept_as_mastodon_renders_it():
    """The same fragment, attribute for attribute, plus our rel and target."""
    rel = f'target="_blank" rel="{LINK_REL}"'
    assert sanitize_html(MENTION) == (
        '<span class="h-card" translate="no"><a href="https://mastodon.social/'
        f'@Gargron" class="u-url mention" {rel}>@<span>Gargron</span></a></span>'
    )
    assert sanitize_html("<p>one<br>two</p><p>three</p>") == (
        "<p>one<br>two</p><p>three</p>"
    )


@pytest.mark.parametrize(
    "markup",
    [
        "<blockquote><p>quoted</p></blockquote>",
        "<pre><code>x = 1 &lt; 2</code></pre>",
        '<ol start="3" reversed=""><li value="5">five</li></ol>',
        "<ul><li>one</li><li>two</li></ul>",
        "<p><strong>s</strong><b>b</b><em>e</em><i>i</i></p>",
        "<p><del>d</del><s>s</s><u>u</u><code>c</code></p>",
        "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>",
        '<p lang="en-GB">colour</p>',
        '<p class="quote-inline">RE: earlier post</p>',
    ],
)
def test_basic_formatting_mastodon_keeps_is_kept(markup):
    assert sanitize_html(markup) == markup


def test_links_get_rel_and_target_whatever_they_came_with():
    output = sanitize_html('<a href="https://a.example/" rel="me" target="_top">a</a>')
    assert (
        output == f'<a href="https://a.example/" target="_blank" rel="{LINK_REL}">a</a>'
    )


@pytest.mark.parametrize("url_scheme", sorted(LINK_SCHEMES))
def test_every_mastodon_link_scheme_is_kept(url_scheme):
    href = f"{url_scheme}://host.example/x"
    (_, attrs) = Parsed(sanitize_html(f'<a href="{href}">x</a>')).elements[0]
    assert attrs["href"] == href


@pytest.mark.parametrize(
    "href",
    [
        "/tags/local",  # would point into this site
        "//evil.example/x",  # scheme-relative: still another host
        "#fragment",
        "?q=1",
        "mailto:someone@example.com",  # not a scheme Mastodon keeps
        "ftp://files.example/",
    ],
)
def test_relative_and_other_links_lose_their_href_but_keep_their_text(href):
    output = sanitize_html(f'<p><a href="{href}" class="mention">the text</a></p>')
    parsed = assert_safe(output)
    assert parsed.text == "the text"
    assert all("href" not in attrs for _, attrs in parsed.elements)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<h1>Title</h1><p>body</p>", "Title<p>body</p>"),
        (
            '<span class="h-screen p-4 mention">x</span>',
            '<span class="mention">x</span>',
        ),
        ('<span class="bg-red-500">x</span>', "<span>x</span>"),
        ('<span translate="yes">x</span>', "<span>x</span>"),
        ('<p lang="en&quot; onclick=&quot;x">x</p>', "<p>x</p>"),
        ('<ol start="1; color:red"><li value="x">a</li></ol>', "<ol><li>a</li></ol>"),
        ('<p style="position:fixed;top:0">x</p>', "<p>x</p>"),
        ('<p id="main" title="t" dir="rtl">x</p>', "<p>x</p>"),
        (
            '<p>a<img src="https://tracker.example/pixel.gif" alt="pic">b</p>',
            "<p>ab</p>",
        ),
        ("<div><table><tr><td>cell</td></tr></table></div>", "cell"),
        (
            '<form action="https://x.e"><input name="q"><button>Go</button></form>',
            "Go",
        ),
        ("<p>a<!-- a comment -->b</p>", "<p>ab</p>"),
        ("<textarea>typed</textarea><select><option>o</option></select>", ""),
        ("<p>a<math><mi>x</mi></math>b</p>", "<p>ab</p>"),
    ],
)
def test_everything_else_is_removed(markup, expected):
    assert sanitize_html(markup) == expected


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert('XSS')</script>",
        "<style>body { display: none }</style>",
        "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
        "<template><p>hidden</p></template>",
        "<noscript><p>alert('XSS')</p></noscript>",
        "<iframe src='https://x.example'><p>alert('XSS')</p></iframe>",
        "<svg><script>alert('XSS')</script></svg>",
        "<svg><style>*{}</style><text>alert('XSS')</text></svg>",
        "<object data='x.swf'>alert('XSS')</object>",
        "<xmp><p>alert('XSS')</p></xmp>",
    ],
)
def test_code_and_embedded_documents_are_dropped_not_shown(markup):
    output = sanitize_html(f"before{markup}after")
    assert output == "beforeafter"


# --- XSS payloads (OWASP filter evasion cheat sheet style) ---------------------

XSS_PAYLOADS = [
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099'
    "&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101"
    '&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041">',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;'
    '&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
    "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114"
    '&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041">x</a>',
    '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61'
    '&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29">x</a>',
    "<a href=\"jav\tascript:alert('XSS');\">x</a>",
    "<a href=\"jav&#x09;ascript:alert('XSS');\">x</a>",
    "<a href=\"jav&#x0A;ascript:alert('XSS');\">x</a>",
    "<a href=\"jav&#x0D;ascript:alert('XSS');\">x</a>",
    "<a href=\" &#14;  javascript:alert('XSS');\">x</a>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K">x</a>',
    "<a href=\"vbscript:msgbox('XSS')\">x</a>",
    '<a href="javascript&colon;alert(1)">x</a>',
    '<SCRIPT/XSS SRC="https://xss.example/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<SCRIPT SRC=https://xss.example/xss.js?< B >",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=https://xss.example/scriptlet.html <",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE>"
    "<UL><LI>XSS</br>",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD>x</TD></TABLE>",
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    '<OBJECT TYPE="text/x-scriptlet" DATA="https://xss.example/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH">',
    '<a href="https://ok.example" onclick="alert(1)" style="x">ok</a>',
    '<a href="https://ok.example"<script>alert(1)</script>>y</a>',
    "<p><a href='https://x.example'>unclosed <b>bold <i>nested",
    "<div><p>a<div><p>b</div></p></div></a></span></p>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    '<a href="https://x.example"><a href="javascript:alert(1)">inner</a></a>',
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "<x onclick=alert(1)>click</x>",
    "<details open ontoggle=alert(1)>",
    '<video><source onerror="alert(1)">',
    '<a href="https://x.example" \x00onclick=alert(1)>z</a>',
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_neutralised(payload):
    output = sanitize_html(payload)
    assert_safe(output)
    # No executable context is left in any form the parser would honour.
    lowered = output.lower()
    for marker in ("<script", "<img", "<svg", "<iframe", "<style", "<object", "<embed"):
        assert marker not in lowered, (payload, output)


def test_script_content_is_never_shown_as_text():
    payload = '<p>hi</p><script>alert("pwned")</script><style>p{}</style>'
    assert Parsed(sanitize_html(payload)).text == "hi"


def test_text_that_looks_like_markup_stays_text():
    output = sanitize_html('1 < 2 & 3 > 2, "quoted" <not a tag')
    assert Parsed(output).text == '1 < 2 & 3 > 2, "quoted" '
    assert "<not" not in output


@pytest.mark.parametrize("value", [None, "", 12, ["<p>x</p>"], {"content": "x"}])
def test_anything_but_a_string_is_empty(value):
    assert sanitize_html(value) == ""


# --- properties over arbitrary input -----------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "<", ">", "</", "/>", "=", '"', "'", "`", " ", "\t", "\n", "&", "&#", "#",
        ";", "x", "a", "p", "br", "script", "style", "img", "svg", "math", "href",
        "src", "onerror", "onclick", "javascript:", "data:", "https://e.example/",
        "/tags/t", "class", "h-card", "mention", "invisible", "h-screen",
        "<a ", "<p>", "</p>", "<span ", "<b>", "<li>", "<ul>", "<table>", "<td>",
        "<!--", "-->", "<![CDATA[", "]]>", "<template>", "<noscript>", "<xmp>",
        "\x00", "\r", "\u202e", "&lt;", "&#x6A;", "&colon;",
    ]
)  # fmt: skip
MARKUP = st.one_of(st.text(), st.lists(FRAGMENTS, max_size=40).map("".join))


@settings(max_examples=400, deadline=None)
@given(MARKUP)
def test_sanitising_any_text_is_safe_and_idempotent(markup):
    once = sanitize_html(markup)
    assert isinstance(once, str)
    assert_safe(once)
    assert sanitize_html(once) == once


# --- plain text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Hello", "Hello"),
        (
            "<b>bold</b> &amp; <script>x</script>",
            "<b>bold</b> &amp; <script>x</script>",
        ),
        ("  two\t\twords \n", "two words"),
        ("a\x00b\x07c\x1bd\x7fe\x9bf", "abcdef"),
        ("line\r\nbreak\u2028sep", "line break sep"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("iso\u2066late\u2069d", "isolated"),
        ("Zoë 🇫🇷 👩‍💻", "Zoë 🇫🇷 👩‍💻"),  # letters, flags and joiners are text
        (None, ""),
        (42, ""),
        (["a"], ""),
    ],
)
def test_plain_text(value, expected):
    assert plain_text(value) == expected


@given(st.text())
def test_plain_text_has_no_control_characters_and_is_idempotent(value):
    text = plain_text(value)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)
    assert plain_text(text) == text


def test_markup_that_never_settles_is_reduced_to_its_text(monkeypatch):
    """The fallback: when passes run out, only the (escaped) text is kept."""
    import vox_activity.protocol.html as module

    unsettled = '<li><table><li>one</li></table></li><p class="x">1 &lt; 2</p>'
    assert sanitize_html(unsettled) == "<li></li><li>one</li><p>1 &lt; 2</p>"
    monkeypatch.setattr(module, "_MAX_PASSES", 0)
    assert sanitize_html(unsettled) == "one1 &lt; 2"
