// @ts-check
/**
 * The live view's one module script: draws the model (scripts/live-view/view-model.ts) as one
 * three-lane SVG sequence diagram per client — Client, AS, RS — with the step-up rules and the selected
 * exchange's detail beside it. Live (served by scripts/live-view/server.ts) it follows `/events`, a
 * server-sent event stream of the whole model; in a transcript file (`pnpm demo --transcript FILE.html`)
 * the model is inline (`<script id="model">`) and nothing is fetched.
 *
 * No library: the drawing is a few lines, rectangles and texts, and each exchange is an element of its
 * own — focusable, clickable, with its own detail — which a text-to-diagram renderer (Mermaid) cannot
 * give. Keyboard: Tab reaches each exchange; ↑/↓ (or k/j) move within a client; Enter or a click selects.
 */

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 880;
const LANES = { client: 78, as: 400, rs: 722 };
const LANE_NAMES = { client: ["Client", "MCP client"], as: ["AS", "authorization server"], rs: ["RS", "MCP server"] };
const TOP = 14;
const ROW = { band: 34, note: 26, exchange: 52, finding: 19 };

/** @typedef {{ id: string, n: number, from: "client"|"as"|"rs", to: "client"|"as"|"rs", request: string, response: string, status: number, tone: string, marks: { rule: string, ok: boolean, text: string }[], detail: any }} Exchange */
/** @typedef {{ kind: "band", text: string, judged: boolean, note?: true } | { kind: "exchange", exchange: Exchange }} Row */
/** @typedef {{ id: string, kind: string, title: string, subtitle: string, rows: Row[], rules: { rule: string, title: string, mark: string, summary: string, links: { id: string, n: number }[] }[] }} Group */

/** @type {Map<string, string>} what each group's section was last drawn from */
const drawn = new Map();
/** @type {Map<string, Exchange>} */
const exchanges = new Map();
let selected = "";

/** @param {string} tag @param {Record<string, string | number>} [attributes] @param {string} [text] */
function svg(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** @param {string} tag @param {Record<string, string>} [attributes] @param {(Node | string)[]} [children] */
function html(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** Findings quote scopes in backticks (Markdown, as `pnpm interop` prints them); on the page they are quotes. */
const unquote = (text) => text.replace(/`([^`]*)`/g, "“$1”");

/** A label with an opaque background so that it reads over the lane lines (measured once drawn). */
function label(parent, x, y, text, className) {
  const group = svg("g", { class: className });
  const background = svg("rect", { class: "label-bg", x, y: y - 13, height: 17, rx: 3 });
  const words = svg("text", { x: x + 3, y }, text);
  group.append(background, words);
  parent.append(group);
  background.setAttribute("width", String(words.getComputedTextLength() + 6));
}

/** @param {SVGElement} parent @param {number} from @param {number} to @param {number} y @param {boolean} dashed */
function arrow(parent, from, to, y, dashed, className) {
  const direction = to > from ? 1 : -1;
  parent.append(svg("line", { class: `arrow ${className}${dashed ? " dashed" : ""}`, x1: from, y1: y, x2: to - direction * 9, y2: y }));
  parent.append(svg("path", { class: `head ${className}`, d: `M${to},${y} l${-direction * 10},-5 v10 z` }));
}

/** @param {Row} row */
const rowHeight = (row) => (row.kind === "band" ? (row.note ? ROW.note : ROW.band) : ROW.exchange + ROW.finding * row.exchange.marks.length);

/** @param {Group} group */
function diagram(group) {
  const height = TOP + group.rows.reduce((h, row) => h + rowHeight(row), 0) + 16;
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "group", "aria-label": `sequence diagram of ${group.title}` });
  root.style.setProperty("--height", `${height}`);
  for (const x of Object.values(LANES)) root.append(svg("line", { class: "lane", x1: x, y1: 0, x2: x, y2: height }));
  let y = TOP;
  for (const row of group.rows) {
    if (row.kind === "band" && row.note) {
      label(root, LANES.client + 8, y + 16, row.text, "note-label");
      y += ROW.note;
      continue;
    }
    if (row.kind === "band") {
      root.append(svg("rect", { class: `band${row.judged ? "" : " unjudged"}`, x: 4, y: y + 4, width: WIDTH - 8, height: ROW.band - 8, rx: 4 }));
      root.append(svg("text", { class: "band-text", x: 14, y: y + 22 }, row.judged ? row.text : `${row.text} — wrong on purpose, not judged`));
      y += ROW.band;
      continue;
    }
    const x = row.exchange;
    exchanges.set(x.id, x);
    const block = rowHeight(row);
    const item = svg("g", { class: `exchange tone-${x.tone}`, tabindex: 0, role: "button", "data-id": x.id, "aria-label": `#${x.n} ${x.request} — ${x.response}` });
    item.append(svg("rect", { class: "hit", x: 2, y: y + 1, width: WIDTH - 4, height: block - 2, rx: 4 }));
    item.append(svg("text", { class: "number", x: 12, y: y + 20 }, `#${x.n}`));
    const from = LANES[x.from];
    const to = LANES[x.to];
    arrow(item, from, to, y + 22, false, "request");
    arrow(item, to, from, y + 44, true, "response");
    root.append(item); // in the document before its labels are measured
    const left = Math.min(from, to) + 8;
    label(item, left, y + 17, x.request, "request-label");
    label(item, left, y + 39, x.response, "response-label");
    x.marks.forEach((mark, i) => {
      item.append(svg("text", { class: `finding ${mark.ok ? "pass" : "fail"}`, x: left + 3, y: y + ROW.exchange + 12 + i * ROW.finding }, `${mark.ok ? "✔" : "✘"} ${unquote(mark.text)}`));
    });
    y += block;
  }
  return root;
}

