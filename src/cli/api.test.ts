import { describe, expect, it } from 'vitest';
import { gatehouseUrl, networkFailure, optionProblem, UsageError } from '@gatehouse/cli';

describe('gatehouseUrl', () => {
  it('drops trailing slashes and a trailing /api/v1, keeping a path prefix', () => {
    expect(gatehouseUrl('https://g.example.com')).toBe('https://g.example.com');
    expect(gatehouseUrl('https://g.example.com/')).toBe('https://g.example.com');
    expect(gatehouseUrl('https://g.example.com/api/v1')).toBe('https://g.example.com');
    expect(gatehouseUrl(' https://g.example.com/api/v1/ ')).toBe('https://g.example.com');
    expect(gatehouseUrl('https://example.com/gatehouse/api/v1/')).toBe(
      'https://example.com/gatehouse',
    );
  });

  it('refuses a missing value, a non-address and other schemes as usage errors', () => {
    expect(() => gatehouseUrl(undefined)).toThrow(UsageError);
    expect(() => gatehouseUrl('')).toThrow('set GATEHOUSE_URL');
    expect(() => gatehouseUrl('gatehouse.example.com')).toThrow('is not an address');
    expect(() => gatehouseUrl('ftp://g.example.com')).toThrow('http:// or https://');
  });
});

describe('optionProblem', () => {
  it("names the option that lacks its value instead of parseArgs' advice about dashes", () => {
    const ambiguous = new Error(
      "Option '--issue' argument is ambiguous.\nDid you forget to specify the option argument for '--issue'?",
    );
    expect(optionProblem(ambiguous, { '--issue': 'the issue number' })).toBe(
      '--issue needs the issue number',
    );
    expect(optionProblem(new Error("Option '--build <value>' argument missing"))).toBe(
      '--build needs a value',
    );
    expect(optionProblem(new Error("Unknown option '--nope'"))).toBe("Unknown option '--nope'");
  });
});

describe('networkFailure', () => {
  const failed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });

  it("says what fetch's cause was, in words and by code", () => {
    expect(networkFailure(failed({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }))).toBe(
      'connection refused (ECONNREFUSED)',
    );
    expect(networkFailure(failed({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND x' }))).toBe(
      'no such host (ENOTFOUND)',
    );
    expect(
      networkFailure(failed({ message: 'all failed', errors: [{ code: 'ECONNREFUSED' }] })),
    ).toBe('connection refused (ECONNREFUSED)');
    expect(
      networkFailure(failed({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' })),
    ).toBe('certificate has expired (CERT_HAS_EXPIRED)');
    expect(networkFailure(new Error('boom'))).toBe('boom');
  });
});
