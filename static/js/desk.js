// The loaner desk's one decision, on the phone: the rule table static/desk-rules.json (the server runs the same
// file in app/services/desk.py) over the facts of a scan, worked out here from the desk pack (the campus's
// devices, its open loans as last seen plus this phone's unsent ones, and the people the desk may look up).
// Pure functions of their arguments: no DOM, no IndexedDB, so a test page can run the shared cases on them.

import { foldCode, scannedValue } from "./codes.js";

/** How many people a name search offers before asking for more of the name (app.services.desk.SEARCH_LIMIT). */
export const SEARCH_LIMIT = 8;

/**
 * @typedef {{id: string, when: Record<string, any>, then: string, message?: string}} DeskRule
 * @typedef {{tag_code: string, asset_tag: string, serial: string, status: string, campus?: string}} DeskDevice
 * @typedef {{asset: string, person: string, name: string, due?: string}} DeskLoan
 * @typedef {{id: string, name: string}} DeskPerson
 * @typedef {{campus: string, device_fields?: string[], devices: Array<Array<string> | DeskDevice>,
 *   loans: DeskLoan[], assigned?: Record<string, string>, people: DeskPerson[]}} DeskPack
 * @typedef {{code: string, picked?: boolean, selected?: string}} DeskEntry
 * @typedef {{rule: string, kind: string, message: string, facts: Record<string, any>, selected?: DeskPerson,
 *   person?: DeskPerson, device?: DeskDevice, loan?: DeskLoan, matches?: DeskPerson[], more?: boolean}} DeskOutcome
 */

let rulesPromise = /** @type {Promise<DeskRule[]> | null} */ (null);

/**
 * The rule table, fetched once per page (a static file: the service worker keeps it for offline use).
 * @param {string} [url]
 * @returns {Promise<DeskRule[]>}
 */
export function loadRules(url = "/static/desk-rules.json") {
  if (!rulesPromise) {
    rulesPromise = fetch(url, { credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error(`desk rules: ${response.status}`);
        return response.json();
      })
      .then((table) => /** @type {DeskRule[]} */ (table.rules));
    rulesPromise.catch(() => { rulesPromise = null; });
  }
  return rulesPromise;
}

/**
 * One condition of a rule against one fact: equal, one of a list, or {not: value}.
 * @param {any} condition
 * @param {any} value
 */
export function holds(condition, value) {
  if (Array.isArray(condition)) return condition.includes(value);
  if (condition !== null && typeof condition === "object") return value !== condition.not;
  return value === condition;
}

/**
 * A message with {fact} placeholders filled in (an unknown fact reads as empty).
 * @param {string} template
 * @param {Record<string, any>} facts
 */
export function fill(template, facts) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    const value = facts[name];
    return value === undefined || value === null || value === false ? "" : String(value);
  });
}

/**
 * Run the rules over the facts; the first rule whose conditions all hold decides.
 * @param {DeskRule[]} rules
 * @param {Record<string, any>} facts
 * @returns {{rule: string, kind: string, message: string}}
 */
export function decide(rules, facts) {
  for (const rule of rules) {
    const when = rule.when || {};
    if (Object.keys(when).every((name) => holds(when[name], facts[name] === undefined ? null : facts[name]))) {
      return { rule: rule.id, kind: rule.then, message: fill(rule.message || "", facts) };
    }
  }
  throw new Error("the desk rules end without a catch-all");
}

/**
 * The pack's devices as objects (the server sends them as rows, with the field names once).
 * @param {DeskPack} pack
 * @returns {DeskDevice[]}
 */
export function packDevices(pack) {
  const fields = pack.device_fields || ["tag_code", "asset_tag", "serial", "status"];
  return (pack.devices || []).map((row) => {
    if (!Array.isArray(row)) return row;
    /** @type {Record<string, string>} */
    const device = {};
    fields.forEach((name, i) => { device[name] = row[i]; });
    return /** @type {DeskDevice} */ (/** @type {unknown} */ (device));
  });
}

/**
 * The device a scanned value names, like app.services.assets.find_asset: tag code (folded), asset tag as typed
 * then upper case, serial upper case or as typed.
 * @param {DeskDevice[]} devices
 * @param {string} text
 * @returns {DeskDevice | undefined}
 */
export function findDevice(devices, text) {
  const raw = scannedValue(text);
  if (!raw) return undefined;
  const folded = foldCode(raw);
  const upper = raw.toUpperCase();
  return (
    (folded.length === 10 && devices.find((d) => d.tag_code === folded)) ||
    devices.find((d) => d.asset_tag === raw) ||
    devices.find((d) => d.asset_tag === upper || d.serial === upper || d.serial === raw) ||
    undefined
  );
}

