"""Every bad campaign in tests/fixtures/bad/ fails with the right line, field and message.

Each row: file, the line of its first error, the field path, and a piece of the message
(or hint) a person needs to fix it. Files are small edits of tests/fixtures/good_base.yaml. The files of
``WARNED`` are valid but say something recipients would read badly: ``validate`` warns (and exits 0).
"""

from __future__ import annotations

import re

import pytest

from practiceweek.errors import CampaignError
from practiceweek.loader import load
from tests.helpers import FIXTURES

BAD = FIXTURES / "bad"

CASES = [
    # file, line, field path (a day named by its weekday: "Monday (days[0])"), text in the message or hint
    ("01_yaml_syntax_unclosed_quote.yaml", 25, "", "quoted value starts on this line and is never closed"),
    ("02_yaml_syntax_bad_indent.yaml", 26, "", "not indented in line with the lines above"),
    ("03_yaml_tab_indent.yaml", 25, "", "tab character"),
    ("04_duplicate_key.yaml", 4, "campaign.title", "duplicate key 'title' (first given on line 3)"),
    ("05_unknown_key_campaign.yaml", 3, "campaign.titel", "did you mean 'title'?"),
    ("06_unknown_key_channels.yaml", 20, "channels.emial", "did you mean 'email'?"),
    ("07_unknown_key_resource.yaml", 30,
     "Monday (days[0]).themes[0].resources[0].link", "did you mean 'url'?"),
    ("08_impossible_date.yaml", 11, "campaign.week.start", "2024-02-30 is not a real date"),
    ("09_date_wrong_format.yaml", 11, "campaign.week.start", "expected a date written YYYY-MM-DD"),
    (
        "10_week_ends_before_start.yaml",
        12,
        "campaign.week.end",
        "the week ends (2024-06-20) before it starts",
    ),
    ("11_week_too_long.yaml", 12, "campaign.week.end", "at most 7 days"),
    ("12_day_date_outside_week.yaml", 24, "Monday (days[0]).date", "2024-07-01 is outside the week"),
    ("13_weekday_outside_week.yaml", 24, "Saturday (days[0]).weekday", "saturday is outside the week"),
    ("14_weekday_misspelt.yaml", 24, "days[0].weekday", "did you mean 'monday'?"),
    ("15_day_described_twice.yaml", 32, "Monday (days[1]).weekday", "already described by days[0]"),
    ("16_day_weekday_and_date.yaml", 23, "Monday (days[0])", "give either 'weekday' or 'date'"),
    ("17_event_ends_before_start.yaml", 41, "events[0].end", "ends (13:00) before it starts (13:30)"),
    ("18_events_overlap.yaml", 47, "events[1].start", "overlaps events[0] 'A webinar'"),
    ("19_event_outside_week.yaml", 39, "events[0].date", "2024-07-03 is outside the week"),
    ("20_duplicate_event_id.yaml", 44, "events[1].id", "already used by events[0]"),
    ("21_javascript_url.yaml", 30, "Monday (days[0]).themes[0].resources[0].url", "expected an http:// or https://"),
    ("22_ftp_website.yaml", 8, "campaign.organiser.website", "got 'ftp://tscp.example.gov.uk'"),
    ("23_malformed_email.yaml", 7, "campaign.organiser.email", "is not an email address"),
    (
        "24_recipient_outside_allowlist.yaml",
        16,
        "campaign.audiences.practitioners.recipients[1]",
        "someone@gmail.com is outside the allowed email domains",
    ),
    ("25_image_without_alt.yaml", 19, "campaign.branding.logo", "image has no alt text"),
    ("26_x_text_too_long.yaml", 37, "Tuesday (days[1]).social.x", "too long for x: 299 weighted characters"),
    ("27_bluesky_text_too_long.yaml", 38,
     "Tuesday (days[1]).social.bluesky", "too long for bluesky: 301 graphemes"),
    (
        "28_mastodon_text_too_long.yaml",
        37,
        "Tuesday (days[1]).social.mastodon",
        "too long for mastodon: 504 characters",
    ),
    (
        "29_dst_nonexistent_time.yaml",
        34,
        "Sunday (days[1]).channels.poster.at",
        "01:30 on Sun 30 Mar 2025 does not exist",
    ),
    ("30_dst_ambiguous_time.yaml", 34,
     "Sunday (days[1]).channels.email.at", "01:30 on Sun 27 Oct 2024 happens twice"),
    ("31_unknown_timezone.yaml", 9, "campaign.timezone", "did you mean 'Europe/London'?"),
    ("32_time_out_of_range.yaml", 19, "channels.poster.at", "expected a 24-hour local time HH:MM"),
    ("33_colour_not_hex.yaml", 19, "campaign.branding.primary_colour", "expected a colour written #RRGGBB"),
    ("34_unknown_audience.yaml", 20, "channels.email.audience", "did you mean 'practitioners'?"),
    (
        "35_connector_wrong_for_channel.yaml",
        22,
        "channels.x.connector",
        "x cannot be sent through 'graph_mail'",
    ),
    ("36_connector_misspelt.yaml", 20, "channels.email.connector", "did you mean 'graph_mail'?"),
    ("37_missing_required_title.yaml", 1, "campaign", "missing required field 'title'"),
    ("38_bad_campaign_id.yaml", 2, "campaign.id", "lower-case letters, digits and hyphens"),
    ("39_resource_kind_misspelt.yaml", 31,
     "Monday (days[0]).themes[0].resources[0].kind", "did you mean 'toolkit'?"),
    ("40_duration_bad.yaml", 22, "channels.x.missed_window", "expected a duration like 30m"),
    ("41_days_not_a_list.yaml", 23, "days", "expected a list"),
    ("42_merge_key.yaml", 22, "channels.x", "merge keys (<<) are not supported"),
    ("43_event_day_misspelt.yaml", 39, "events[0].day", "did you mean 'wednesday'?"),
    ("44_create_days_before_negative.yaml", 21, "channels.teams_event.create_days_before", "out of range"),
    ("45_enabled_not_bool.yaml", 19, "channels.poster.enabled", "expected true or false"),
    (
        "48_day_override_connector_wrong.yaml",
        33,
        "Tuesday (days[1]).channels.email.connector",
        "email cannot be sent through 'x'",
    ),
    # weeks as comms teams run them: zones for people, plain words, options with an effect, extra slots,
    # announcements before the week and follow-ups after it
    ("49_timezone_gmt_in_uk.yaml", 9, "campaign.timezone",
     "'GMT' keeps one offset all year, but the UK's clocks go forward in March and back in October, so "
     "summer publications would go out an hour out (write Europe/London)"),
    ("50_timezone_bst.yaml", 9, "campaign.timezone",
     "'BST' is not a time zone name; the UK's clocks go forward in March and back in October, so summer "
     "publications would go out an hour out (write Europe/London)"),
    ("51_theme_written_as_text.yaml", 35, "Tuesday (days[1]).themes[0]",
     "write each theme as \"- title: Theme two\" with its other fields below it, "
     "indented in line with 'title'"),
    ("52_unclosed_quote_in_braces.yaml", 22, "",
     "a quoted value starts on this line and is never closed (the file cannot be read from line 40 on) "
     "(add the closing quote)"),
    ("53_create_days_before_on_poster.yaml", 19, "channels.poster.create_days_before",
     "'create_days_before' has no effect on poster; it applies to teams_event only "
     "(remove 'create_days_before:' here)"),
    ("54_teams_event_set_for_one_day.yaml", 35, "Tuesday (days[1]).channels.teams_event",
     "teams_event cannot be set for one day: Teams meetings are set up for the whole week "
     "(each event has its own day); set this under channels.teams_event"),
    ("55_announcement_inside_the_week.yaml", 46, "announcements[0].date",
     "Wed 26 Jun 2024 is inside the week (Mon 24 Jun to Fri 28 Jun 2024); announcements go out before it "
     "starts (for more during the week, add 'extra:' to a day's channel)"),
    ("56_follow_up_before_the_week.yaml", 46, "follow_ups[0].date",
     "Fri 21 Jun 2024 is before the week (Mon 24 Jun to Fri 28 Jun 2024); follow_ups go out after it ends "
     "(move it to announcements)"),
    ("57_notice_event_misspelt.yaml", 50, "announcements[0].events[0]",
     "the file has no event called 'webinr'; its events are: 'webinar' (did you mean 'webinar'?)"),
    ("58_notices_share_a_slot.yaml", 45, "announcements[1]",
     "announcements[1] and announcements[0] both put x at 09:00 on Fri 21 Jun "
     "(give each an 'id:' of its own)"),
    ("59_extra_slots_share_a_time.yaml", 24, "channels.x.extra[1]",
     "two extra slots named 'at-1300' (the first is extra[0]); each needs its own time or id "
     "(give one of them another 'at')"),
    ("60_extra_theme_misspelt.yaml", 37, "Tuesday (days[1]).channels.x.extra[0].theme",
     "the day has no theme called 'Theme tow'; its themes are: 'Theme two' (did you mean 'Theme two'?)"),
    ("61_extra_post_repeats_the_day.yaml", 24, "channels.x.extra[0]",
     "the 15:00 x post would repeat the day's post word for word, which x refuses "
     "(give it 'text:', or a focus: 'theme:', 'resource:' or 'one_thing: true')"),
    ("62_extra_text_for_every_day.yaml", 25, "channels.x.extra[0].text",
     "'text' in the week's channels would go out the same every day; give it in a day's channels instead "
     "(move it to days[…].channels.x.extra)"),
    ("63_extra_on_poster.yaml", 19, "channels.poster.extra",
     "'extra' has no effect on poster; it applies to email, teams_channel, x, bluesky, mastodon only "
     "(remove 'extra:' here)"),
    ("64_notice_time_happens_twice.yaml", 47, "follow_ups[0].at",
     "01:30 on Sun 27 Oct 2024 happens twice in Europe/London: the clocks go back then"),
    ("65_notice_a_year_early.yaml", 46, "announcements[0].date",
     "Tue 20 Jun 2023 is 370 days before the week (Mon 24 Jun to Fri 28 Jun 2024); at most 92 "
     "(check the year and the month)"),
    ("66_notice_email_without_audience.yaml", 44, "announcements[0]",
     "an email needs an 'audience' (who receives it) (add 'audience:' here or to channels.email)"),
    ("67_one_thing_post_without_one_thing.yaml", 25, "channels.x.extra[0].one_thing",
     "Monday (days[0]) has no 'If you do one thing' line for the 15:00 x post to lead with "
     "(add 'one_thing:' to one of its themes, or drop this post that day with an extra of the same time "
     "and 'enabled: false')"),
    ("68_notice_on_teams_event.yaml", 48, "announcements[0].channels[0]",
     "expected one of 'poster', 'email', 'teams_channel', 'web_page', 'x', 'bluesky' or 'mastodon'; "
     "got 'teams_event'"),
    ("69_weekday_odd_case.yaml", 24, "Monday (days[0]).weekday",
     "expected a weekday name (monday … sunday, or Monday … Sunday), got 'mONday'; did you mean 'monday'?"),
    ("70_audience_on_x.yaml", 22, "channels.x.audience",
     "'audience' has no effect on x; it applies to email only (remove 'audience:' here)"),
    ("71_notice_x_text_too_long.yaml", 50, "announcements[0].text",
     "too long for x: 303 weighted characters"),
    ("72_extra_slot_named_daily.yaml", 25, "channels.x.extra[0].id",
     "'daily' is the name of the channel's own publication; choose another id"),
    ("73_week_poster_set_for_one_day.yaml", 35, "Tuesday (days[1]).channels.week_poster",
     "week_poster cannot be set for one day: the whole-week poster goes out once; set this under "
     "channels.week_poster"),
    ("74_account_kind_misspelt.yaml", 19, "campaign.accounts.mastadon",
     "unknown field 'mastadon'; expected one of: bluesky, graph, mastodon, smtp, teams, x "
     "(did you mean 'mastodon'?)"),
    ("75_account_is_a_secret.yaml", 19, "campaign.accounts.mastodon",
     "this looks like a web address with a user name or password in it, not the name of a Prefect block; "
     "a campaign file is shared and kept with the week: save the credentials in a Prefect block (one per "
     "partnership and provider) and write the block's name here, e.g. iowscp-mastodon"),
    ("76_account_not_a_block_name.yaml", 18, "campaign.accounts.mastodon",
     "a Prefect block name has lower-case letters, digits and dashes only, got 'IoW_Mastodon'; "
     "did you mean 'iow-mastodon'?"),
    # joint weeks: each partner its own people and accounts, every partner named exists
    ("77_partner_recipient_outside_its_domains.yaml", 32,
     "campaign.partners.south.audiences.practitioners.recipients[1]",
     "list@example.gov.uk is outside SSCP's allowed email domains (other.gov.uk); each partner emails its "
     "own people (move it to the partner it belongs to, or add its domain to "
     "campaign.partners.south.allowed_email_domains if it is meant)"),
    ("78_partners_share_an_account.yaml", 34, "campaign.partners.south.accounts.x",
     "'nscp-x' is already north's x account; two partners posting through one account would post under "
     "each other's name (save south's own x credentials in a Prefect block and write its name here)"),
    ("79_override_names_unknown_partner.yaml", 53, "Tuesday (days[1]).themes[0].partners.sauth",
     "no partner called 'sauth'; the partners are: north, south (did you mean 'south'?)"),
    ("80_partner_only_announcement_inside_the_week.yaml", 53, "announcements[0].date",
     "Wed 26 Jun 2024 is inside the week (Mon 24 Jun to Fri 28 Jun 2024); announcements (for south only) go "
     "out before it starts (for a post of south's own during the week, add 'extra:' to a channel under "
     "campaign.partners.south.channels)"),
    ("81_event_host_in_a_single_week.yaml", 44, "events[0].host",
     "'hampshire' names a partner, but this week has no partners (list the partnerships under "
     "campaign.partners, or remove this)"),
    ("82_joint_week_with_campaign_audiences.yaml", 12, "campaign.audiences",
     "in a joint week each partner has its own audiences; this one would belong to no partner (move it under "
     "campaign.partners.<partner>.audiences (partners: north, south))"),
    ("83_content_warning_on_an_email.yaml", 37,
     "Tuesday (days[1]).channels.email.extra[0].content_warning",
     "'content_warning' has no effect on email: content warnings go on Mastodon posts and Bluesky labels "
     "only (remove 'content_warning:' here, and say it in the text if readers need it)"),
    ("90_approval_per_partner_in_a_single_week.yaml", 18, "campaign.approval",
     "approval per partner needs a joint week, but this week has no partners (write 'approval: required' "
     "(someone approves the week before anything goes out), or list the partnerships under "
     "campaign.partners)"),
    ("91_approval_names_unknown_partner.yaml", 12, "campaign.approval[1]",
     "no partner called 'sauth'; the partners are: north, south (did you mean 'south'?)"),
    ("46_empty_file.yaml", 1, "", "got an empty file"),
    ("47_top_level_list.yaml", 1, "", "got a list"),
]


