// Parse Adaptive Cards with Microsoft's own SDK (npm "adaptivecards") at the version each card declares.
// Usage: node card_check.cjs FILE... (each an AdaptiveCard) → one JSON line: [{file, problems: [...]}],
// every parse warning and validation event the SDK reports (an empty list: a valid card).
const fs = require("fs");
const AC = require("adaptivecards/dist/adaptivecards.js");

const out = [];
for (const file of process.argv.slice(2)) {
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  const version = AC.Version.parse(json.version, new AC.SerializationContext());
  const context = new AC.SerializationContext(version);
  const card = new AC.AdaptiveCard();
  card.parse(json, context);
  const problems = [];
  if (!version || !version.isValid) problems.push(`no valid version: ${json.version}`);
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const event of card.validateProperties().validationEvents) problems.push(event.message);
  out.push({ file, problems });
}
process.stdout.write(JSON.stringify(out));
