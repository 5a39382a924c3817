"""The archive's pages: months, threads, permalinks, attachments, search, Atom, mbox, private archives."""

import mailbox
import re

from poplist.archive.services import permalink_id
from poplist.lists.models import Member
from poplist.lists.subscriptions import Origin, subscribe
from poplist.testing.mail import body_of, queued


def test_index_month_thread_and_permalink(client, mailing_list, archived):
    first = archived("Picnic on Sunday", "Who brings the bread? Write to ann@example.org", msgid="<a1@example.org>")
    archived(
        "Re: Picnic on Sunday",
        "I do.",
        msgid="<a2@example.org>",
        reply_to="<a1@example.org>",
        author="Bob <bob@example.org>",
    )
    base = f"/lists/{mailing_list.address}/archive/"
    index = client.get(base).content.decode()
    assert "Picnic on Sunday" in index and "November 2026" in index
    month = client.get(f"{base}2026-11/").content.decode()
    assert "Picnic on Sunday" in month
    thread = client.get(f"{base}thread/{first.thread.permalink_id}/").content.decode()
    assert "Re: Picnic on Sunday" in thread
    # The permalink inbound writes into Archived-At
    url = f"{base}{permalink_id('<a1@example.org>')}/"
    page = client.get(url).content.decode()
    assert "Who brings the bread?" in page
    assert "ann@example.org" not in page and "ann at example" in page  # obfuscated for the public
    assert client.get(f"{base}NOSUCHPERMALINK/").status_code == 404


def test_attachments_download_and_never_render(client, mailing_list, archived):
    message = archived(
        "Slides", "See attached", msgid="<s1@example.org>", attachment=("x.html", b"<script>alert(1)</script>")
    )
    page = client.get(f"/lists/{mailing_list.address}/archive/{message.permalink_id}/").content.decode()
    link = re.search(r'href="([^"]+/attachments/\d+/)"', page).group(1)
    response = client.get(link)
    assert response.content == b"<script>alert(1)</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_full_text_search(client, mailing_list, archived):
    archived("Budget 2027", "The treasurer proposes a new budget for the garden.", msgid="<b1@example.org>")
    archived("Picnic", "Sandwiches and lemonade.", msgid="<b2@example.org>")
    page = client.get(f"/lists/{mailing_list.address}/archive/search/", {"q": "garden treasurer"}).content.decode()
    assert "Budget 2027" in page and "Picnic" not in page.split("<main")[1].split('role="search"')[1]
    assert "<mark>garden</mark>" in page
    hostile = client.get(f"/lists/{mailing_list.address}/archive/search/", {"q": 'NEAR(" OR * "'})
    assert hostile.status_code == 200  # FTS syntax never reaches the engine


def test_atom_feed_and_mbox(client, mailing_list, archived):
    archived("Hello", "From the start\nFrom here too", msgid="<m1@example.org>")
    feed = client.get(f"/lists/{mailing_list.address}/archive/feed.atom")
    assert feed["Content-Type"].startswith("application/atom+xml") and b"<title>Hello</title>" in feed.content
    whole = b"".join(client.get(f"/lists/{mailing_list.address}/archive/all.mbox").streaming_content)
    month = b"".join(client.get(f"/lists/{mailing_list.address}/archive/2026-11.mbox").streaming_content)
    assert whole == month and whole.startswith(b"From ann@example.org ")
    assert b"\n>From here too" in whole


def test_mbox_is_readable_by_python_mailbox(client, mailing_list, archived, tmp_path):
    for n in range(3):
        archived(f"Post {n}", "text", msgid=f"<p{n}@example.org>")
    data = b"".join(client.get(f"/lists/{mailing_list.address}/archive/all.mbox").streaming_content)
    path = tmp_path / "a.mbox"
    path.write_bytes(data)
    assert sorted(m["Subject"] for m in mailbox.mbox(str(path))) == ["Post 0", "Post 1", "Post 2"]


def test_private_archive_needs_a_magic_link(client, make_list, archived, settings):
    private = make_list("board", archive_policy="private")
    archived("Secret plans", "Only for members", msgid="<x1@example.org>", target=private)
    base = f"/lists/{private.address}/archive/"
    assert client.get(base)["Location"] == f"{base}login/"
    assert client.get(f"{base}feed.atom").status_code in (302, 404)
    subscribe(private, "ann@example.org", origin=Origin(via="owner"), welcome=False)
    login = client.get(f"{base}login/")
    client.post(f"{base}login/", {"email": "ann@example.org"})
    client.post(f"{base}login/", {"email": "stranger@example.org"})  # same answer, no mail
    [mail] = queued("archive_login")
    assert mail["To"] == "ann@example.org" and login.status_code == 200
    link = re.search(r"(https?://\S+/archive-login/\S+/)", body_of(mail)).group(1)
    client.get(link.replace(settings.BASE_URL, ""))
    assert "Secret plans" in client.get(base).content.decode()


def test_archive_none_is_not_found(client, make_list):
    closed = make_list("quiet", archive_policy="none")
    assert client.get(f"/lists/{closed.address}/archive/").status_code == 404


def test_html_only_mail_is_sanitised(client, mailing_list, archived):
    message = archived(
        "Rich",
        None,
        msgid="<h1@example.org>",
        html='<p onclick="x()">Hi <b>there</b><img src="http://tracker.example/p.gif"><script>alert(1)</script></p>',
    )
    page = client.get(f"/lists/{mailing_list.address}/archive/{message.permalink_id}/").content.decode()
    assert "<b>there</b>" in page
    assert "tracker.example" not in page and "alert(1)" not in page and "onclick" not in page


def test_owner_sees_addresses_member_row(mailing_list):
    assert Member.objects.filter(role="owner").exists()
