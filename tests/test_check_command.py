"""manage.py vox_activity_check: arguments, printing and exit status.

What is checked, and every finding, is tested on the library
(``test_diagnostics_remote.py``, ``test_diagnostics_local.py``); here, only
what the command adds.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vox_activity.diagnostics import Finding, Level
from vox_activity.management.commands.vox_activity_check import finding_lines

from .fediverse import Fediverse, Reply
from .support.diagnostics import REAL_KEYS, add

#: The diagnostics judge key sizes (below 2048 bits is a warning): real ones.
pytestmark = pytest.mark.usefixtures("real_key_size")


def check(*args):
    """Run the command: (output lines, exit status)."""
    out = StringIO()
    try:
        call_command("vox_activity_check", *args, stdout=out)
    except CommandError as exc:
        if exc.returncode == 1 and str(exc).endswith("check(s) failed."):
            return out.getvalue().splitlines(), 1
        raise
    return out.getvalue().splitlines(), 0


@pytest.fixture
def server(httpsig, settings):
    settings.VOX_ACTIVITY = {
        **REAL_KEYS,
        "ALLOW_PRIVATE_ADDRESSES": True,
    }
    settings.SITE_SSL = False
    net = Fediverse(httpsig)
    yield net.server()
    net.close()


def test_the_line_of_a_finding():
    ok = Finding(Level.OK, "actor.inbox.ok", "https://x.example/inbox.")
    assert finding_lines(ok) == [
        "OK    actor.inbox.ok              https://x.example/inbox."
    ]
    warning = Finding(Level.WARNING, "actor.https.off", "plain http.", "use https.")
    assert finding_lines(warning) == [
        "WARN  actor.https.off             plain http.",
        "      hint: use https.",
    ]
    error = Finding(Level.ERROR, "fetch.gone", "HTTP 410.", "deleted.")
    assert finding_lines(error)[0].startswith("FAIL  fetch.gone ")


@pytest.mark.django_db
def test_a_good_remote_actor(server):
    add(server)
    lines, status = check(f"acct:alice@{server.domain}")
    assert status == 0
    assert lines[0] == f"Checking the remote actor acct:alice@{server.domain}"
    assert lines[1].startswith("OK    webfinger.ok ")
    warnings = [line for line in lines if line.startswith("WARN")]
    assert [line.split()[1] for line in warnings] == [
        "actor.followers.missing",
        "actor.https.off",
    ]
    assert lines[-1] == "14 OK, 2 warning(s), 0 failure(s)."


@pytest.mark.django_db
def test_a_failure_prints_its_hint_and_exits_1(server):
    add(server, inbox=None)
    server.reply_with(Reply(202))
    lines, status = check(server.iri("alice"), "--deliver")
    assert status == 1
    index = next(i for i, line in enumerate(lines) if "actor.inbox.missing" in line)
    assert lines[index].startswith("FAIL  actor.inbox.missing ")
    assert lines[index + 1].startswith("      hint: without an inbox")
    assert lines[-1].endswith("3 failure(s).")  # inbox, verdict, delivery


@pytest.fixture
def unreachable_site(settings):
    settings.SITE_DOMAIN = "127.0.0.1:9"
    settings.SITE_SSL = True
    settings.VOX_ACTIVITY = {**REAL_KEYS}


@pytest.mark.django_db
def test_a_local_actor_by_bare_username(unreachable_site, alice):
    """Issue 11 E: ``vox_activity_check alice``."""
    lines, status = check("alice")
    assert status == 0, "\n".join(lines)
    assert lines[0] == "Checking the local actor https://127.0.0.1:9/~alice/"
    assert lines[-1] == "17 OK, 0 warning(s), 0 failure(s)."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["acct:x@remote.example", "--as", "/~alice/"],
            "only makes sense with --deliver",
        ),
        (
            ["acct:x@remote.example", "--deliver", "--as", "/~nobody/"],
            "not a local actor",
        ),
        (["/~alice/", "--deliver"], "for remote actors"),
        (["/~nobody/"], "not a local actor"),
        (["two words"], "is neither"),
    ],
)
def test_bad_arguments(alice, args, message):
    with pytest.raises(CommandError, match=message):
        check(*args)
