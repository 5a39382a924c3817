from poplist.archive.services import archive_message, normalize_subject


def mail(message_id: str, subject: str, *, in_reply_to: str = "", references: str = "", date: str = "") -> bytes:
    headers = [f"Message-ID: {message_id}", "From: Ann <ann@example.org>", f"Subject: {subject}"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    if date:
        headers.append(f"Date: {date}")
    return ("\r\n".join(headers) + "\r\n\r\nHello.\r\n").encode()


def test_replies_join_their_thread_by_references_then_by_subject(mailing_list):
    root = archive_message(mailing_list, mail("<1@x>", "Picnic on Sunday"))
    reply = archive_message(mailing_list, mail("<2@x>", "Re: Picnic on Sunday", in_reply_to="<1@x>"))
    deep = archive_message(mailing_list, mail("<3@x>", "Re: [news] Re: Picnic", references="<1@x> <2@x>"))
    lost = archive_message(mailing_list, mail("<4@x>", "RE: [news] picnic on sunday"))  # client dropped headers
    unrelated = archive_message(mailing_list, mail("<5@x>", "Picnic on Sunday"))  # a new post, same subject
    assert reply.thread_id == deep.thread_id == lost.thread_id == root.thread_id
    assert deep.parent_id == reply.pk
    assert unrelated.thread_id != root.thread_id
    root.thread.refresh_from_db()
    assert root.thread.message_count == 4


def test_archiving_is_idempotent_and_permalinks_are_stable(mailing_list):
    first = archive_message(mailing_list, mail("<same@x>", "Hello"))
    again = archive_message(mailing_list, mail("<same@x>", "Hello"))
    assert first.pk == again.pk
    assert len(first.permalink_id) == 32 and first.permalink_id.isalnum() and first.permalink_id.isupper()
    assert first.permalink_id == archive_message(mailing_list, mail("<same@x>", "Other")).permalink_id


def test_imported_archives_keep_their_dates(mailing_list):
    old = archive_message(mailing_list, mail("<old@x>", "1999", date="Fri, 31 Dec 1999 23:59:00 +0100"), live=False)
    assert old.date.year == 1999
    live = archive_message(mailing_list, mail("<clock@x>", "wrong clock", date="Fri, 31 Dec 1999 23:59:00 +0100"))
    assert live.date.year >= 2026


def test_subject_normalisation():
    assert normalize_subject("Re: [news] Fwd: TR:  Hello   world") == "hello world"