/** The lanes' names, above the diagram and kept in view while it scrolls (the SVG's lanes are below them). */
function laneBar() {
  const bar = html("div", { class: "lane-bar", "aria-hidden": "true" });
  for (const [lane, x] of Object.entries(LANES)) {
    const head = html("div", { class: `lane-head lane-${lane}` }, [html("b", {}, [LANE_NAMES[lane][0]]), html("span", {}, [LANE_NAMES[lane][1]])]);
    head.style.left = `${(x / WIDTH) * 100}%`; // a property, not a style attribute: the page's CSP allows no inline style
    bar.append(head);
  }
  return bar;
}

/** @param {Group} group */
function rulesPanel(group) {
  if (group.rules.length === 0) return html("p", { class: "no-rules" }, ["These requests name no client, and led to none yet."]);
  const list = html("ul", { class: "rules" });
  for (const rule of group.rules) {
    const mark = { pass: "✔", fail: "✘", unseen: "–" }[rule.mark] ?? "?";
    const links = rule.links.map((link) => {
      const button = html("button", { type: "button", "data-select": link.id, "aria-label": `show exchange #${link.n}` }, [`#${link.n}`]);
      return button;
    });
    list.append(
      html("li", { class: `rule ${rule.mark}` }, [
        html("span", { class: "mark", "aria-label": rule.mark === "pass" ? "kept" : rule.mark === "fail" ? "broken" : "not yet seen" }, [mark]),
        html("div", {}, [
          html("p", { class: "rule-title" }, [html("b", {}, [rule.rule]), ` ${rule.title}`]),
          html("p", { class: "rule-summary" }, [unquote(rule.summary), ...(links.length ? [html("span", { class: "rule-links" }, [" — ", ...links])] : [])]),
        ]),
      ]),
    );
  }
  return list;
}

/** The headers that matter to step-up (RFC 6750 §3, RFC 6749 §4.1.2, MCP Streamable HTTP); the others are folded. */
const MATTER = new Set(["authorization", "mcp-session-id", "www-authenticate", "location", "origin"]);

/** @param {[string, string][]} headers */
function headerTables(headers) {
  const matter = headers.filter(([name]) => MATTER.has(name));
  const rest = headers.filter(([name]) => !MATTER.has(name));
  return [...(matter.length ? [table(matter)] : []), ...(rest.length ? [html("details", {}, [html("summary", {}, [`other headers (${rest.length})`]), table(rest)])] : [])];
}

/** @param {[string, string][]} pairs */
function table(pairs) {
  return html("table", {}, pairs.map(([name, value]) => html("tr", {}, [html("th", { scope: "row" }, [name]), html("td", {}, [value])])));
}

/** A body, folded: its first line says what it is. @param {string} what @param {string} text */
function body(what, text) {
  const lines = text.split("\n").length;
  return html("details", {}, [html("summary", {}, [`${what} (${lines} line${lines === 1 ? "" : "s"})`]), html("pre", {}, [text])]);
}

/** @param {Exchange} x */
function detailPanel(x) {
  const d = x.detail;
  const parts = [html("h3", {}, [d.title]), html("p", { class: "meta" }, [`handled by the ${d.server} at ${d.at}, ${d.ms} ms`])];
  parts.push(html("h4", {}, ["Request ", html("code", {}, [d.requestLine])]));
  if (d.query.length) parts.push(table(d.query));
  parts.push(...headerTables(d.requestHeaders));
  if (d.token) parts.push(html("p", { class: "note" }, [`Token: ${d.token}`]));
  if (d.body) parts.push(body("body", d.body));
  parts.push(html("h4", {}, ["Response ", html("code", {}, [d.status])]));
  parts.push(...headerTables(d.responseHeaders));
  if (d.location) parts.push(html("p", { class: "note" }, ["Location's query:"]), table(d.location));
  if (d.granted) parts.push(html("p", { class: "note" }, [`The code grants ${d.granted}`]));
  if (d.claims) parts.push(html("p", { class: "note" }, ["The access token it issued, decoded:"]), table(d.claims));
  if (d.responseBody) parts.push(body("body", d.responseBody));
  return parts;
}

