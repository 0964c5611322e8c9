import { test } from "node:test";
import assert from "node:assert/strict";
import {
  authorize,
  authorizationParams,
  defaultClientMetadata,
  pkcePair,
  postRegister,
  redirectParams,
  registerClient,
  startAuthorizationServer,
} from "../helpers/oauth.ts";

test("/authorize: an error_description built from input carries only allowed characters", async () => {
  const as = await startAuthorizationServer();
  try {
    const client = await registerClient(as.config);
    const params = authorizationParams(as.config, client.client_id, pkcePair().code_challenge, { scope: 'files:read "evil"\u00e9' });
    const callback = redirectParams(await authorize(as.config, params));
    assert.equal(callback.get("error"), "invalid_scope");
    const description = callback.get("error_description")!;
    assert.match(description, /evil/, "the description names the offending scope");
    assert.match(description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  } finally {
    await as.close();
  }
});

test("/register: a JSON error_description that names bad input carries only allowed characters (RFC 7591 §3.2.2)", async () => {
  const as = await startAuthorizationServer();
  try {
    const response = await postRegister(as.config, { ...defaultClientMetadata(), grant_types: ['\u00e9"x\\'] });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; error_description: string };
    assert.equal(body.error, "invalid_client_metadata");
    assert.match(body.error_description, /grant_type/);
    assert.match(body.error_description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  } finally {
    await as.close();
  }
});
