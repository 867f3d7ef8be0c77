// Checks email HTML against the caniemail data with @jsx-email/doiuse-email.
// Usage: node caniemail.cjs ALLOWLIST.txt < email.html
// Prints one JSON object: {"errors": [...not allowed...], "allowed": [...], "unused": [...]}.
// A feature is an error when a client below does not support it at all; the allow-list names
// features (one a line, "feature title | why") kept on purpose as progressive enhancements.
"use strict";
const fs = require("node:fs");
const { doIUseEmail } = require("@jsx-email/doiuse-email");

// Gmail, Outlook, Apple Mail and Yahoo: every platform the package lists for each. Its list has
// no row for Outlook on the web, so every Outlook it has (Windows, Windows Mail, macOS, iOS,
// Android) stands in: stricter, not looser.
const CLIENTS = ["gmail.*", "outlook.*", "apple-mail.*", "yahoo.*"];

const allowList = fs
  .readFileSync(process.argv[2], "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"))
  .map((line) => line.split("|")[0].trim());

const html = fs.readFileSync(0, "utf8");
const result = doIUseEmail(html, { emailClients: CLIENTS });
const errors = [];
const allowed = new Set();
for (const message of result.errors || []) {
  // "`<div> element` is not supported by `outlook.windows`"
  const feature = (message.match(/^`([^`]+)`/) || [])[1];
  if (allowList.includes(feature)) allowed.add(feature);
  else errors.push(message);
}
const unused = allowList.filter((feature) => !allowed.has(feature));
process.stdout.write(JSON.stringify({ errors, allowed: [...allowed], unused }));