/** Select an exchange: highlight it, show its detail beside its diagram, optionally focus it. */
function select(id, focus = false) {
  const x = exchanges.get(id);
  if (!x) return;
  selected = id;
  for (const element of document.querySelectorAll(".exchange.selected")) element.classList.remove("selected");
  const item = document.querySelector(`.exchange[data-id="${CSS.escape(id)}"]`);
  if (!item) return;
  item.classList.add("selected");
  const section = item.closest("section");
  const panel = section?.querySelector(".detail");
  panel?.replaceChildren(...detailPanel(x));
  if (focus && item instanceof SVGElement) {
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "center", behavior: "smooth" });
  }
}

/** @param {{ title: string, subtitle: string, mode: string, generated: string, groups: Group[] }} model */
function render(model) {
  document.getElementById("subtitle").textContent = model.subtitle;
  const main = document.getElementById("groups");
  if (model.groups.length === 0) return;
  main.querySelector(".empty")?.remove();
  const focused = document.activeElement instanceof SVGElement ? document.activeElement.getAttribute("data-id") : null;
  const wanted = new Set(model.groups.map((group) => group.id));
  for (const section of [...main.querySelectorAll("section.group")]) if (!wanted.has(section.dataset.id ?? "")) section.remove();
  let previous = null;
  for (const group of model.groups) {
    const source = JSON.stringify(group);
    let section = main.querySelector(`section.group[data-id="${CSS.escape(group.id)}"]`);
    if (!section || drawn.get(group.id) !== source) {
      const fresh = html("section", { class: `group ${group.kind}`, "data-id": group.id, "aria-label": group.title }, [
        html("h2", {}, [group.title, html("span", { class: "subtitle" }, [group.subtitle])]),
        html("div", { class: "columns" }, [
          html("div", { class: "diagram" }),
          html("aside", {}, [html("h3", { class: "rules-heading" }, ["Step-up rules"]), rulesPanel(group), html("div", { class: "detail", "aria-live": "polite" }, [html("p", { class: "hint" }, ["Select an exchange to see it whole."])])]),
        ]),
      ]);
      if (section) section.replaceWith(fresh);
      else if (previous) previous.after(fresh);
      else main.prepend(fresh);
      section = fresh;
      section.querySelector(".diagram").append(laneBar(), diagram(group));
      drawn.set(group.id, source);
    }
    previous = section;
  }
  if (selected) select(selected);
  if (focused) /** @type {SVGElement | null} */ (document.querySelector(`.exchange[data-id="${CSS.escape(focused)}"]`))?.focus({ preventScroll: true });
}

document.addEventListener("click", (event) => {
  const target = /** @type {Element} */ (event.target);
  const link = target.closest("[data-select]");
  if (link) return select(link.getAttribute("data-select") ?? "", true);
  const item = target.closest(".exchange");
  if (item) select(item.getAttribute("data-id") ?? "");
});
document.addEventListener("focusin", (event) => {
  const item = /** @type {Element} */ (event.target).closest?.(".exchange");
  if (item) select(item.getAttribute("data-id") ?? "");
});
document.addEventListener("keydown", (event) => {
  const item = /** @type {Element} */ (event.target).closest?.(".exchange");
  if (!item) return;
  const all = [...(item.closest("svg")?.querySelectorAll(".exchange") ?? [])];
  const at = all.indexOf(item);
  const step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[event.key];
  if (step) {
    event.preventDefault();
    const next = all[at + step];
    if (next) select(next.getAttribute("data-id") ?? "", true);
  } else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    select(item.getAttribute("data-id") ?? "");
  }
});

const status = document.getElementById("status");
const inline = document.getElementById("model");
if (inline) {
  const model = JSON.parse(inline.textContent ?? "{}");
  status.textContent = `Recorded ${model.generated} · a file: nothing is fetched`;
  render(model);
} else {
  const events = new EventSource("events");
  status.textContent = "connecting…";
  events.addEventListener("open", () => (status.textContent = "live: new exchanges appear as the servers handle them"));
  events.addEventListener("error", () => (status.textContent = "reconnecting to the live view…"));
  events.addEventListener("model", (event) => render(JSON.parse(/** @type {MessageEvent} */ (event).data)));
}
