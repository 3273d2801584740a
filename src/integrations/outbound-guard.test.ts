import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  assertOutboundUrl,
  assertPublicDestination,
  guardedLookup,
  isLocalName,
  isPrivateAddress,
  outboundUrlProblem,
  type Resolver,
} from './outbound-guard.ts';

const strict = { allowPrivate: false };
const open = { allowPrivate: true };

/** A resolver that answers every name with the given addresses (no network). */
function answering(...addresses: string[]): Resolver {
  return (_host, _opts, cb) =>
    cb(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
}

describe('non-public addresses', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '::1',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.20',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::1',
    '[::1]',
    'not-an-address',
  ])('counts %s as not public', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '192.169.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ])('counts %s as public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it('knows the names that always mean this machine', () => {
    for (const name of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'ip6-localhost'])
      expect(isLocalName(name), name).toBe(true);
    expect(isLocalName('localhost.example.com')).toBe(false);
  });
});

describe('checking a URL when it is saved', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://10.1.2.3/hook',
    'https://192.168.0.10/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[fc00::1]/hook',
    'http://localhost:3000/hook',
    'http://LocalHost./hook',
    'http://svc.localhost/hook',
    // Other spellings of 127.0.0.1 that URL parsing turns into the dotted form.
    'http://2130706433/hook',
    'http://0x7f.0.0.1/hook',
    'http://127.1/hook',
    'http://[::ffff:127.0.0.1]/hook',
  ])('refuses %s', (url) => {
    expect(outboundUrlProblem(url, strict)).toMatch(/must not point at/);
  });

  it('allows them all with GATEHOUSE_OUTBOUND_ALLOW_PRIVATE=1', () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://[::1]/', 'http://localhost/'])
      expect(outboundUrlProblem(url, open), url).toBeNull();
  });

  it('allows public addresses and names (their DNS is checked when called)', () => {
    for (const url of ['https://hooks.slack.com/services/T/B/x', 'http://93.184.216.34/'])
      expect(outboundUrlProblem(url, strict), url).toBeNull();
  });

  it('refuses what is not an http(s) URL, and credentials in it, with or without the flag', () => {
    for (const policy of [strict, open]) {
      expect(outboundUrlProblem('ftp://example.com/', policy)).toMatch(/http\(s\) URL/);
      expect(outboundUrlProblem('file:///etc/passwd', policy)).toMatch(/http\(s\) URL/);
      expect(outboundUrlProblem('not a url', policy)).toMatch(/http\(s\) URL/);
      expect(outboundUrlProblem('https://u:p@example.com/', policy)).toMatch(/user name/);
    }
  });

  it('answers a 400 naming the field', () => {
    expect(() => assertOutboundUrl('http://127.0.0.1/', strict, 'body/apiUrl')).toThrow(
      expect.objectContaining({
        status: 400,
        message: expect.stringMatching(/^body\/apiUrl must not point at/),
        extra: { errors: [{ path: 'body/apiUrl', message: expect.any(String) }] },
      }),
    );
    expect(assertOutboundUrl('https://example.com/x', strict, 'body/url').hostname).toBe(
      'example.com',
    );
  });
});

describe('checking the addresses a name resolves to when it is called', () => {
  const lookupAll = (policy: typeof strict, resolve?: Resolver, host = 'hooks.example.com') =>
    new Promise<LookupAddress[]>((done, fail) =>
      guardedLookup(policy, resolve)(host, { all: true }, (err, addresses) =>
        err === null ? done(addresses as LookupAddress[]) : fail(err),
      ),
    );

  it('refuses a public-looking name that resolves (or rebinds) to 127.0.0.1', async () => {
    await expect(lookupAll(strict, answering('127.0.0.1'))).rejects.toThrow(
      /refused: hooks\.example\.com resolves to a loopback or private address \(127\.0\.0\.1\)/,
    );
  });

  it('refuses a name when any one of its addresses is private', async () => {
    await expect(lookupAll(strict, answering('93.184.216.34', '10.0.0.5'))).rejects.toThrow(
      /10\.0\.0\.5/,
    );
    await expect(lookupAll(strict, answering('fd00::1'))).rejects.toThrow(/fd00::1/);
  });

  it('passes public addresses through, in the shape net.connect asks for', async () => {
    expect(await lookupAll(strict, answering('93.184.216.34'))).toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
    const single = await new Promise<[string, number | undefined]>((done, fail) =>
      guardedLookup(strict, answering('93.184.216.34'))('x.example', {}, (err, a, f) =>
        err === null ? done([a as string, f]) : fail(err),
      ),
    );
    expect(single).toEqual(['93.184.216.34', 4]);
  });

  it('resolves localhost with the real resolver and refuses it', async () => {
    await expect(lookupAll(strict, undefined, 'localhost')).rejects.toThrow(
      /refused: localhost resolves to/,
    );
  });

  it('lets private answers through with the flag', async () => {
    expect(await lookupAll(open, answering('127.0.0.1'))).toHaveLength(1);
  });

  it('checks a whole URL before a client that cannot take a lookup calls it', async () => {
    await expect(
      assertPublicDestination('https://ghe.example.com/api/v3', strict, answering('10.0.0.1')),
    ).rejects.toThrow(/refused: ghe\.example\.com resolves/);
    await expect(
      assertPublicDestination('http://127.0.0.1/api/v3', strict, answering('8.8.8.8')),
    ).rejects.toThrow(/refused: the URL must not point at/);
    await expect(
      assertPublicDestination('https://ghe.example.com/api/v3', strict, answering('8.8.8.8')),
    ).resolves.toBeUndefined();
    await expect(
      assertPublicDestination('http://127.0.0.1/api/v3', open, answering('127.0.0.1')),
    ).resolves.toBeUndefined();
  });
});