# file, line, field path, text in the message or hint: the file's only warning (issue 25)
WARNED = [
    ("84_theme_title_only_markup.yaml", 35, "Tuesday (days[1]).themes[0].title",
     "'**' would show as an empty heading in the emails, cards and posters: it has no words once its "
     "formatting marks are taken away (write it in words, e.g. 'Information exchange')"),
    ("85_resource_title_repeats_its_label.yaml", 29, "Monday (days[0]).themes[0].resources[0].title",
     "'(Toolkit)' only repeats words the title already has, so readers would see them twice "
     "(write 'Neglect toolkit')"),
    ("86_two_themes_one_title.yaml", 37, "Tuesday (days[1]).themes[1].title",
     "'Theme Two' is also the title of themes[0]: the day's email, card and poster would show the same "
     "heading twice (give each theme its own title, or make them one theme)"),
    ("87_two_days_one_title.yaml", 33, "Tuesday (days[1]).title",
     "'monday' is also the title of Monday (days[0]): recipients would get two days' emails, cards and "
     "posters headed the same (give each day a title of its own"),
    ("88_two_resources_one_name.yaml", 32, "Monday (days[0]).themes[0].resources[1].title",
     "'A toolkit' is also the title of themes[0].resources[0]: readers would see two links of the same name "
     "and could not tell them apart (say in each title what is different, or list the resource once)"),
    ("89_event_title_only_invisible_characters.yaml", 38, "events[0].title",
     "'\\u200b\\u200b' would show as an empty heading"),
]


