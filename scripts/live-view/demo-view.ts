/**
 * The live view of `pnpm demo`'s own run (scripts/demo.ts loads this only for `--web` or
 * `--transcript FILE.html`, so a plain `pnpm demo` does none of it):
 *
 *   1. the demo starts its servers with `EXCHANGE_EVENTS=1` and its client with `STORY_MARKS=1` (SERVER_ENV, CLIENT_ENV);
 *   2. `follow(stack)`: this reads both servers' events; `--web` also serves the view on a free
 *      loopback port (or VIEW_PORT), prints `Live view: <url>` and opens it in the system browser unless `--no-open`;
 *   3. `line()` takes the client's step marks (./story-marks.ts) out of its output;
 *   4. `settle()` waits for the last events before the servers stop; `finish()` writes the HTML
 *      transcript, and for `--web` keeps the view up until Ctrl-C or `--web-timeout`.
 */
import { writeFile } from "node:fs/promises";
import { openSystemBrowser } from "../../client/cli/browser-login.ts";
import { asUrls, rsUrls } from "../../shared/config.ts";
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";
import { collectStackEvents, type StackEvents } from "./collect.ts";
import { renderHtmlTranscript } from "./html-transcript.ts";
import { startLiveView, type LiveView } from "./server.ts";
import { parseStoryMark } from "../../shared/extras/story-marks.ts";
import { buildView, type StepMark, type ViewModel } from "./view-model.ts";

export const SERVER_ENV = { EXCHANGE_EVENTS: "1" };
export const CLIENT_ENV = { STORY_MARKS: "1" };

/** After the client exits, the servers' last events (its session's DELETE) are still on their way: this long without a new one ends the wait. */
const QUIET_MS = 150;

export interface DemoViewOptions {
  /** `--web`: serve the view while the story runs and after. */
  web: boolean;
  /** `--no-open` turns this off. */
  open: boolean;
  /** `--web-timeout MS`: how long the view stays up after the run (default: until Ctrl-C). */
  webTimeoutMs?: number;
  /** The view's port: VIEW_PORT when set, else 0 (a free one). */
  port: number;
  /** `--transcript FILE.html`. */
  htmlFile?: string;
  /** What the run is: `pnpm demo`, or `pnpm demo --break RULE`. */
  title: string;
  say: (line: string) => void;
}

export class DemoView {
  readonly #options: DemoViewOptions;
  readonly #marks: StepMark[] = [];
  #events: StackEvents | undefined;
  #view: LiveView | undefined;
  #subtitle = "";
  #verdict = "";
  #timer: NodeJS.Timeout | undefined;
  #lastEventAt = performance.now();

  constructor(options: DemoViewOptions) {
    this.#options = options;
  }

  #model(mode: ViewModel["mode"]): ViewModel {
    const events: ExchangeEvent[] = this.#events?.all() ?? [];
    return buildView(events, { title: this.#options.title, subtitle: [this.#verdict, this.#subtitle].filter(Boolean).join(" · "), mode, marks: this.#marks });
  }

  #refresh(): void {
    if (!this.#view) return;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#view?.show(this.#model("live"));
    }, 50);
  }

  /** Step 2: the servers are up (on these ports). */
  async follow(stack: { asPort: number; rsPort: number }): Promise<void> {
    this.#subtitle = `${this.#options.title} · AS ${asUrls(stack.asPort).issuer} · RS ${rsUrls(stack.rsPort).resource}`;
    this.#events = collectStackEvents(stack, {
      onEvent: () => {
        this.#lastEventAt = performance.now();
        this.#refresh();
      },
    });
    await this.#events.ready;
    if (!this.#options.web) return;
    this.#view = await startLiveView(this.#options.port, this.#model("live"));
    this.#options.say(`Live view: ${this.#view.url}`);
    if (this.#options.open && !openSystemBrowser(new URL(this.#view.url))) this.#options.say("[demo] no system browser to open: open the URL above yourself");
  }

  /** Step 3: true when `line` was a step mark (and so is not to be printed). */
  line(line: string): boolean {
    const mark = parseStoryMark(line);
    if (!mark) return false;
    this.#marks.push(mark);
    this.#refresh();
    return true;
  }

  /** Step 4a: the client is done; wait until the servers' events have stopped arriving. */
  async settle(): Promise<void> {
    while (this.#events && performance.now() - this.#lastEventAt < QUIET_MS) await new Promise((resolve) => setTimeout(resolve, QUIET_MS / 3));
    this.#events?.close();
  }

  /** Step 4b: the run's verdict is known and the servers are stopped. Resolves when the view is done. */
  async finish(verdict: string, stopped: Promise<unknown>): Promise<void> {
    this.#verdict = verdict;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#options.htmlFile) {
      await writeFile(this.#options.htmlFile, renderHtmlTranscript(this.#model("file")));
      this.#options.say(`[demo] live view of this run written to ${this.#options.htmlFile} (one file, opens offline)`);
    }
    if (!this.#view) return;
    this.#view.show(this.#model("live"));
    const { webTimeoutMs } = this.#options;
    this.#options.say(`[demo] the live view stays up at ${this.#view.url} — Ctrl-C to end${webTimeoutMs ? ` (or after ${webTimeoutMs} ms, --web-timeout)` : ""}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = webTimeoutMs ? new Promise((resolve) => (timer = setTimeout(resolve, webTimeoutMs))) : new Promise(() => {});
    await Promise.race([stopped, timeout]);
    clearTimeout(timer);
    await this.#view.close();
  }

  /** Whatever happened: nothing left listening or connected. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#events?.close();
    await this.#view?.close();
  }
}
