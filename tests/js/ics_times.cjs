// Read .ics files the way Mozilla's ical.js (Thunderbird, Nextcloud) does: trusting their own VTIMEZONE.
// Usage: node ics_times.cjs FILE... → one JSON line: [{method, uid, sequence, start, end, location, url,
// description}] (UTC ISO times).
const fs = require("fs");
const ICAL = require("ical.js");

const out = [];
for (const file of process.argv.slice(2)) {
  ICAL.TimezoneService.reset(); // no zone known by name: only what the file itself says
  const calendar = new ICAL.Component(ICAL.parse(fs.readFileSync(file, "utf8")));
  for (const zone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  const event = new ICAL.Event(calendar.getFirstSubcomponent("vevent"));
  out.push({
    method: calendar.getFirstPropertyValue("method"),
    uid: event.uid,
    sequence: event.sequence,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    location: event.location,
    url: event.component.getFirstPropertyValue("url"),
    description: event.description,
  });
}
process.stdout.write(JSON.stringify(out));