/**
 * A desk person by their ID, in any case (the exact spelling first), like app.services.people.find_person_by_id.
 * @param {DeskPerson[]} people
 * @param {string} text
 */
export function findPerson(people, text) {
  const raw = (text || "").trim();
  if (!raw) return undefined;
  const lower = raw.toLowerCase();
  return people.find((p) => p.id === raw) || people.find((p) => p.id.toLowerCase() === lower);
}

/**
 * The facts of a scan from the desk pack (and, for a device the pack does not hold, `elsewhere`: a device of
 * another campus this phone knows from a kept offline pack).
 * @param {DeskPack} pack
 * @param {DeskEntry} entry
 * @param {DeskDevice | undefined} [elsewhere]
 */
export function deskFacts(pack, entry, elsewhere) {
  const code = (entry.code || "").trim();
  const people = pack.people || [];
  const selected = entry.selected ? findPerson(people, entry.selected) : undefined;
  const person = code ? findPerson(people, code) : undefined;
  const device = code ? findDevice(packDevices(pack), code) || elsewhere : undefined;
  const asset = !device ? "none" : device.campus && device.campus !== pack.campus ? "other_campus" : "here";
  const loan = device && asset === "here" ? (pack.loans || []).find((l) => l.asset === device.asset_tag) : undefined;
  const assignedName = device && (pack.assigned || {})[device.asset_tag];
  // Like the server's name search: active desk people whose name holds the text, by name, one more than offered.
  const needle = code.toLowerCase();
  const matches = code
    ? people
        .filter((p) => p.name.toLowerCase().includes(needle))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .slice(0, SEARCH_LIMIT + 1)
    : [];
  const names = matches.length === 0 ? "none" : matches.length === 1 ? "one" : "many";
  const facts = {
    entry: code ? "text" : "empty",
    code,
    picked: Boolean(entry.picked),
    selected: Boolean(selected),
    selected_name: selected ? selected.name : "",
    person: !person ? "none" : selected && person.id === selected.id ? "selected" : "other",
    person_name: person ? person.name : names === "one" ? matches[0].name : "",
    asset,
    asset_tag: device ? device.asset_tag : code,
    status: device ? device.status : null,
    status_label: device ? device.status.replace(/_/g, " ") : "",
    loan: !loan ? "none" : selected && loan.person.toLowerCase() === selected.id.toLowerCase() ? "selected" : "other",
    loan_name: loan ? loan.name : "",
    assigned: Boolean(assignedName),
    assigned_name: assignedName || "",
    names,
  };
  return {
    facts,
    selected,
    person: person || (names === "one" ? matches[0] : undefined),
    device,
    loan,
    matches: matches.slice(0, SEARCH_LIMIT),
    more: matches.length > SEARCH_LIMIT,
  };
}

/**
 * Decide one scan from the pack: the outcome, with the records it names.
 * @param {DeskRule[]} rules
 * @param {DeskPack} pack
 * @param {DeskEntry} entry
 * @param {DeskDevice | undefined} [elsewhere]
 * @returns {DeskOutcome}
 */
export function decideScan(rules, pack, entry, elsewhere) {
  const found = deskFacts(pack, entry, elsewhere);
  return { ...decide(rules, found.facts), ...found };
}

/**
 * The pack as this phone last saw it plus its own unsent desk events: a loaner lent here offline is out, one taken
 * back here offline is in, before the server has heard of either.
 * @param {DeskPack} pack
 * @param {Array<{type: string, data: Record<string, any>}>} pending oldest first
 * @returns {DeskPack}
 */
export function withPending(pack, pending) {
  const devices = packDevices(pack);
  let loans = [...(pack.loans || [])];
  for (const event of pending) {
    const device = findDevice(devices, String(event.data.asset || ""));
    const tag = device ? device.asset_tag : String(event.data.asset || "");
    if (event.type === "loan.checkout") {
      if (loans.some((l) => l.asset === tag)) continue;
      const who = findPerson(pack.people || [], String(event.data.person || ""));
      loans.push({ asset: tag, person: String(event.data.person), name: who ? who.name : String(event.data.person) });
    } else if (event.type === "loan.checkin") {
      loans = loans.filter((l) => l.asset !== tag);
    }
  }
  return { ...pack, loans };
}
