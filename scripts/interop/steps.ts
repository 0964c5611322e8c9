/**
 * The sequence every client goes through in `pnpm interop`, and the one-line protocol a driver uses to
 * tell the harness where each step starts and ends. The harness cuts the servers' exchange events at
 * those marks: what the servers handled between `start` and `end` of a step is what the client did in it.
 */

/** The demo's own story, as far as a third-party client can be driven through it (D1, D2, D3, D5, D6). */
export const STEPS = ["connect", "list-files", "write-file", "delete-file", "broken-challenge"] as const;
export type StepId = (typeof STEPS)[number];

/** The arguments of each tool step (`connect` is not a tool call). */
export const STEP_ARGUMENTS: Record<Exclude<StepId, "connect">, Record<string, string>> = {
  "list-files": {},
  "write-file": { name: "interop.txt", content: "written by pnpm interop\n" },
  "delete-file": { name: "notes.txt" },
  "broken-challenge": {},
};

/** What the client itself said about a step; the verdict comes from the servers' exchange events, not from this. */
export type ClientOutcome = "ok" | "error" | "timeout";

export type StepMark =
  | { step: StepId; phase: "start" }
  | { step: StepId; phase: "end"; outcome: ClientOutcome; detail: string };

/**
 * A server publishes an exchange's event as it answers, but the harness reads the servers' event streams
 * and the driver's pipe independently: the driver pauses this long around each mark so that every
 * event lands on the right side of it.
 */
export const SETTLE_MS = 100;

/** Lines a driver prints on stdout that start with this prefix are marks; anything else is ignored. */
export const MARK_PREFIX = "@@interop ";

export function formatMark(mark: StepMark): string {
  return `${MARK_PREFIX}${JSON.stringify(mark)}`;
}

export function parseMark(line: string): StepMark | undefined {
  if (!line.startsWith(MARK_PREFIX)) return undefined;
  try {
    const mark = JSON.parse(line.slice(MARK_PREFIX.length)) as StepMark;
    return (STEPS as readonly string[]).includes(mark.step) ? mark : undefined;
  } catch {
    return undefined;
  }
}

/** A tool result as text; a result flagged `isError` is the client's error, like a thrown one. */
export function toolResultText(result: { content: { type: string; text?: string }[]; isError?: boolean }): string {
  const text = result.content.map((block) => (block.type === "text" ? block.text : `[${block.type}]`)).join(" ");
  if (result.isError) throw new Error(`tool error: ${text}`);
  return text;
}

/** What a driver adapts its client to. */
export interface DrivenClient {
  connect(): Promise<void>;
  /** Resolves with the tool result's text; rejects with the client's own error. */
  callTool(name: string, args: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Run the sequence, each step bounded by `stepTimeoutMs`. A step that times out ends the run: a client
 * stuck in an authorization would only make every later step time out too.
 */
export async function runSteps(
  client: DrivenClient,
  stepTimeoutMs: number,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<void> {
  const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  for (const step of STEPS) {
    await settle();
    print(formatMark({ step, phase: "start" }));
    await settle();
    const work = step === "connect" ? client.connect().then(() => "connected") : client.callTool(step, STEP_ARGUMENTS[step]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), stepTimeoutMs)));
    const result = await Promise.race([
      work.then((text) => ({ outcome: "ok" as const, detail: text }), (error: unknown) => ({ outcome: "error" as const, detail: describe(error) })),
      timeout.then(() => ({ outcome: "timeout" as const, detail: `no answer within ${stepTimeoutMs} ms` })),
    ]);
    clearTimeout(timer);
    print(formatMark({ step, phase: "end", ...result, detail: oneLine(result.detail) }));
    if (result.outcome === "timeout" || (step === "connect" && result.outcome === "error")) break;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return String(error);
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
