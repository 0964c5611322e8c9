/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1), written out rather than borrowed: the v1 SDK's
 * `extractWWWAuthenticateParams` is a substring regex, so an `error_description` that mentions
 * `scope=` steers it and `scope=""` comes back as the two characters `""`.
 *
 *   WWW-Authenticate = #challenge
 *   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param       = token BWS "=" BWS ( token / quoted-string )
 *   token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * Commas separate both challenges and the parameters inside one, so the parser looks ahead: after a
 * comma, `name=` continues the current challenge, anything else starts the next one. It never throws;
 * what it cannot read it skips up to the next comma. One leniency: an unquoted value runs to the next
 * space, comma or quote, so the common (strictly invalid) `scope=mail:read` reads as `mail:read`.
 */

export interface Challenge {
  /** The auth-scheme, lower-cased (RFC 9110 §11.1: schemes are case-insensitive). */
  scheme: string;
  /** The token68 form (`Negotiate abc==`), when the challenge carries one instead of parameters. */
  token68?: string;
  /**
   * Parameters by lower-cased name (RFC 9110 §11.2); a repeated name keeps its first value. Any token
   * is a valid name, `constructor` and `__proto__` included: they are own properties here (read them
   * with `Object.hasOwn`), never the inherited members of the same name.
   */
  params: Record<string, string>;
}

/** The RFC 6750 §3 / RFC 9728 §5.1 parameters of a `Bearer` challenge. */
export interface BearerChallenge {
  error?: string;
  errorDescription?: string;
  /** Space-delimited scope string (RFC 6750 §3); `""` when the server sent `scope=""`. */
  scope?: string;
  /** RFC 9728 §5.1: where the protected resource's metadata lives. */
  resourceMetadata?: string;
  realm?: string;
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/; // RFC 9110 §5.6.2
const TOKEN68_CHAR = /^[A-Za-z0-9\-._~+/]$/;
const BARE_VALUE_CHAR = /^[^\s,"=]$/; // a token, leniently extended (see above)

const isSpace = (c: string | undefined) => c === " " || c === "\t";

/**
 * Record a parameter unless the name was already seen. `Object.hasOwn`, not `in` (which sees
 * `Object.prototype`'s members and so would drop a parameter named `constructor`), and a defined
 * property, not an assignment (`params["__proto__"] = v` would try to set the prototype instead).
 */
function setFirst(params: Record<string, string>, name: string, value: string): void {
  if (Object.hasOwn(params, name)) return;
  Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
}

export function parseWWWAuthenticate(header: string | null | undefined): Challenge[] {
  if (typeof header !== "string") return [];
  return new Parser(header).challenges();
}

/** The first `Bearer` challenge of a header, or undefined when there is none. */
export function findBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  const bearer = parseWWWAuthenticate(header).find((c) => c.scheme === "bearer");
  if (!bearer) return undefined;
  const p = bearer.params;
  return {
    error: p.error,
    errorDescription: p.error_description,
    scope: p.scope,
    resourceMetadata: p.resource_metadata,
    realm: p.realm,
  };
}

class Parser {
  private i = 0;
  private readonly s: string;
  constructor(header: string) {
    this.s = header;
  }

  challenges(): Challenge[] {
    const out: Challenge[] = [];
    for (;;) {
      this.skip((c) => isSpace(c) || c === ",");
      if (this.i >= this.s.length) return out;
      const scheme = this.token();
      if (!scheme) {
        this.skipToComma(); // not a token: unreadable, drop it
        continue;
      }
      const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
      out.push(challenge);
      const afterScheme = this.i;
      this.skip(isSpace);
      // No SP after the scheme: the end, a comma, or junk glued to it (which the next round skips).
      if (this.i === afterScheme) continue;
      if (this.paramAt(this.i)) this.params(challenge);
      else this.token68(challenge);
    }
  }

  /** `#auth-param`, stopping where the next challenge begins. */
  private params(challenge: Challenge): void {
    for (;;) {
      const name = this.token().toLowerCase();
      this.skip(isSpace);
      this.i++; // "=" (paramAt checked it is there)
      this.skip(isSpace);
      const value = this.s[this.i] === '"' ? this.quoted() : this.bareValue();
      setFirst(challenge.params, name, value);
      this.skipToComma(); // spaces, and any junk after the value
      let j = this.i;
      while (j < this.s.length && (isSpace(this.s[j]) || this.s[j] === ",")) j++;
      if (j >= this.s.length || !this.paramAt(j)) return;
      this.i = j;
    }
  }

  /** RFC 9110 §11.2: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` — padding alone is not one. */
  private token68(challenge: Challenge): void {
    const start = this.i;
    while (this.i < this.s.length && TOKEN68_CHAR.test(this.s[this.i]!)) this.i++;
    const hasCharacters = this.i > start;
    while (this.s[this.i] === "=") this.i++;
    const value = this.s.slice(start, this.i);
    this.skip(isSpace);
    if (hasCharacters && (this.i >= this.s.length || this.s[this.i] === ",")) {
      challenge.token68 = value;
      return;
    }
    // Neither token68 nor parameters (`Bearer Basic realm=…`): read on as the next challenge.
    this.i = start;
  }

  /** Does an auth-param (`token BWS "=" BWS (token / quoted-string)`) start at `j`? */
  private paramAt(j: number): boolean {
    const s = this.s;
    let k = j;
    while (k < s.length && TCHAR.test(s[k]!)) k++;
    if (k === j) return false;
    while (isSpace(s[k])) k++;
    if (s[k] !== "=") return false;
    k++;
    while (isSpace(s[k])) k++;
    // `abc==` or `abc=` followed by a comma is a token68, not a parameter.
    return k < s.length && (s[k] === '"' || BARE_VALUE_CHAR.test(s[k]!));
  }

  private bareValue(): string {
    const start = this.i;
    while (this.i < this.s.length && (BARE_VALUE_CHAR.test(this.s[this.i]!) || this.s[this.i] === "=")) this.i++;
    return this.s.slice(start, this.i);
  }

  private token(): string {
    const start = this.i;
    while (this.i < this.s.length && TCHAR.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  /** RFC 9110 §5.6.4 quoted-string; `\x` stands for `x`. An unterminated string runs to the end. */
  private quoted(): string {
    let value = "";
    this.i++; // opening quote
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === "\\" && this.i + 1 < this.s.length) {
        value += this.s[this.i + 1];
        this.i += 2;
      } else if (c === '"') {
        this.i++;
        return value;
      } else {
        value += c;
        this.i++;
      }
    }
    return value;
  }

  private skip(test: (c: string | undefined) => boolean): void {
    while (this.i < this.s.length && test(this.s[this.i])) this.i++;
  }

  /** Error recovery: move to the next comma outside a quoted string. */
  private skipToComma(): void {
    while (this.i < this.s.length && this.s[this.i] !== ",") {
      if (this.s[this.i] === '"') this.quoted();
      else this.i++;
    }
  }
}
