import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseTokenEndpointAuthMethod, ClientAuthenticationError, clientAuthentication } from "../../client/cli/pre-registered.ts";

const ISSUER = "http://127.0.0.1:3001";
const withSecret = { client_id: "cli", client_secret: "s" };
const choose = (supported: string[] | undefined, client: { client_id: string; client_secret?: string } = withSecret) =>
  chooseTokenEndpointAuthMethod({ issuer: ISSUER, token_endpoint_auth_methods_supported: supported }, client);

test("C7: client_secret_basic preferred, then client_secret_post; none without a secret", () => {
  assert.equal(choose(["none", "client_secret_post", "client_secret_basic"]), "client_secret_basic");
  assert.equal(choose(["none", "client_secret_post"]), "client_secret_post");
  assert.equal(choose(undefined), "client_secret_basic", "RFC 8414 §2: omitted means client_secret_basic");
  assert.equal(choose(["client_secret_basic"], { client_id: "cli" }), "none");
  assert.equal(choose(undefined, { client_id: "cli" }), "none");
  assert.throws(() => choose(["none", "private_key_jwt"]), (e: unknown) => {
    assert.ok(e instanceof ClientAuthenticationError);
    assert.match(e.message, /neither client_secret_basic nor client_secret_post .*none private_key_jwt/);
    assert.doesNotMatch(e.message, /"s"/);
    return true;
  });
});

test("RFC 6749 §2.3.1: Basic credentials are form-urlencoded id and secret, then base64 (RFC 7617)", () => {
  const client = { client_id: "my client", client_secret: "a+b%c:d é" };
  const headers = new Headers();
  const params = new URLSearchParams({ grant_type: "authorization_code" });
  clientAuthentication("client_secret_basic", client)(headers, params);
  const decoded = Buffer.from(headers.get("authorization")!.replace(/^Basic /, ""), "base64").toString("utf8");
  assert.equal(decoded, "my+client:a%2Bb%25c%3Ad+%C3%A9");
  const [id, secret] = decoded.split(":").map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
  assert.deepEqual([id, secret], [client.client_id, client.client_secret], "the AS's form decoding gets the originals back");
  assert.equal(params.get("client_id"), null, "one method per request (RFC 6749 §2.3)");
  assert.equal(params.get("client_secret"), null);
});

test("client_secret_post puts both in the form; none only names the client", () => {
  const post = new URLSearchParams();
  const postHeaders = new Headers();
  clientAuthentication("client_secret_post", withSecret)(postHeaders, post);
  assert.deepEqual([post.get("client_id"), post.get("client_secret"), postHeaders.get("authorization")], ["cli", "s", null]);
  const none = new URLSearchParams();
  clientAuthentication("none", withSecret)(new Headers(), none);
  assert.deepEqual([none.get("client_id"), none.get("client_secret")], ["cli", null]);
});
