"""Daily emails and event reminders: text + HTML alternatives, poster and .ics attached.

The HTML part is written in MJML (``templates/email.mjml``, styles inline) and compiled by MRML into
presentation tables that desktop Outlook lays out, one 600 px column that narrows on phones.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Any

from ..artifacts import Attachment, RenderContext, Rendered
from ..channels import INVITES_ATTENDEES, resolve
from ..loader import Loaded
from ..planner import Publication
from . import ics, views
from .env import render_template, template_error
from .poster import poster_for


def render_email(loaded: Loaded, pub: Publication, ctx: RenderContext) -> Rendered:
    c = loaded.model.campaign
    context = views.base(loaded, pub, ctx)
    audience = pub.audience or pub.content.get("audience")
    recipients = tuple(c.audiences[audience].recipients) if audience in c.audiences else ()
    attachments: list[Attachment] = []
    ics_bytes = None
    if pub.slot.startswith("reminder-"):
        event = views.event_view(loaded, views.find_event(loaded, pub.slot.removeprefix("reminder-")), ctx)
        minutes = int(pub.content.get("reminder_minutes", 60))
        label = f"{minutes} minutes" if minutes < 120 or minutes % 60 else f"{minutes // 60} hours"
        context.update(event=event, reminder=True, minutes_label=label, day=None, events=[event])
        subject = _subject(loaded, context)
        context["subject"] = subject
        html = render_template(loaded, "reminder.mjml", **context)
        text = render_template(loaded, "reminder.txt", **context)
    else:
        events = views.events_on(loaded, pub.date, ctx)
        day = views.leave_to_events(views.day_for(loaded, pub, tag=context["tag"]), events)
        invites = not meeting_invites(loaded)
        others = [e for e in views.week_events(loaded, ctx) if e["date"] != pub.date]  # today's: above
        context.update(day=day, events=events, event=None, reminder=False,
                       week_events=others, invitation_attached=invites)
        subject = _subject(loaded, context)
        context["subject"] = subject
        html = render_template(loaded, "email.mjml", **context)
        text = render_template(loaded, "email.txt", **context)
        if day["poster"]:  # poster channel off that day: no poster attached
            attachments.append(poster_for(loaded, pub, ctx).attachments()[0])
        for event in events if invites else ():
            description = render_template(loaded, "event.txt", event=event, **_without(context, "event"))
            data = ics.event_ics(loaded, event, description, sequence=ctx.sequence, recipients=recipients)
            ics_bytes = ics_bytes or data
            attachments.append(Attachment(f"{event['id']}.ics", "text/calendar", data))
    html = mjml_to_html(loaded, html)
    sender = c.organiser.email
    eml = build_eml(pub, subject, text, html, recipients, formataddr((c.organiser.name, sender)), attachments)
    return Rendered(publication=pub, subject=subject, text=text, html=html, recipients=recipients,
                    sender=sender, attachments=tuple(attachments), ics=ics_bytes, eml=eml)


def meeting_invites(loaded: Loaded) -> bool:
    """True when the Teams meeting itself invites its attendees (created in Graph): one invitation a
    person, so the email attaches none of its own that a calendar would show as a second entry."""
    setting = resolve(loaded.model.channels, None, "teams_event")
    return setting.enabled and setting.connector in INVITES_ATTENDEES


def _without(context: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k not in keys}


def _subject(loaded: Loaded, context: dict[str, Any]) -> str:
    return " ".join(render_template(loaded, "subject.txt", **context).split())


def mjml_to_html(loaded: Loaded, mjml: str) -> str:
    """MJML → HTML with MRML; a template MRML cannot read is a campaign error naming the template."""
    from mjml import mjml2html

    try:
        return mjml2html(mjml, disable_comments=True)
    except Exception as exc:  # noqa: BLE001 (MRML raises plain Exceptions with its parser's message)
        raise template_error(loaded, "email.mjml", exc, None, None, f"MJML: {exc}") from None



def message_id(pub_id: str) -> str:
    return f"<{uuid.uuid5(ics.NAMESPACE, 'message:' + pub_id)}@practiceweek>"


def build_eml(pub: Publication, subject: str, text: str, html: str, recipients: tuple[str, ...], sender: str,
              attachments: list[Attachment]) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(pub.at)
    msg["Message-ID"] = message_id(pub.id)
    msg["Content-Language"] = "en-GB"
    msg["X-Practiceweek-Publication"] = pub.id
    msg.set_content(text, subtype="plain", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    for a in attachments:
        maintype, subtype = a.content_type.split("/", 1)
        if maintype == "text":
            params = {"method": "REQUEST"} if subtype == "calendar" else {}
            msg.add_attachment(a.data.decode("utf-8"), subtype=subtype, filename=a.filename, params=params)
        else:
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg.as_bytes()
