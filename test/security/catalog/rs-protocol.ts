/**
 * Protocol abuse at `/mcp` (R5, R6, R8; B1): bodies, content types, JSON-RPC shapes, batches,
 * unknown tools and methods, odd parameter types and session ids — all sent with the victim's own,
 * valid token (`files:read files:write`), so the request gets past authentication and the body checks,
 * the scope gate and MCP are what is tested. The usual target is `delete-file notes.txt` (the victim
 * lacks `files:admin`) or a write of the marker: "the store is unchanged" proves nothing ran.
 *
 * The rule the duplicated-key entries pin: the gate judges the very object the MCP handler runs
 * (R5: the same parsed body is handed on), so whatever `JSON.parse` makes of duplicated keys
 * (the last one wins), gate and handler agree.
 */
import {
  accepted,
  bearer,
  type AttackKit,
  type AttackRequest,
  type Expectation,
  type JsonRpcId,
  type RsAttack,
} from "./rs-types.ts";

const victim = (kit: AttackKit): Record<string, string> => bearer(kit.victimToken);

/** A request with the victim's token and this body (a string is sent byte for byte). */
const send = (body: unknown, extra: Omit<AttackRequest, "body"> = {}) => (kit: AttackKit): AttackRequest => ({
  ...extra,
  headers: { ...victim(kit), ...extra.headers },
  body,
});

const rpcError = (status: number, code: number | undefined, message?: RegExp, id: JsonRpcId = null): Expectation => ({
  status,
  challenge: { kind: "none" },
  body: { rpcError: { code, id, message } },
});

/** R5: the gate's 403, with the scope the message (or batch) needs. */
const forbidden = (scope: string, description: RegExp, id: JsonRpcId): Expectation => ({
  status: 403,
  challenge: { kind: "insufficient_scope", scope, description },
  body: { rpcError: { code: -32000, id, message: /^Forbidden: / } },
});

/** R5: unknown tools reach MCP and get its own error — no challenge, and no scope named anywhere. */
const notATool = (text: RegExp): Expectation => ({
  status: 200,
  challenge: { kind: "none" },
  body: { toolError: text },
  mustNotContain: [/files:/],
});

