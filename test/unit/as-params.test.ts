import { test } from "node:test";
import assert from "node:assert/strict";
import type { Request } from "express";
import { formParams, queryParams } from "../../as/params.ts";

const query = (originalUrl: string) => queryParams({ originalUrl } as Request);

test("query: repeated names are reported, whatever their values (RFC 6749 §3.1)", () => {
  const params = query("/authorize?client_id=a&scope=x&scope=x&state=&state=s");
  assert.deepEqual(params.duplicated, ["scope", "state"]);
  assert.equal(params.get("client_id"), "a");
  assert.equal(params.get("scope"), undefined, "a repeated parameter has no single value");
});

test("query: an empty value counts as omitted (RFC 6749 §3.1)", () => {
  const params = query("/authorize?scope=&state=abc&flag");
  assert.equal(params.get("scope"), undefined);
  assert.equal(params.get("flag"), undefined);
  assert.equal(params.get("state"), "abc");
  assert.deepEqual(params.duplicated, []);
  assert.deepEqual(query("/authorize").duplicated, []);
});

test("query: values are percent-decoded once", () => {
  assert.equal(query("/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb").get("redirect_uri"), "http://127.0.0.1/cb");
  assert.equal(query("/authorize?scope=files%3Aread+files%3Awrite").get("scope"), "files:read files:write");
});

test("form: arrays (repeats) and objects (brackets) are refused, strings pass", () => {
  const params = formParams({ grant_type: "refresh_token", scope: ["a", "b"], "x[y]": { z: "1" }, resource: { a: "b" } });
  assert.deepEqual([...params.duplicated].sort(), ["resource", "scope", "x[y]"]);
  assert.equal(params.get("grant_type"), "refresh_token");
  assert.deepEqual(formParams(undefined).duplicated, []);
  assert.equal(formParams({ code: "" }).get("code"), undefined);
});
