import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/** Whether an `X-Hub-Signature-256` header has the shape GitHub sends (`sha256=<64 hex>`). */
export function isSignatureHeader(header: string | undefined): header is string {
  return header !== undefined && SIGNATURE.test(header);
}

/** GitHub's signature of a webhook body: `sha256=` + HMAC-SHA256(secret, raw body), in hex. */
export function signWebhook(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Verifies `X-Hub-Signature-256` against the raw body in constant time (the comparison does
 * not stop at the first differing byte, so timing tells nothing about the expected value).
 */
export function verifyWebhookSignature(secret: string, body: Buffer, header: string): boolean {
  const given = SIGNATURE.exec(header)?.[1];
  if (given === undefined) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}
