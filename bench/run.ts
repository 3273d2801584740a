import { authRead } from './auth-read.ts';
import { history } from './history.ts';
import { ingest } from './ingest.ts';
import { load } from './load.ts';
import { triageBench } from './triage.ts';
import { webBench } from './web.ts';

/** `npm run bench [name...]`: runs the benchmarks and prints each one's figures and ratio. */
const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  'auth-read': authRead,
  history,
  ingest,
  load,
  triage: triageBench,
  web: webBench,
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const result = await run();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
process.exit(0);
