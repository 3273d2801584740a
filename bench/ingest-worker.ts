import { createReadStream, readFileSync, statSync } from 'node:fs';
import { SaxesParser } from 'saxes';
import { parse as junit2json } from 'junit2json';
import { createJUnitParser } from '../src/modules/runs/junit-parser.ts';

/** One parser over one file in a process of its own, so its peak RSS is its own. */
const [mode, file] = process.argv.slice(2) as [string, string];
const started = performance.now();
let cases = 0;

if (mode === 'saxes') {
  const parser = new SaxesParser({ xmlns: false, position: true });
  parser.on('opentag', (node) => {
    if (node.name === 'testcase') cases++;
  });
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 }))
    parser.write(chunk as string);
  parser.close();
} else if (mode === 'gatehouse-parser') {
  const parser = createJUnitParser(file, () => cases++);
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 }))
    parser.write(chunk as string);
  parser.close();
} else if (mode === 'junit2json') {
  const result = (await junit2json(readFileSync(file, 'utf8'))) as {
    testsuite?: { testcase?: unknown[] }[];
  } | null;
  for (const suite of result?.testsuite ?? []) cases += suite.testcase?.length ?? 0;
} else {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = (performance.now() - started) / 1000;
const peakRssMb =
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
process.stdout.write(
  JSON.stringify({ mode, cases, seconds, bytes: statSync(file).size, peakRssMb }) + '\n',
);
