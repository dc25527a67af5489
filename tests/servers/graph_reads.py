"""Graph's after-the-fact reads, installed on ``GraphServer``: online meetings found by join link, their
attendance reports and records, and non-delivery reports arriving in a mailbox's Inbox (wire formats of
Graph v1.0: ``onlineMeeting``, ``meetingAttendanceReport``, ``attendanceRecord``, ``message``)."""

from __future__ import annotations

import re
import time
from typing import Any

from .base import Request, Response

V = "/v1.0"
SYSTEM_MAILBOX = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.gov.uk"
JOIN = re.compile(r"JoinWebUrl eq '((?:[^']|'')*)'", re.I)


def install(server: Any) -> None:
    """Add the read routes and the test's controls (``attend``, ``bounce``) to a GraphServer."""
    server.attendance = {}  # join url → [(email, seconds), ...] per session
    u = V + r"/users/(?P<user>[^/]+)/onlineMeetings"
    server.route("GET", u, lambda req: _meetings(server, req))
    server.route("GET", u + r"/(?P<mid>[^/]+)/attendanceReports", lambda req: _reports(server, req))
    server.route("GET", u + r"/(?P<mid>[^/]+)/attendanceReports/(?P<rid>[^/]+)/attendanceRecords",
                 lambda req: _records(server, req))


def attend(server: Any, join_url: str, *sessions: list[tuple[str, int]]) -> None:
    """Record who attended the meeting at ``join_url``: one list of (email, seconds) per session."""
    server.attendance[join_url] = [list(s) for s in sessions]


def bounce(server: Any, mailbox: str, message_id: str, subject: str, recipient: str) -> None:
    """A non-delivery report for ``message_id`` to ``recipient``, arriving in ``mailbox``'s Inbox (as
    Exchange Online writes them: from Microsoft Outlook's system mailbox, In-Reply-To the original)."""
    mid = server._id("AAMkN")
    server._box(mailbox).setdefault("inbox", {})[mid] = {
        "id": mid,
        "subject": f"Undeliverable: {subject}",
        "receivedDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "from": {"emailAddress": {"name": "Microsoft Outlook", "address": SYSTEM_MAILBOX}},
        "bodyPreview": f"Your message to {recipient} couldn't be delivered.",
        "internetMessageHeaders": [{"name": "In-Reply-To", "value": message_id},
                                   {"name": "References", "value": message_id},
                                   {"name": "X-MS-Exchange-Message-Is-Ndr", "value": ""}],
    }


def _meeting_id(join_url: str) -> str:
    return "MSo1N2Y5ZGFjYy03MWJmLTQ3NDMtYjQxMy01M2EdFGkdRWHJlQ_" + str(abs(hash(join_url)) % 10**8)


def _meetings(server: Any, req: Request) -> Response:
    found = JOIN.search(req.query.get("$filter", ""))
    if not found:
        return Response(400, {"error": {"code": "InvalidArgument",
                                        "message": "Filter on JoinWebUrl is required for app-only access."}})
    url = found[1].replace("''", "'")
    known = {e["onlineMeeting"]["joinUrl"] for e in server.events.values() if e.get("onlineMeeting")}
    value = [{"id": _meeting_id(url), "joinWebUrl": url, "subject": "Meeting"}] if url in known else []
    return Response(200, {"@odata.context": f"https://graph.microsoft.com{V}/$metadata#users/onlineMeetings",
                          "value": value})


def _sessions(server: Any, mid: str) -> list[list[tuple[str, int]]]:
    return next((s for url, s in server.attendance.items() if _meeting_id(url) == mid), [])


def _reports(server: Any, req: Request) -> Response:
    value = [{"id": f"report-{i}", "totalParticipantCount": len(people),
              "meetingStartDateTime": "2024-11-27T13:30:00Z", "meetingEndDateTime": "2024-11-27T15:00:00Z"}
             for i, people in enumerate(_sessions(server, req.match["mid"]))]
    return Response(200, {"value": value})


def _records(server: Any, req: Request) -> Response:
    sessions = _sessions(server, req.match["mid"])
    index = int(req.match["rid"].removeprefix("report-"))
    if index >= len(sessions):
        return Response(404, {"error": {"code": "NotFound", "message": "Report not found."}})
    value = [{"id": f"{index}-{n}", "emailAddress": email, "totalAttendanceInSeconds": seconds,
              "role": "Attendee", "identity": {"id": f"user-{email}", "displayName": email.split("@")[0]},
              "attendanceIntervals": [{"joinDateTime": "2024-11-27T13:31:00Z",
                                       "leaveDateTime": "2024-11-27T14:59:00Z",
                                       "durationInSeconds": seconds}]}
             for n, (email, seconds) in enumerate(sessions[index])]
    return Response(200, {"value": value})
