/**
 * Removes credentials from text that may reach a log or `status().lastError`.
 * Each secret is replaced, as is its Basic-auth base64 form and any URL userinfo,
 * because HTTP libraries echo URLs and headers in their error messages.
 */
export class Redactor {
  private readonly needles: string[];

  constructor(secrets: readonly (string | undefined)[], basicAuthPairs: readonly (readonly [string, string])[] = []) {
    const needles = new Set<string>();
    for (const s of secrets) if (s && s.length >= 3) needles.add(s);
    for (const [user, pass] of basicAuthPairs) {
      if (user || pass) needles.add(Buffer.from(`${user}:${pass}`).toString('base64'));
      if (pass && pass.length >= 3) needles.add(encodeURIComponent(pass));
    }
    // Longest first so a secret containing another is replaced whole.
    this.needles = [...needles].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
    for (const n of this.needles) out = out.split(n).join('***');
    return out;
  }
}
