"""What Microsoft Graph reports after the fact: Teams meeting attendance and non-delivery reports.

Attendance: the calendar event's join link finds its online meeting (``onlineMeetings?$filter=JoinWebUrl
eq '…'``), whose ``attendanceReports`` (one per session) list ``attendanceRecords`` (each attendee's
seconds). Application permission ``OnlineMeetingArtifact.Read.All`` and an application access policy for
the organiser are needed.

Non-delivery: reports that came back to the sending mailbox's Inbox since the email went out, recognised
by their sender (postmaster / Microsoft Exchange) or subject ("Undeliverable:") and matched to the email
by its Message-ID in their ``In-Reply-To`` / ``References`` headers (``Mail.ReadBasic`` or ``Mail.Read``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.generated.users.item.online_meetings.online_meetings_request_builder import (
    OnlineMeetingsRequestBuilder,
)

from ._graph import GraphSession, odata_quote, query, send_json

Pace = Callable[[], object]
MAX_PAGES = 20  # 2,000 Inbox messages since the email went out
_NDR_SENDERS = ("postmaster@", "microsoftexchange", "mailer-daemon@")


def attendance(graph: GraphSession, organiser: str, join_url: str, pace: Pace) -> dict[str, int]:
    """{"sessions", "attendees" (distinct people over every session), "minutes" (summed)}; ``pace()``
    is called before each request."""
    meetings = graph.client.users.by_user_id(organiser).online_meetings
    config = query(OnlineMeetingsRequestBuilder, filter=f"JoinWebUrl eq '{odata_quote(join_url)}'")
    pace()
    found = send_json(graph, meetings.to_get_request_information(config), "find the online meeting",
                      write=False).get("value") or []
    if not found:
        return {"sessions": 0, "attendees": 0, "minutes": 0}
    meeting = meetings.by_online_meeting_id(str(found[0]["id"]))
    pace()
    reports = send_json(graph, meeting.attendance_reports.to_get_request_information(),
                        "list attendance reports", write=False).get("value") or []
    people: set[str] = set()
    seconds = 0
    for report in reports:
        one = meeting.attendance_reports.by_meeting_attendance_report_id(str(report["id"]))
        records = one.attendance_records
        pace()
        for record in send_json(graph, records.to_get_request_information(), "read attendance records",
                                write=False).get("value") or []:
            identity = record.get("identity") or {}
            people.add(str(record.get("emailAddress") or identity.get("id") or identity.get("displayName")))
            seconds += int(record.get("totalAttendanceInSeconds") or 0)
    return {"sessions": len(reports), "attendees": len(people), "minutes": round(seconds / 60)}


def bounces(graph: GraphSession, mailbox: str, message_id: str, since: dt.datetime, pace: Pace) -> int:
    """How many non-delivery reports for the message ``message_id`` reached ``mailbox`` since ``since``."""
    box = graph.client.users.by_user_id(mailbox).mail_folders.by_mail_folder_id("inbox").messages
    when = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = query(MessagesRequestBuilder, filter=f"receivedDateTime ge {when}", top=100,
                   select=["subject", "from", "internetMessageHeaders"])
    info = box.to_get_request_information(config)
    count = 0
    for _ in range(MAX_PAGES):
        pace()
        page = send_json(graph, info, f"read non-delivery reports in {mailbox}", write=False)
        count += sum(1 for m in page.get("value") or [] if _is_bounce_of(m, message_id))
        link = page.get("@odata.nextLink")
        if not link:
            break
        info = box.with_url(link).to_get_request_information()
    return count


def _is_bounce_of(message: dict[str, Any], message_id: str) -> bool:
    sender = str(((message.get("from") or {}).get("emailAddress") or {}).get("address") or "").lower()
    subject = str(message.get("subject") or "").lower()
    if not (sender.startswith(_NDR_SENDERS) or subject.startswith(("undeliverable:", "delivery has failed"))):
        return False
    headers = {h.get("name", "").lower(): h.get("value", "")
               for h in message.get("internetMessageHeaders") or []}
    return message_id in headers.get("in-reply-to", "") or message_id in headers.get("references", "")
