/** Query parameter names that carry credentials (`?token=…`, `api_key`, `X-Amz-Signature` …). */
const SECRET_PARAM = /(?:token|key|secret|passw(?:or)?d|pwd|auth|signature|sig|credential)/i;
const QUERY_PARAM = /([?&;]([^=&\s"'#;]*)=)([^&\s"'#;]*)/g;

/**
 * Removes credentials from text that may reach a log or `status().lastError`.
 * Each secret is replaced, as are the forms a server or library may echo it
 * in (URL-encoded, JSON-escaped, Basic-auth base64), URL userinfo, and the
 * value of any URL query parameter whose name suggests a credential, because
 * HTTP libraries echo URLs and headers in their error messages.
 */
export class Redactor {
  private readonly needles: string[];

  constructor(secrets: readonly (string | undefined)[], basicAuthPairs: readonly (readonly [string, string])[] = []) {
    const needles = new Set<string>();
    const add = (s: string | undefined): void => {
      if (!s || s.length < 3) return;
      needles.add(s);
      needles.add(encodeURIComponent(s));
      const json = JSON.stringify(s).slice(1, -1);
      needles.add(json);
      needles.add(json.replace(/\//g, '\\/'));
    };
    for (const s of secrets) add(s);
    for (const [user, pass] of basicAuthPairs) {
      if (user || pass) needles.add(Buffer.from(`${user}:${pass}`).toString('base64'));
      add(pass);
    }
    // Longest first so a secret containing another is replaced whole.
    this.needles = [...needles].sort((a, b) => b.length - a.length);
  }

  /** The values of a URL's credential-like query parameters, to pass as secrets. */
  static urlSecrets(url: string): string[] {
    try {
      return [...new URL(url).searchParams].filter(([k]) => SECRET_PARAM.test(k)).map(([, v]) => v);
    } catch {
      return [];
    }
  }

  redact(text: string): string {
    let out = text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
    out = out.replace(QUERY_PARAM, (whole, prefix: string, name: string, value: string) => (value !== '' && SECRET_PARAM.test(name) ? `${prefix}***` : whole));
    for (const n of this.needles) out = out.split(n).join('***');
    return out;
  }
}
