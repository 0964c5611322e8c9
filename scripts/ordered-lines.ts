/**
 * `pnpm demo --verbose`: the AS's, the RS's and the client's lines reach the orchestrator on separate
 * pipes, so the order they arrive in is not always the order they were written. Each line carries the
 * wall-clock stamp it was written at (`LOG_TIMESTAMPS=1`, shared/log.ts); this buffer holds stamped
 * lines for a short window and releases them in stamp order, without the stamp. An unstamped line
 * (a crash trace, a start-up line) passes straight through, in arrival order.
 */
import { parseStamp } from "../shared/log.ts";

/** How long a stamped line waits for an earlier-written one still on its way through another pipe. */
export const ORDER_WINDOW_MS = 50;

interface Held {
  time: number;
  seq: number;
  text: string;
  emit: (text: string) => void;
}

export class OrderedLines {
  private held: Held[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(windowMs = ORDER_WINDOW_MS, now = () => performance.timeOrigin + performance.now()) {
    this.windowMs = windowMs;
    this.now = now;
  }

  /** Take one line as received; `emit` prints it (without its stamp) when its turn comes. */
  push(line: string, emit: (text: string) => void): void {
    const { time, text } = parseStamp(line);
    if (time === undefined || this.ended) return emit(text);
    this.held.push({ time, seq: this.seq++, text, emit });
    this.timer ??= setTimeout(() => this.tick(), this.windowMs).unref();
  }

  /** Emit, in stamp order, every held line written more than the window ago. */
  release(): void {
    this.emitHeld(this.now() - this.windowMs);
  }

  /** The end of the run: emit everything held, in order; later lines pass straight through. */
  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.emitHeld(Infinity);
  }

  private tick(): void {
    this.timer = undefined;
    this.release();
    if (this.held.length > 0) this.timer = setTimeout(() => this.tick(), this.windowMs).unref();
  }

  private emitHeld(before: number): void {
    // Equal stamps keep their arrival order (`seq`): one process's lines arrive in the order it wrote them.
    this.held.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const due = this.held.filter((line) => line.time <= before);
    this.held = this.held.filter((line) => line.time > before);
    for (const line of due) line.emit(line.text);
  }
}
