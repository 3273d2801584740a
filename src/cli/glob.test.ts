import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandBraces, glob } from '@gatehouse/cli';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-glob-'));
  for (const file of [
    'a.xml',
    'b.xml',
    'notes.txt',
    '.hidden.xml',
    'build/test-results/unit/TEST-one.xml',
    'build/test-results/it/TEST-two.xml',
    'build/test-results/it/deep/TEST-three.xml',
    'build/.cache/TEST-cached.xml',
    'shard-1/r.xml',
    'shard-2/r.xml',
    'shard-3/r.xml',
  ]) {
    await fs.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), '<testsuite/>');
  }
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

const sorted = async (patterns: string[]) => (await glob(patterns, dir)).sort();

describe('glob (the uploader has no dependencies)', () => {
  it('matches * and ? within a name, leaving dot files out', async () => {
    expect(await sorted(['*.xml'])).toEqual(['a.xml', 'b.xml']);
    expect(await sorted(['?.xml', 'notes.*'])).toEqual(['a.xml', 'b.xml', 'notes.txt']);
    expect(await sorted(['.*.xml'])).toEqual(['.hidden.xml']);
  });

  it('walks ** through any depth, skipping dot folders, and a trailing ** takes every file', async () => {
    expect(await sorted(['build/**/TEST-*.xml'])).toEqual([
      'build/test-results/it/TEST-two.xml',
      'build/test-results/it/deep/TEST-three.xml',
      'build/test-results/unit/TEST-one.xml',
    ]);
    expect(await sorted(['build/test-results/it/**'])).toEqual([
      'build/test-results/it/TEST-two.xml',
      'build/test-results/it/deep/TEST-three.xml',
    ]);
  });

  it('takes classes, braces, plain paths and absolute patterns, each file once', async () => {
    expect(await sorted(['shard-[12]/r.xml'])).toEqual(['shard-1/r.xml', 'shard-2/r.xml']);
    expect(await sorted(['shard-[!12]/r.xml'])).toEqual(['shard-3/r.xml']);
    expect(await sorted(['{a,b}.xml', 'a.xml', 'notes.txt'])).toEqual([
      'a.xml',
      'b.xml',
      'notes.txt',
    ]);
    expect(await glob([path.join(dir, 'shard-*', '*.xml')])).toHaveLength(3);
    expect(await sorted(['missing/*.xml', 'nope.xml', 'build'])).toEqual([]);
  });

  it('expands nested braces and leaves a brace without a comma alone', () => {
    expect(expandBraces('r/{unit,it/{a,b}}.xml')).toEqual([
      'r/unit.xml',
      'r/it/a.xml',
      'r/it/b.xml',
    ]);
    expect(expandBraces('a{b}c')).toEqual(['a{b}c']);
  });
});
