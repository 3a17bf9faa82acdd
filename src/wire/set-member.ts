/**
 * Set members travel as a 52-bit hash carried in the record's f64 value, so a
 * set record is the same size as any other. FNV-1a (two 32-bit lanes) is
 * enough: backends count distinct hashes, and a collision needs ~2^26 members.
 */
export function hashSetMember(member: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < member.length; i++) {
    const c = member.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 15);
  }
  // 32 bits of h1 + 20 bits of h2 = an integer below 2^52, exact in a double.
  return (h1 >>> 0) + (h2 >>> 12) * 0x1_0000_0000;
}
