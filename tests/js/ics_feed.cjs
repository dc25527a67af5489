// Read a calendar feed the way Mozilla's ical.js (Thunderbird, Nextcloud) does: trusting its own VTIMEZONEs.
// Usage: node ics_feed.cjs FILE → one JSON line: [{uid, sequence, status, start, end, summary, location, url,
// tzid}] for every VEVENT (UTC ISO times; tzid: the zone DTSTART names).
const fs = require("fs");
const ICAL = require("ical.js");

ICAL.TimezoneService.reset(); // no zone known by name: only what the file itself says
const calendar = new ICAL.Component(ICAL.parse(fs.readFileSync(process.argv[2], "utf8")));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const out = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: component.getFirstPropertyValue("status"),
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    summary: event.summary,
    location: event.location,
    url: component.getFirstPropertyValue("url"),
    tzid: component.getFirstProperty("dtstart").getParameter("tzid") || null,
  };
});
process.stdout.write(JSON.stringify(out));