const DELETE_NOTES = { name: "delete-file", arguments: { name: "notes.txt" } };
const deleteNotes = (id: JsonRpcId = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: DELETE_NOTES });
const call = (name: unknown, args: unknown = { name: "notes.txt" }, id: JsonRpcId = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

const PARSE_ERROR = rpcError(400, -32700, /^Parse error/);
const INVALID_REQUEST = rpcError(400, -32600, /^Invalid Request/);
const UNSUPPORTED = rpcError(415, -32000, /^Unsupported Media Type/);
const TOO_LARGE = rpcError(413, -32000, /^Payload Too Large: body exceeds 65536 bytes$/);
const DELETE_NEEDS_ADMIN = /^delete-file requires files:admin$/;
/** R9: a `__proto__`, `constructor` or `prototype` key anywhere → refused before the gate. */
const AMBIGUOUS_KEY = rpcError(400, -32600, /^Invalid Request: object key not allowed at /);

/** `{"params": {"name": "a", "name": "b"}}` and friends: JSON text with a duplicated key. */
const duplicated = (inner: string) => `{"jsonrpc":"2.0","id":1,"method":"tools/call",${inner}}`;

function nested(depth: number, open: string, close: string, core = "0"): string {
  return `${open.repeat(depth)}${core}${close.repeat(depth)}`;
}

function prototypeIsClean(): void {
  const probe: Record<string, unknown> = {};
  if (probe.polluted !== undefined || probe.isAdmin !== undefined) throw new Error("Object.prototype was polluted");
}

const DUPLICATES = "protocol: duplicated JSON keys";
const METHODS = "protocol: unknown JSON-RPC methods";
const SIZE = "protocol: body size";
const MALFORMED = "protocol: malformed JSON";
const CONTENT_TYPE = "protocol: content type and encoding";
const SHAPE = "protocol: bodies that are not a JSON-RPC message";
const BATCH = "protocol: batches mixing allowed and forbidden calls";
const UNKNOWN_TOOL = "protocol: unknown tools (no scope disclosure)";
const PARAMS = "protocol: odd tools/call params";
const SESSIONS = "protocol: session ids";
const HTTP = "protocol: HTTP methods and Accept";
const PROTOTYPE = "protocol: prototype pollution and nesting";
const ORIGIN_HOST = "protocol: Origin and Host";

export const PROTOCOL_ATTACKS: readonly RsAttack[] = [
  // ---- duplicated JSON keys: gate and handler must judge the same object ----
  {
    id: "dup.tool-name-last-forbidden",
    category: DUPLICATES,
    title: 'params {"name":"list-files","name":"delete-file"}: the last wins, and the gate sees it',
    cite: "RFC 8259 §4 (names SHOULD be unique; last wins in JSON.parse); R5",
    request: send(duplicated('"params":{"name":"list-files","name":"delete-file","arguments":{"name":"notes.txt"}}')),
    expect: forbidden("files:admin", DELETE_NEEDS_ADMIN, 1),
  },
  {
    id: "dup.tool-name-last-allowed",
    category: DUPLICATES,
    title: 'params {"name":"delete-file","name":"list-files"}: list-files runs, nothing is deleted',
    cite: "R5",
    request: send(duplicated('"params":{"name":"delete-file","name":"list-files","arguments":{"name":"notes.txt"}}')),
    expect: { status: 200, challenge: { kind: "none" }, body: { rpcResult: /^listed \d+ files — read by victim-client \[files:read files:write\]/ } },
  },
  {
    id: "dup.method",
    category: DUPLICATES,
    title: '{"method":"tools/list","method":"tools/call"} calling delete-file',
    cite: "R5",
    request: send('{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"delete-file","arguments":{"name":"notes.txt"}}}'),
    expect: forbidden("files:admin", DELETE_NEEDS_ADMIN, 1),
  },
  {
    id: "dup.params",
    category: DUPLICATES,
    title: "two params objects, list-files then delete-file",
    cite: "R5",
    request: send(duplicated('"params":{"name":"list-files"},"params":{"name":"delete-file","arguments":{"name":"notes.txt"}}')),
    expect: forbidden("files:admin", DELETE_NEEDS_ADMIN, 1),
  },
  {
    id: "dup.method-last-list",
    category: DUPLICATES,
    title: '{"method":"tools/call","method":"tools/list"} with delete-file params: tools/list runs',
    cite: "R5",
    request: send('{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list","params":{"name":"delete-file","arguments":{"name":"notes.txt"}}}'),
    expect: { status: 200, challenge: { kind: "none" }, body: { rpcResult: /"tools":\[/ } },
  },

  // ---- unknown JSON-RPC methods ----
  {
    id: "method.unknown",
    category: METHODS,
    title: "files/delete (no such method)",
    cite: "JSON-RPC 2.0 §5.1: -32601 Method not found",
    request: send({ jsonrpc: "2.0", id: 1, method: "files/delete", params: { name: "notes.txt" } }),
    expect: rpcError(200, -32601, /^Method not found$/, 1),
  },
  {
    id: "method.case-variant",
    category: METHODS,
    title: "Tools/Call (case variant) calling delete-file: neither gated nor run",
    cite: "JSON-RPC 2.0: method names are case-sensitive",
    request: send({ jsonrpc: "2.0", id: 1, method: "Tools/Call", params: DELETE_NOTES }),
    expect: rpcError(200, -32601, /^Method not found$/, 1),
  },
  {
    id: "method.trailing-space",
    category: METHODS,
    title: '"tools/call " (trailing space) calling delete-file',
    cite: "JSON-RPC 2.0 §5.1",
    request: send({ jsonrpc: "2.0", id: 1, method: "tools/call ", params: DELETE_NOTES }),
    expect: rpcError(200, -32601, /^Method not found$/, 1),
  },
  {
    id: "method.unknown-notification",
    category: METHODS,
    title: "an unknown notification (no id) → 202, nothing runs",
    cite: "MCP Streamable HTTP: notifications are answered 202",
    request: send({ jsonrpc: "2.0", method: "files/delete", params: { name: "notes.txt" } }),
    expect: { status: 202, challenge: { kind: "none" }, body: { empty: true } },
  },
  {
    id: "method.tools-call-notification",
    category: METHODS,
    title: "tools/call delete-file as a notification (no id): gated anyway (fail closed)",
    cite: "R5",
    request: send({ jsonrpc: "2.0", method: "tools/call", params: DELETE_NOTES }),
    expect: forbidden("files:admin", DELETE_NEEDS_ADMIN, null),
  },

  // ---- body size (R8: 413 in JSON-RPC shape) ----
  {
    id: "size.one-byte-over",
    category: SIZE,
    title: "a body of 64 KiB + 1 byte",
    cite: "R8 (the RS's own limit applies to a pre-parsed body)",
    request: (kit) => {
      const body = JSON.stringify({ ...kit.writeMarker(), pad: "" });
      return send(JSON.stringify({ ...kit.writeMarker(), pad: "x".repeat(64 * 1024 + 1 - body.length) }))(kit);
    },
    expect: TOO_LARGE,
  },
  {
    id: "size.two-megabytes",
    category: SIZE,
    title: "a 2 MB write-file",
    cite: "R8",
    request: (kit) => send(call("write-file", { name: kit.marker, content: "x".repeat(2 * 1024 * 1024) }))(kit),
    expect: TOO_LARGE,
  },
  {
    id: "size.chunked-no-length",
    category: SIZE,
    title: "a 1 MB body sent chunked (no Content-Length to reject it by)",
    cite: "R8: the limit counts bytes read, whatever the framing",
    request: (kit) =>
      send(JSON.stringify(call("write-file", { name: kit.marker, content: "x".repeat(1024 * 1024) })), {
        headers: { "transfer-encoding": "chunked" },
      })(kit),
    expect: TOO_LARGE,
  },

  // ---- malformed JSON (R8: 400 -32700) ----
  { id: "json.truncated", category: MALFORMED, title: "truncated JSON", cite: "JSON-RPC 2.0 §5.1: -32700", request: send('{"jsonrpc":"2.0","id":1,"method":'), expect: PARSE_ERROR },
  { id: "json.trailing-garbage", category: MALFORMED, title: "a valid message followed by garbage", cite: "RFC 8259 §2", request: send(`${JSON.stringify(deleteNotes())}xyz`), expect: PARSE_ERROR },
  { id: "json.two-messages", category: MALFORMED, title: "two JSON documents back to back", cite: "RFC 8259 §2", request: send(`${JSON.stringify(deleteNotes(1))}${JSON.stringify(deleteNotes(2))}`), expect: PARSE_ERROR },
  { id: "json.single-quotes", category: MALFORMED, title: "single-quoted strings", cite: "RFC 8259 §7", request: send("{'jsonrpc':'2.0','id':1,'method':'ping'}"), expect: PARSE_ERROR },
  { id: "json.comments", category: MALFORMED, title: "comments in JSON", cite: "RFC 8259", request: send('{"jsonrpc":"2.0", /* hi */ "id":1,"method":"ping"}'), expect: PARSE_ERROR },
  { id: "json.nan", category: MALFORMED, title: "NaN as an id", cite: "RFC 8259 §6", request: send('{"jsonrpc":"2.0","id":NaN,"method":"ping"}'), expect: PARSE_ERROR },
  {
    id: "json.invalid-utf8",
    category: MALFORMED,
    title: "invalid UTF-8 bytes inside a file name: decoded as U+FFFD, refused by the store",
    cite: "RFC 8259 §8.1; R8",
    request: (kit) =>
      send(Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write-file","arguments":{"name":"x`), Buffer.from([0xff, 0xfe]), Buffer.from(`.txt","content":"x"}}}`)]))(kit),
    expect: { status: 200, challenge: { kind: "none" }, body: { toolError: /^invalid file name/ } },
  },
  {
    id: "json.bom-accepted",
    category: MALFORMED,
    title: "a UTF-8 byte order mark before a valid message → accepted",
    cite: "RFC 8259 §8.1: a parser MAY ignore a BOM",
    request: (kit) => send(`\uFEFF${JSON.stringify(kit.writeMarker())}`)(kit),
    expect: accepted(),
  },

  // ---- content type and encoding (R8: 415) ----
  { id: "ct.text-plain", category: CONTENT_TYPE, title: "text/plain holding valid JSON", cite: "R8 (fail closed)", request: send(JSON.stringify(deleteNotes()), { headers: { "content-type": "text/plain" } }), expect: UNSUPPORTED },
  { id: "ct.missing", category: CONTENT_TYPE, title: "no Content-Type at all", cite: "R8", request: send(JSON.stringify(deleteNotes()), { headers: { "content-type": "" } }), expect: UNSUPPORTED },
  { id: "ct.form", category: CONTENT_TYPE, title: "application/x-www-form-urlencoded", cite: "R8", request: send("jsonrpc=2.0&id=1&method=tools%2Fcall", { headers: { "content-type": "application/x-www-form-urlencoded" } }), expect: UNSUPPORTED },
  { id: "ct.multipart", category: CONTENT_TYPE, title: "multipart/form-data", cite: "R8", request: send('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n{}\r\n--b--\r\n', { headers: { "content-type": "multipart/form-data; boundary=b" } }), expect: UNSUPPORTED },
  { id: "ct.json-suffix", category: CONTENT_TYPE, title: "application/json-patch+json", cite: "R8: exactly application/json", request: send(JSON.stringify(deleteNotes()), { headers: { "content-type": "application/json-patch+json" } }), expect: UNSUPPORTED },
  { id: "ct.list", category: CONTENT_TYPE, title: '"application/json, text/plain" (a list is not a media type)', cite: "RFC 9110 §8.3", request: send(JSON.stringify(deleteNotes()), { headers: { "content-type": "application/json, text/plain" } }), expect: UNSUPPORTED },
  { id: "ct.utf16", category: CONTENT_TYPE, title: "application/json; charset=utf-16", cite: "RFC 8259 §8.1: UTF-8", request: send(JSON.stringify(deleteNotes()), { headers: { "content-type": "application/json; charset=utf-16" } }), expect: rpcError(415, -32000, /charset must be utf-8/) },
  { id: "ct.brotli", category: CONTENT_TYPE, title: "Content-Encoding: br (the size limit must bound what is parsed)", cite: "R8", request: send(JSON.stringify(deleteNotes()), { headers: { "content-encoding": "br" } }), expect: rpcError(415, -32000, /encoding/) },
  {
    id: "ct.uppercase-accepted",
    category: CONTENT_TYPE,
    title: "APPLICATION/JSON → accepted (media types are case-insensitive)",
    cite: "RFC 9110 §8.3.1",
    request: (kit) => send(JSON.stringify(kit.writeMarker()), { headers: { "content-type": "APPLICATION/JSON" } })(kit),
    expect: accepted(),
  },
  {
    id: "ct.charset-param-accepted",
    category: CONTENT_TYPE,
    title: "application/json; charset=UTF-8 → accepted",
    cite: "RFC 8259 §11",
    request: (kit) => send(JSON.stringify(kit.writeMarker()), { headers: { "content-type": "application/json; charset=UTF-8" } })(kit),
    expect: accepted(),
  },

  // ---- valid JSON that is not a JSON-RPC message (JSON-RPC 2.0 §5.1/§6: -32600 Invalid Request) ----
  { id: "shape.null", category: SHAPE, title: "null", cite: "JSON-RPC 2.0 §5.1: -32600", request: send("null"), expect: INVALID_REQUEST },
  { id: "shape.number", category: SHAPE, title: "42", cite: "JSON-RPC 2.0 §5.1", request: send("42"), expect: INVALID_REQUEST },
  { id: "shape.string", category: SHAPE, title: '"x"', cite: "JSON-RPC 2.0 §5.1", request: send('"x"'), expect: INVALID_REQUEST },
  { id: "shape.boolean", category: SHAPE, title: "true", cite: "JSON-RPC 2.0 §5.1", request: send("true"), expect: INVALID_REQUEST },
  { id: "shape.empty-batch", category: SHAPE, title: "[] (an empty batch)", cite: "JSON-RPC 2.0 §6: an empty array is an Invalid Request", request: send("[]"), expect: INVALID_REQUEST },
  { id: "shape.batch-of-number", category: SHAPE, title: "[1]", cite: "JSON-RPC 2.0 §6", request: send("[1]"), expect: INVALID_REQUEST },
  { id: "shape.batch-of-null", category: SHAPE, title: "[null, <delete-file>]", cite: "JSON-RPC 2.0 §6", request: send(JSON.stringify([null, deleteNotes()])), expect: INVALID_REQUEST },
  { id: "shape.nested-batch", category: SHAPE, title: "[[<delete-file>]] (a batch inside a batch)", cite: "JSON-RPC 2.0 §6", request: send(JSON.stringify([[deleteNotes()]])), expect: INVALID_REQUEST },
  { id: "shape.empty-body", category: SHAPE, title: "an empty body", cite: "R8", request: send(""), expect: rpcError(400, -32600, /empty body/) },

  // ---- batches (R5: one 403 with id null for the whole batch, nothing in it runs) ----
  {
    id: "batch.allowed-then-forbidden",
    category: BATCH,
    title: "[write-file marker (allowed), delete-file notes.txt (needs files:admin)]",
    cite: "R5: gated on the union of needs, in catalog order; nothing runs",
    request: (kit) => send([kit.writeMarker(1), deleteNotes(2)])(kit),
    expect: forbidden("files:write files:admin", DELETE_NEEDS_ADMIN, null),
  },
  {
    id: "batch.forbidden-then-allowed",
    category: BATCH,
    title: "[delete-file notes.txt, write-file marker]",
    cite: "R5",
    request: (kit) => send([deleteNotes(1), kit.writeMarker(2)])(kit),
    expect: forbidden("files:write files:admin", DELETE_NEEDS_ADMIN, null),
  },
  {
    id: "batch.forbidden-notification",
    category: BATCH,
    title: "[delete-file as a notification, write-file marker]",
    cite: "R5: notifications are gated too",
    request: (kit) => send([{ jsonrpc: "2.0", method: "tools/call", params: DELETE_NOTES }, kit.writeMarker(2)])(kit),
    expect: forbidden("files:write files:admin", DELETE_NEEDS_ADMIN, null),
  },
  {
    id: "batch.with-broken-challenge",
    category: BATCH,
    title: "[write-file marker, broken-challenge]",
    cite: "R5, S2 (broken-challenge always answers 403)",
    request: (kit) => send([kit.writeMarker(1), call("broken-challenge", {}, 2)])(kit),
    expect: forbidden("files:read files:write", /^broken-challenge requires files:read$/, null),
  },
  {
    id: "batch.same-id-twice",
    category: BATCH,
    title: "[write-file marker id 7, delete-file id 7] (a repeated id does not confuse the gate)",
    cite: "R5",
    request: (kit) => send([kit.writeMarker(7), deleteNotes(7)])(kit),
    expect: forbidden("files:write files:admin", DELETE_NEEDS_ADMIN, null),
  },

  // ---- unknown tools: not challenged, no scope disclosed (R5) ----
  { id: "tool.unknown", category: UNKNOWN_TOOL, title: "no-such-tool", cite: "R5", request: send(call("no-such-tool")), expect: notATool(/Tool no-such-tool not found/) },
  { id: "tool.case-variant", category: UNKNOWN_TOOL, title: "Delete-File (case variant of a known tool)", cite: "R5: tool names are case-sensitive", request: send(call("Delete-File")), expect: notATool(/Tool Delete-File not found/) },
  { id: "tool.trailing-space", category: UNKNOWN_TOOL, title: '"delete-file " (trailing space)', cite: "R5", request: send(call("delete-file ")), expect: notATool(/not found/) },
  { id: "tool.nul-suffix", category: UNKNOWN_TOOL, title: '"delete-file\\u0000"', cite: "R5", request: send(call("delete-file\u0000")), expect: notATool(/not found/) },
  { id: "tool.proto", category: UNKNOWN_TOOL, title: '"__proto__" as a tool name', cite: "R5; B1", request: send(call("__proto__")), expect: notATool(/Tool __proto__ (disabled|not found)/) },
  { id: "tool.constructor", category: UNKNOWN_TOOL, title: '"constructor" as a tool name', cite: "R5; B1", request: send(call("constructor")), expect: notATool(/Tool constructor (disabled|not found)/) },

  // ---- odd params.name / params types: never gated as a known tool, never run ----
  { id: "params.name-missing", category: PARAMS, title: "params without name", cite: "MCP tools/call; R8", request: send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { arguments: { name: "notes.txt" } } }), expect: { ...rpcError(200, undefined, undefined, 1), mustNotContain: [/files:/] } },
  { id: "params.name-number", category: PARAMS, title: "name: 42", cite: "R8", request: send(call(42)), expect: { ...rpcError(200, undefined, undefined, 1), mustNotContain: [/files:/] } },
  { id: "params.name-null", category: PARAMS, title: "name: null", cite: "R8", request: send(call(null)), expect: { ...rpcError(200, undefined, undefined, 1), mustNotContain: [/files:/] } },
  { id: "params.name-array", category: PARAMS, title: 'name: ["delete-file"] (would stringify to a known tool)', cite: "R5: nothing coerces it past the gate", request: send(call(["delete-file"])), expect: { ...rpcError(200, undefined, undefined, 1), mustNotContain: [/files:/] } },
  { id: "params.name-object", category: PARAMS, title: 'name: {"toString": "delete-file"}', cite: "R5", request: send(call({ toString: "delete-file" })), expect: { ...rpcError(200, undefined, undefined, 1), mustNotContain: [/files:/] } },
  { id: "params.name-boolean", category: PARAMS, title: "name: true", cite: "R8", request: send(call(true)), expect: { ...rpcError(200, undefined, undefined, 1), mustNotContain: [/files:/] } },
  { id: "params.string", category: PARAMS, title: 'params: "delete-file"', cite: "JSON-RPC 2.0 §4.2: params is structured", request: send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: "delete-file" }), expect: rpcError(400, undefined) },
  { id: "params.null", category: PARAMS, title: "params: null", cite: "JSON-RPC 2.0 §4.2", request: send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: null }), expect: rpcError(400, undefined) },
  { id: "params.array", category: PARAMS, title: 'params: ["delete-file", {"name": "notes.txt"}] (by-position)', cite: "MCP uses by-name params", request: send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: ["delete-file", { name: "notes.txt" }] }), expect: rpcError(400, undefined) },
  { id: "params.arguments-array-name", category: PARAMS, title: 'read-file with arguments {"name": ["notes.txt"]}', cite: "MCP input schema validation", request: send(call("read-file", { name: ["notes.txt"] })), expect: { status: 200, challenge: { kind: "none" }, body: { toolError: /Input validation error/ } } },
  { id: "params.arguments-string", category: PARAMS, title: 'write-file with arguments "x"', cite: "MCP tools/call", request: send(call("write-file", "x")), expect: rpcError(200, undefined, undefined, 1) },

  // ---- session ids (R6) ----
  { id: "session.unknown-uuid", category: SESSIONS, title: "a well-formed session id that does not exist", cite: "R6, MCP: 404 for an unknown session", request: send(deleteNotes(), { headers: { "mcp-session-id": "6f1c2b1e-0000-4000-8000-000000000000" } }), expect: rpcError(404, -32001, /^Session not found$/) },
  { id: "session.path-like", category: SESSIONS, title: "a session id that looks like a path", cite: "R6", request: send(deleteNotes(), { headers: { "mcp-session-id": "../../../etc/passwd" } }), expect: rpcError(404, -32001, /^Session not found$/) },
  { id: "session.long-4k", category: SESSIONS, title: "a 4 KB session id", cite: "R6; B1", request: send(deleteNotes(), { headers: { "mcp-session-id": "s".repeat(4096) } }), expect: rpcError(404, -32001, /^Session not found$/) },
  {
    id: "session.long-64k",
    category: SESSIONS,
    title: "a 64 KB session id: Node's header limit refuses it (431, or a reset while sending) before any handler",
    cite: "RFC 6585 §5; RFC 9112 §9.6; B1 (no crash, the server keeps serving)",
    request: send(deleteNotes(), { headers: { "mcp-session-id": "s".repeat(64 * 1024) } }),
    expect: { status: 431, challenge: { kind: "none" }, body: { empty: true }, orReset: true },
  },
  {
    id: "session.two-headers",
    category: SESSIONS,
    title: "two Mcp-Session-Id headers, the victim's first",
    cite: "R6: an ambiguous session is not the victim's",
    request: (kit) => send(kit.writeMarker(), { headers: { "mcp-session-id": [kit.victim.sessionId, "6f1c2b1e-0000-4000-8000-000000000000"] } })(kit),
    expect: rpcError(404, -32001, /^Session not found$/),
  },
  { id: "session.none-not-initialize", category: SESSIONS, title: "no session id on a request that is not initialize", cite: "MCP Streamable HTTP", request: send(deleteNotes(), { session: "none" }), expect: rpcError(400, -32000, /Mcp-Session-Id header is required/) },
  {
    id: "session.reinitialize",
    category: SESSIONS,
    title: "initialize again on a live session",
    cite: "MCP lifecycle: one initialize per session",
    request: send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    expect: rpcError(400, -32600, /already initialized/),
  },

  // ---- HTTP methods and Accept ----
  {
    id: "http.put",
    category: HTTP,
    title: "PUT /mcp → 405 with Allow",
    cite: "RFC 9110 §15.5.6; MCP Streamable HTTP",
    request: (kit) => send(kit.writeMarker(), { method: "PUT" })(kit),
    expect: rpcError(405, -32000, /^Method not allowed/),
  },
  {
    id: "http.patch",
    category: HTTP,
    title: "PATCH /mcp → 405",
    cite: "RFC 9110 §15.5.6",
    request: (kit) => send(kit.writeMarker(), { method: "PATCH" })(kit),
    expect: rpcError(405, -32000, /^Method not allowed/),
  },
  {
    id: "http.get-json-only",
    category: HTTP,
    title: "GET (the SSE stream) accepting only application/json → 406",
    cite: "MCP Streamable HTTP: the GET stream is text/event-stream",
    request: (kit) => ({ method: "GET", headers: { ...victim(kit), accept: "application/json" } }),
    expect: rpcError(406, -32000, /Not Acceptable/),
  },
  {
    id: "http.post-accept-json-only",
    category: HTTP,
    title: "POST accepting only text/html → 406, nothing runs",
    cite: "MCP Streamable HTTP: the client accepts JSON and SSE",
    request: (kit) => send(kit.writeMarker(), { headers: { accept: "text/html" } })(kit),
    expect: rpcError(406, -32000, /Not Acceptable/),
  },

  // ---- Origin and Host (R10): on every route, before anything else ----
  {
    id: "origin.foreign",
    category: ORIGIN_HOST,
    title: "Origin: http://evil.example (a web page elsewhere)",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "http://evil.example" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "origin.null",
    category: ORIGIN_HOST,
    title: "Origin: null (sandboxed frame, file: page)",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "null" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "origin.loopback-lookalike",
    category: ORIGIN_HOST,
    title: "Origin: http://127.0.0.1.evil.example",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "http://127.0.0.1.evil.example" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "origin.userinfo",
    category: ORIGIN_HOST,
    title: "Origin: http://evil.example@127.0.0.1 (not an origin serialization)",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "http://evil.example@127.0.0.1" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "origin.with-path",
    category: ORIGIN_HOST,
    title: "Origin: http://127.0.0.1/evil (an origin has no path)",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "http://127.0.0.1/evil" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "origin.other-scheme",
    category: ORIGIN_HOST,
    title: "Origin: chrome-extension://abc",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "chrome-extension://abc" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "origin.twice",
    category: ORIGIN_HOST,
    title: "two Origin headers: a loopback one, then a foreign one",
    cite: "R10; MCP Streamable HTTP: a present, invalid Origin → 403",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: ["http://127.0.0.1", "http://evil.example"] } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Origin must be a loopback origin/),
  },
  {
    id: "host.foreign",
    category: ORIGIN_HOST,
    title: "Host: evil.example (DNS rebinding)",
    cite: "R10",
    request: (kit) => send(kit.writeMarker(), { headers: { host: "evil.example" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Host must name this loopback server/),
  },
  {
    id: "host.userinfo",
    category: ORIGIN_HOST,
    title: "Host: evil.example@127.0.0.1 (what new URL would repair)",
    cite: "R10: nothing a URL parser would repair",
    request: (kit) => send(kit.writeMarker(), { headers: { host: "evil.example@127.0.0.1" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Host must name this loopback server/),
  },
  {
    id: "host.rebinding-name",
    category: ORIGIN_HOST,
    title: "Host: 127.0.0.1.evil.example",
    cite: "R10",
    request: (kit) => send(kit.writeMarker(), { headers: { host: "127.0.0.1.evil.example" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Host must name this loopback server/),
  },
  {
    id: "host.trailing-garbage",
    category: ORIGIN_HOST,
    title: "Host: 127.0.0.1:80/x",
    cite: "R10",
    request: (kit) => send(kit.writeMarker(), { headers: { host: "127.0.0.1:80/x" } })(kit),
    expect: rpcError(403, -32000, /^Forbidden: Host must name this loopback server/),
  },
  {
    id: "origin.loopback-accepted",
    category: ORIGIN_HOST,
    title: "Origin: http://localhost:6274 (a page served from loopback, e.g. the MCP Inspector) \u2192 accepted",
    cite: "R10: a loopback origin is valid",
    request: (kit) => send(kit.writeMarker(), { headers: { origin: "http://localhost:6274" } })(kit),
    expect: accepted(),
  },

  // ---- prototype pollution and deep nesting (§7: no crash, no corruption) ----
  {
    id: "proto.top-level",
    category: PROTOTYPE,
    title: '"__proto__" keys around a delete-file call → refused before the gate',
    cite: "R9",
    request: send('{"jsonrpc":"2.0","id":1,"method":"tools/call","__proto__":{"polluted":true},"params":{"name":"delete-file","__proto__":{"isAdmin":true},"arguments":{"name":"notes.txt"}}}'),
    expect: AMBIGUOUS_KEY,
    verify: prototypeIsClean,
  },
  {
    id: "proto.top-level-allowed-call",
    category: PROTOTYPE,
    title: '"__proto__" keys around a list-files call → refused before the gate',
    cite: "R9",
    request: send('{"jsonrpc":"2.0","id":1,"method":"tools/call","__proto__":{"polluted":true},"params":{"name":"list-files","__proto__":{"isAdmin":true}}}'),
    expect: AMBIGUOUS_KEY,
    verify: prototypeIsClean,
  },
  {
    id: "proto.hides-tool-name",
    category: PROTOTYPE,
    title: 'params {"__proto__":{"name":"delete-file",…}}: a tool name the gate cannot see → refused',
    cite: "R9",
    request: send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":${JSON.stringify(DELETE_NOTES)}}}`),
    expect: AMBIGUOUS_KEY,
  },
  {
    id: "proto.hides-tool-name-escaped",
    category: PROTOTYPE,
    title: "the same with the key spelled \\u005f\\u005fproto\\u005f\\u005f in the JSON text",
    cite: "R9: however it is spelled",
    request: send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"\\u005f\\u005fproto\\u005f\\u005f":${JSON.stringify(DELETE_NOTES)}}}`),
    expect: AMBIGUOUS_KEY,
  },
  {
    id: "proto.hides-tool-name-in-batch",
    category: PROTOTYPE,
    title: "a batch of list-files and a __proto__-hidden delete-file → the whole batch refused",
    cite: "R9; R5 (a batch as a whole)",
    request: send(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list-files"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"__proto__":${JSON.stringify(DELETE_NOTES)}}}]`),
    expect: AMBIGUOUS_KEY,
  },
  {
    id: "proto.hides-method",
    category: PROTOTYPE,
    title: 'the message\'s method and params under a top-level "__proto__"',
    cite: "R9",
    request: send(`{"jsonrpc":"2.0","id":1,"__proto__":{"method":"tools/call","params":${JSON.stringify(DELETE_NOTES)}}}`),
    expect: AMBIGUOUS_KEY,
  },
  {
    id: "proto.constructor-key",
    category: PROTOTYPE,
    title: 'a "constructor" key deep inside write-file arguments',
    cite: "R9: at any depth",
    request: (kit) => send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write-file","arguments":{"name":"${kit.marker}","content":"x","meta":[{"constructor":{"prototype":{"isAdmin":true}}}]}}}`)(kit),
    expect: AMBIGUOUS_KEY,
    verify: prototypeIsClean,
  },
  {
    id: "proto.prototype-key",
    category: PROTOTYPE,
    title: 'a "prototype" key in params naming delete-file',
    cite: "R9",
    request: send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list-files","prototype":${JSON.stringify(DELETE_NOTES)}}}`),
    expect: AMBIGUOUS_KEY,
  },
  {
    id: "proto.in-arguments",
    category: PROTOTYPE,
    title: '"__proto__" inside write-file arguments → refused, nothing written, nothing polluted',
    cite: "R9",
    request: (kit) => send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write-file","arguments":{"name":"${kit.marker}","content":"x","__proto__":{"isAdmin":true}}}}`)(kit),
    expect: AMBIGUOUS_KEY,
    verify: prototypeIsClean,
  },
  {
    id: "proto.key-as-value-accepted",
    category: PROTOTYPE,
    title: '"__proto__" as a string value (file content), not a key → the write is the victim\'s own',
    cite: "R9 refuses keys only",
    request: (kit) => send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write-file","arguments":{"name":"${kit.marker}","content":"__proto__ constructor prototype"}}}`)(kit),
    expect: accepted(),
  },
  {
    id: "deep.arguments",
    category: PROTOTYPE,
    title: "list-files with an extra argument nested 9 000 levels deep",
    cite: "B1: no stack overflow, no 5xx",
    request: send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list-files","arguments":{"x":${nested(9000, '{"a":', "}")}}}}`),
    expect: { status: 200, challenge: { kind: "none" }, body: { rpcResult: /^listed \d+ files/ } },
  },
  {
    id: "deep.arrays",
    category: PROTOTYPE,
    title: "an array nested 20 000 levels deep",
    cite: "B1; JSON-RPC 2.0 §6",
    request: send(nested(20_000, "[", "]")),
    expect: INVALID_REQUEST,
  },
];
