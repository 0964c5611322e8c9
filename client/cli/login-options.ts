/**
 * The login flags of `pnpm client --call` (C7), parsed and turned into what `connectClient` needs:
 *
 *   --browser [--no-open]                  a person authorizes in a browser (browser-login.ts)
 *   --client-id ID [--issuer URL] [--client-secret SECRET]
 *                                          a client registered with the AS beforehand, no DCR (pre-registered.ts)
 *
 * Without them the client stays headless and registers itself with DCR (C1, C2).
 *
 * A client secret belongs to the authorization server that issued it, so `--client-secret` needs
 * `--issuer`: discovery then refuses a resource whose metadata names any other AS, before a request
 * goes there (RFC 9700 §4.4: mix-up — credentials for one AS must never reach another).
 */
import type { ClientConfig } from "../../shared/config.ts";
import { BrowserLogin } from "./browser-login.ts";
import type { PreRegisteredClient } from "./pre-registered.ts";

/** The most times one MCP request can send the person to the browser: a 401 recovery + 2 step-ups (C4.5's cap). */
const USER_WAITS_PER_REQUEST = 3;

/** `parseArgs` option descriptors. */
export const LOGIN_OPTIONS = {
  browser: { type: "boolean" },
  "no-open": { type: "boolean" },
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  issuer: { type: "string" },
} as const;

export const LOGIN_USAGE = "[--browser [--no-open]] [--client-id ID [--issuer URL] [--client-secret SECRET]]";

export interface LoginValues {
  browser?: boolean;
  "no-open"?: boolean;
  "client-id"?: string;
  "client-secret"?: string;
  issuer?: string;
}

/** A usage problem with the login flags, or undefined. `call`: whether `--call` was given. */
export function loginUsageProblem(values: LoginValues, call: boolean): string | undefined {
  const given = Object.keys(LOGIN_OPTIONS).filter((name) => values[name as keyof LoginValues] !== undefined);
  if (!call && given.length > 0) return `${given.map((n) => `--${n}`).join(", ")} need --call (the story runs headless against the demo's own AS)`;
  if (values["no-open"] && !values.browser) return "--no-open needs --browser";
  if (values["client-secret"] !== undefined && values["client-id"] === undefined) return "--client-secret needs --client-id";
  if (values.issuer !== undefined && values["client-id"] === undefined) return "--issuer needs --client-id (it names the AS that client is registered with)";
  if (values["client-id"] === "") return "--client-id must not be empty";
  if (values["client-secret"] === "") return "--client-secret must not be empty";
  if (values["client-secret"] !== undefined && values.issuer === undefined) {
    return "--client-secret needs --issuer URL, the authorization server that issued it: the secret is sent there and nowhere else";
  }
  if (values.issuer !== undefined && !isHttpUrl(values.issuer)) return `--issuer must be an http(s) URL (the AS's issuer identifier, RFC 8414 §2), got: ${values.issuer}`;
  return undefined;
}

const isHttpUrl = (value: string) => URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol);

export interface Login {
  browser?: BrowserLogin;
  preRegistered?: PreRegisteredClient;
  /** The deadline of one MCP request; with a browser it includes the person's waits (each bounded too). */
  requestTimeoutMs: number;
  close(): Promise<void>;
}

/** Start what the flags ask for (the loopback listener of `--browser`). */
export async function startLogin(values: LoginValues, settings: ClientConfig, write: (line: string) => void): Promise<Login> {
  const preRegistered = values["client-id"] === undefined
    ? undefined
    : {
        client_id: values["client-id"],
        ...(values["client-secret"] !== undefined ? { client_secret: values["client-secret"] } : {}),
        ...(values.issuer !== undefined ? { issuer: values.issuer } : {}),
      };
  if (!values.browser) return { preRegistered, requestTimeoutMs: settings.clientTimeoutMs, close: async () => {} };
  const browser = await BrowserLogin.start({ open: !values["no-open"], timeoutMs: settings.browserTimeoutMs, write });
  return {
    browser,
    preRegistered,
    requestTimeoutMs: settings.clientTimeoutMs + USER_WAITS_PER_REQUEST * settings.browserTimeoutMs,
    close: () => browser.close(),
  };
}
