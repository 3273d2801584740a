import { describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { newOrgSecret, newSecret, parseOrgSecret, sha256 } from './tokens.ts';

describe('org secrets', () => {
  it('carry their org id and at least 256 random bits', () => {
    const org = uuidv7();
    const a = newOrgSecret('gth', org);
    const b = newOrgSecret('gth', org);
    expect(a.token).toMatch(/^gth_[A-Za-z0-9_-]{64}$/);
    expect(a.token).not.toBe(b.token);
    // 48 bytes: 16 of org id + 32 random.
    expect(Buffer.from(a.token.slice(4), 'base64url')).toHaveLength(48);
    expect(parseOrgSecret('gth', a.token)).toEqual({ orgId: org, hash: sha256(a.token) });
  });

  it('refuses other prefixes, lengths and alphabets', () => {
    const { token } = newOrgSecret('gti', uuidv7());
    expect(parseOrgSecret('gth', token)).toBeNull();
    expect(parseOrgSecret('gti', token.slice(0, -1))).toBeNull();
    expect(parseOrgSecret('gti', `${token.slice(0, -1)}!`)).toBeNull();
    expect(parseOrgSecret('gti', '')).toBeNull();
  });

  it('makes plain secrets that hash to what they are stored as', () => {
    const s = newSecret('gtr');
    expect(s.token).toMatch(/^gtr_/);
    expect(s.hash.equals(sha256(s.token))).toBe(true);
  });
});
