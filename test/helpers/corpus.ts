import fs from 'node:fs';
import path from 'node:path';
import type { Counts } from '../../src/domain/junit.ts';

export const CORPUS = path.resolve(import.meta.dirname, '../../../shared/junit-corpus');

export interface CorpusEntry {
  file: string;
  valid: boolean;
  expected?: Counts;
}

export const manifest = JSON.parse(
  fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8'),
) as CorpusEntry[];

export function corpusFile(file: string): Buffer {
  return fs.readFileSync(path.join(CORPUS, 'files', file));
}
