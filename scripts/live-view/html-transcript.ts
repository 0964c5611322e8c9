/**
 * `pnpm demo --transcript FILE.html`: the live view of one run as a single file — the page, its style
 * and its script inline, the model as JSON beside them — that opens anywhere, offline: its own
 * Content-Security-Policy allows no request at all (no script, style, font or image from anywhere).
 * A CI job can keep it as an artifact.
 */
import { pageFiles } from "./server.ts";
import type { ViewModel } from "./view-model.ts";

const POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/** Text inside `<script>`: nothing in it may close the element (`</script`) or open a comment (`<!--`). */
const inScript = (text: string) => text.replace(/</g, "\\u003c");

export function renderHtmlTranscript(model: ViewModel): string {
  const { html, css, js } = pageFiles();
  if (/<\/script|<!--/i.test(js)) throw new Error("page/view.js must not contain </script or <!-- (it is inlined)");
  const replace = (text: string, from: string, to: string) => {
    if (!text.includes(from)) throw new Error(`page/index.html no longer contains ${from}`);
    return text.replace(from, () => to);
  };
  let page = replace(html, '<meta charset="utf-8">', `<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="${POLICY}">`);
  page = replace(page, '<link rel="stylesheet" href="view.css">', `<style>\n${css}</style>`);
  page = replace(page, '<script type="module" src="view.js"></script>', `<script type="application/json" id="model">${inScript(JSON.stringify(model))}</script>\n<script type="module">\n${js}</script>`);
  return page.replace('<a href="model.json">model.json</a>', "the JSON in this file");
}
