import { describe, expect, it } from 'vitest';
import { createSecretBox } from './secret-box.ts';

describe('the secret box', () => {
  const box = createSecretBox('a'.repeat(40));

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.seal('private key material');
    expect(sealed).not.toContain('private');
    expect(box.open(sealed)).toBe('private key material');
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses a tampered ciphertext or another secret', () => {
    const sealed = box.seal('x'.repeat(50));
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow(/GATEHOUSE_SECRET/);
    expect(() => createSecretBox('b'.repeat(40)).open(sealed)).toThrow(/GATEHOUSE_SECRET/);
  });
});
