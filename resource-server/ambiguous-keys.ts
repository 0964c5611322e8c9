/**
 * R9 — the gate decides on exactly the message that will run. `JSON.parse` makes a `__proto__` key an
 * ordinary own property, but a later parser or object copy (`target[key] = value`, some schema
 * libraries) makes it the prototype — and then a field the gate saw as absent (`params.name`) is
 * present for the executor. `constructor` and `prototype` are the other keys with a meaning beyond
 * their value. A message carrying any of them, at any depth, is refused before the gate looks at it.
 *
 * The check reads the keys of the parsed value, so every spelling in the JSON text
 * (`"\u005f\u005fproto\u005f\u005f"` included) is caught. It walks with an explicit stack: the body
 * limit allows nesting far deeper than the call stack.
 */

/** Object keys that another reader could treat as more than data (R9). */
export const AMBIGUOUS_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** The first ambiguous key in a parsed JSON value, as a path like `params.__proto__`, or `undefined`. */
export function ambiguousKeyPath(value: unknown): string | undefined {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: "" }];
  while (pending.length > 0) {
    const { value: current, path } = pending.pop()!;
    if (typeof current !== "object" || current === null) continue;
    if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push({ value: item, path: `${path}[${index}]` }));
      continue;
    }
    for (const key of Object.keys(current)) {
      const child = path === "" ? key : `${path}.${key}`;
      if (AMBIGUOUS_KEYS.has(key)) return child;
      pending.push({ value: (current as Record<string, unknown>)[key], path: child });
    }
  }
  return undefined;
}