def test_every_fixture_is_in_the_table() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(c[0] for c in CASES + WARNED)
    assert len(CASES) >= 30


def test_the_base_the_fixtures_edit_is_valid() -> None:
    load(FIXTURES / "good_base.yaml")


@pytest.mark.parametrize(("name", "line", "path", "text"), CASES, ids=[c[0][:-5] for c in CASES])
def test_bad_campaign(name: str, line: int, path: str, text: str) -> None:
    with pytest.raises(CampaignError) as caught:
        load(BAD / name)
    errors = caught.value.errors
    assert errors, "a bad file must carry at least one error"
    first = errors[0]
    rendered = first.render()
    assert first.file == str(BAD / name)
    assert (first.line, first.named_path) == (line, path), rendered
    assert first.path == re.sub(r"^[A-Z][a-z]+day \((days\[\d+\])\)", r"\1", path)  # the bare path stays
    assert first.column >= 1
    assert text in f"{first.message} ({first.hint})", rendered
    field = f" {path}:" if path else ""
    assert rendered.startswith(f"{BAD / name}:{line}:{first.column}: error:{field}")


@pytest.mark.parametrize(("name", "line", "path", "text"), WARNED, ids=[c[0][:-5] for c in WARNED])
def test_warned_campaign(name: str, line: int, path: str, text: str) -> None:
    """Valid, with one warning in the errors' form: file:line:column: warning: field: message (hint)."""
    loaded = load(BAD / name)
    (warning,) = loaded.warnings
    rendered = warning.render()
    assert (warning.severity, warning.line, warning.named_path) == ("warning", line, path), rendered
    assert rendered.startswith(f"{BAD / name}:{line}:{warning.column}: warning: {path}: "), rendered
    assert text in f"{warning.message} ({warning.hint})", rendered
