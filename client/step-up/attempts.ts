/**
 * The step-up cap's bookkeeping (C4.5): which operation a request performs, and how many step-ups each
 * (resource, operation) has run since it last succeeded.
 */

/** C4.5 bookkeeping: step-ups per (resource, operation), surviving across requests. */
export class StepUpAttempts {
  private readonly counts = new Map<string, number>();
  constructor(readonly max = 2) {}
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  /** Count one more step-up, or return false when the cap is already reached. */
  tryBegin(key: string): boolean {
    const done = this.count(key);
    if (done >= this.max) return false;
    this.counts.set(key, done + 1);
    return true;
  }
  /** The operation succeeded: its next failure starts from zero. */
  reset(key: string): void {
    this.counts.delete(key);
  }
}

/** The operation a request performs: `tools/call:<name>`, else the JSON-RPC method(s), else the HTTP method. */
export function operationOf(init: RequestInit | undefined): string {
  const describe = (m: unknown): string | undefined => {
    if (!m || typeof m !== "object" || typeof (m as { method?: unknown }).method !== "string") return undefined;
    const { method, params } = m as { method: string; params?: { name?: unknown } };
    return method === "tools/call" && typeof params?.name === "string" ? `tools/call:${params.name}` : method;
  };
  if (typeof init?.body === "string") {
    try {
      const parsed: unknown = JSON.parse(init.body);
      const ops = (Array.isArray(parsed) ? parsed : [parsed]).map(describe).filter(Boolean);
      if (ops.length > 0) return ops.join(",");
    } catch {
      // not JSON-RPC: fall through to the HTTP method
    }
  }
  return init?.method ?? "GET";
}
