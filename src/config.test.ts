import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has working defaults for the embedded database', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      secret: undefined,
      demo: true,
    });
    expect(c.dataDir).toMatch(/\.gatehouse$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('bounds password hashing and sets the refresh reuse grace from the environment', () => {
    const c = loadConfig({
      GATEHOUSE_PASSWORD_HASH_CONCURRENCY: '3',
      GATEHOUSE_REFRESH_REUSE_GRACE_SECONDS: '0',
    });
    expect(c.auth).toMatchObject({
      hashConcurrency: 3,
      hashQueue: 24,
      refreshReuseGraceSeconds: 0,
    });
    expect(loadConfig({}).auth.refreshReuseGraceSeconds).toBe(5);
    expect(() => loadConfig({ GATEHOUSE_PASSWORD_HASH_CONCURRENCY: '0' })).toThrow(
      /GATEHOUSE_PASSWORD_HASH_CONCURRENCY/,
    );
  });

  it('caps uploads worked on at once below the pool, with a bounded line behind them', () => {
    const c = loadConfig({ DATABASE_POOL_MAX: '6', GATEHOUSE_UPLOAD_CONCURRENCY: '2' });
    expect(c.uploads).toMatchObject({ concurrency: 2, queue: 32 });
    expect(loadConfig({ GATEHOUSE_UPLOAD_QUEUE: '0' }).uploads.queue).toBe(0);
    expect(loadConfig({ DATABASE_POOL_MAX: '4' }).uploads.concurrency).toBeLessThanOrEqual(2);
    expect(() => loadConfig({ DATABASE_POOL_MAX: '4', GATEHOUSE_UPLOAD_CONCURRENCY: '4' })).toThrow(
      /GATEHOUSE_UPLOAD_CONCURRENCY must be less than DATABASE_POOL_MAX/,
    );
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        DATABASE_POOL_MAX: '0',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const name of [
        'PORT',
        'DATABASE_URL',
        'GATEHOUSE_SECRET',
        'LOG_LEVEL',
        'DATABASE_POOL_MAX',
      ]) {
        expect(problems).toContain(name);
      }
    }
  });

  it('requires a long enough secret with an external database', () => {
    expect(() =>
      loadConfig({ DATABASE_URL: 'postgres://h/db', GATEHOUSE_SECRET: 'short' }),
    ).toThrow(/at least 32/);
    expect(
      loadConfig({ DATABASE_URL: 'postgres://h/db', GATEHOUSE_SECRET: 's'.repeat(32) }).databaseUrl,
    ).toBe('postgres://h/db');
  });
});
