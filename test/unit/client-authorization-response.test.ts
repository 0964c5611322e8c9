import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AuthorizationResponseError,
  checkAuthorizationRedirect,
  checkIssParameter,
  headlessUserAgent,
  isRegisteredRedirect,
} from "../../client/authorization-response.ts";

const ISSUER = "http://127.0.0.1:3001";
const REDIRECT = "http://127.0.0.1:8976/callback";

test("RFC 9207 §2.4: the iss table", () => {
  const rows: Array<[supported: boolean, iss: string | null, accepted: boolean]> = [
    [true, ISSUER, true],
    [true, null, false], // advertised ⇒ required
    [true, "http://127.0.0.1:3002", false],
    [true, `${ISSUER}/`, false], // simple string comparison, no normalization
    [false, null, true],
    [false, ISSUER, true],
    [false, "https://attacker.example", false], // not advertised, but present: must still match
  ];
  for (const [issParameterSupported, iss, accepted] of rows) {
    const run = () => checkIssParameter(iss, { issuer: ISSUER, issParameterSupported });
    if (accepted) assert.doesNotThrow(run, `${issParameterSupported} ${iss}`);
    else assert.throws(run, AuthorizationResponseError, `${issParameterSupported} ${iss}`);
  }
});

test("the redirect is compared by parsing: scheme, host, port and path exactly", () => {
  const is = (location: string) => isRegisteredRedirect(new URL(location), REDIRECT);
  assert.equal(is(`${REDIRECT}?code=abc&state=xyz`), true);
  assert.equal(is("http://127.0.0.1:8976/callbackevil?code=abc"), false, "a prefix is not a match");
  assert.equal(is("http://127.0.0.1:8976/callback/evil?code=abc"), false);
  assert.equal(is("http://127.0.0.1:8977/callback?code=abc"), false, "another port");
  assert.equal(is("https://127.0.0.1:8976/callback?code=abc"), false, "another scheme");
  assert.equal(is("http://localhost:8976/callback?code=abc"), false, "another host");
  assert.equal(is("http://user@127.0.0.1:8976/callback?code=abc"), false, "userinfo");
  assert.equal(is("http://127.0.0.1:8976/callback#frag"), true, "a fragment is not part of the comparison");
});

/** What the AS answered to the headless GET /authorize, and what the client expects of it. */
interface AuthorizationResponse {
  status: number;
  location: string | null;
  bodyText?: string;
  redirectUri: string;
  expectedState: string;
  issuer: { issuer: string; issParameterSupported: boolean };
}

const base: AuthorizationResponse = {
  status: 302,
  location: `${REDIRECT}?code=the-code&state=s1&iss=${encodeURIComponent(ISSUER)}`,
  redirectUri: REDIRECT,
  expectedState: "s1",
  issuer: { issuer: ISSUER, issParameterSupported: true },
};

/** The headless user agent meets `response`, then C1's checks run on where it was sent: what the Authorizer does. */
async function readAuthorizationResponse(response: AuthorizationResponse): Promise<{ code: string }> {
  const headers = response.location === null ? undefined : { location: response.location };
  const userAgent = headlessUserAgent(async () => new Response(response.bodyText ?? null, { status: response.status, headers }));
  return checkAuthorizationRedirect(await userAgent(new URL(`${ISSUER}/authorize`)), response);
}

const refused = (overrides: Partial<AuthorizationResponse>, message: RegExp) =>
  assert.rejects(readAuthorizationResponse({ ...base, ...overrides }), (e: unknown) => {
    assert.ok(e instanceof AuthorizationResponseError);
    assert.match(e.message, message);
    return true;
  });

test("a valid authorization response yields its code", async () => {
  assert.deepEqual(await readAuthorizationResponse(base), { code: "the-code" });
});

test("anything but a 302 to the registered redirect, with our state and the right iss, is refused", async () => {
  await refused({ status: 200, bodyText: "<html>login</html>" }, /web page \(login or consent\), not a 302 redirect.*--browser/);
  await refused({ status: 303 }, /not a 302/);
  await refused({ location: null }, /without Location/);
  await refused({ location: "http://127.0.0.1:8976/callbackevil?code=c&state=s1" }, /not the registered redirect_uri/);
  await refused({ location: "/callback?code=c&state=s1" }, /not the registered redirect_uri/); // relative: the AS's origin
  await refused({ location: `${REDIRECT}?code=c&state=other&iss=${ISSUER}` }, /state/);
  await refused({ location: `${REDIRECT}?code=c&iss=${ISSUER}` }, /state/);
  await refused({ location: `${REDIRECT}?code=c&state=s1` }, /RFC 9207.*no iss/);
  await refused({ location: `${REDIRECT}?code=c&state=s1&iss=http://127.0.0.1:9999` }, /mix-up/);
  await refused({ location: `${REDIRECT}?code=a&code=b&state=s1&iss=${ISSUER}` }, /repeats code/);
  await refused({ location: `${REDIRECT}?state=s1&iss=${ISSUER}` }, /neither code nor error/);
});

test("an error response is reported with the AS's error code, after state and iss were checked", async () => {
  const location = `${REDIRECT}?error=access_denied&error_description=nothing+grantable&state=s1&iss=${ISSUER}`;
  const error = await readAuthorizationResponse({ ...base, location }).catch((e: unknown) => e);
  assert.ok(error instanceof AuthorizationResponseError);
  assert.equal(error.error, "access_denied");
  assert.equal(error.errorDescription, "nothing grantable");
  await refused({ location: `${REDIRECT}?error=access_denied&state=forged&iss=${ISSUER}` }, /state/);
});

test("RFC 6749 §4.1.2.1: a non-redirect JSON error (unknown client_id) carries the AS's error code", async () => {
  const caught = (overrides: Partial<AuthorizationResponse>) =>
    readAuthorizationResponse({ ...base, location: null, ...overrides }).then(() => assert.fail("refused"), (e: unknown) => e);
  const unknownClient = await caught({
    status: 400,
    bodyText: JSON.stringify({ error: "invalid_client", error_description: "unknown client_id; not redirecting" }),
  });
  assert.ok(unknownClient instanceof AuthorizationResponseError);
  assert.equal(unknownClient.error, "invalid_client", "what tells the client to register again");
  assert.equal(unknownClient.errorDescription, "unknown client_id; not redirecting");
  assert.match(unknownClient.message, /answered 400, not a 302 redirect/);

  // Anything that is not an OAuth JSON error leaves `error` unset: nothing to act on.
  for (const bodyText of [undefined, "<html>login</html>", "null", "[]", '{"error":42}', '"invalid_client"']) {
    const other = await caught({ status: 400, bodyText });
    assert.ok(other instanceof AuthorizationResponseError, String(bodyText));
    assert.equal(other.error, undefined, String(bodyText));
  }
});

test("C7: a 200 web page (login or consent) headless → a message that says to use --browser", async () => {
  await assert.rejects(
    readAuthorizationResponse({ ...base, status: 200, location: null, bodyText: "<!doctype html>\n<html><title>Authorize</title>" }),
    (e: unknown) => e instanceof AuthorizationResponseError && /a person must authorize — run again with --browser/.test(e.message) && e.error === undefined,
  );
  await assert.rejects(readAuthorizationResponse({ ...base, status: 200, location: null, bodyText: '{"ok":true}' }), /answered 200, not a 302 redirect/);
});
