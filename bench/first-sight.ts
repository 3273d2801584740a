import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runXml, startHistoryServer, upload, type HistoryServer } from './history.ts';
import { median, root, round, tempDir } from './lib.ts';

const run = promisify(execFile);

/**
 * The last commit that stored every result as a row of `test_results` (before compact
 * results, issue 12): the design "first sight no slower than today" is measured against.
 */
export const ROW_PER_RESULT_COMMIT = '83c1830';

/**
 * The median of `ratios` and a 90% interval for it: 2,000 bootstrap resamples, drawn with a
 * fixed seed so that one run's figures can be computed again from its uploads.
 */
function medianWithInterval(ratios: number[]): {
  median: number;
  low: number;
  high: number;
} {
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians: number[] = [];
  for (let b = 0; b < 2000; b++)
    medians.push(median(ratios.map(() => ratios[Math.floor(random() * ratios.length)]!)));
  medians.sort((a, b) => a - b);
  return { median: median(ratios), low: medians[100]!, high: medians[1899]! };
}

/**
 * First sight of 10,000 new tests on this checkout against the row-per-result design, in the
 * same run: that commit's server is extracted from git (`git archive`, with this checkout's
 * node_modules) and both servers get the same small history, then the same uploads of tests
 * they have never seen, alternating between them so both see the same machine. One upload
 * on this machine scatters by ±30% and more (0.6 to 2.3 times the other server's upload of
 * the same file, measured over 45 rounds), so the figure is the median of the rounds'
 * paired ratios with a 90% interval, over 25 rounds; each upload starts after a pause of
 * 100 ms, so that neither server's background work runs into the other's upload. Null, with
 * the reason, when the commit is not in this clone (a shallow one).
 */
export async function firstSightAgainstRowPerResult(
  tests: number,
  rounds = 25,
): Promise<Record<string, unknown>> {
  const oldRoot = await tempDir('gatehouse-bench-row-per-result-');
  try {
    try {
      await run('sh', ['-c', `git archive ${ROW_PER_RESULT_COMMIT} | tar -x -C "${oldRoot}"`], {
        cwd: root,
      });
    } catch (err) {
      return {
        skipped: `${ROW_PER_RESULT_COMMIT} is not in this clone (${(err as Error).message.split('\n')[0]})`,
      };
    }
    // That commit's own dependencies when they differ from this checkout's (one it used has
    // since been replaced: @fastify/helmet), else this checkout's.
    const lock = (dir: string) => fs.readFile(path.join(dir, 'package-lock.json'), 'utf8');
    if ((await lock(oldRoot)) === (await lock(root)))
      await fs.symlink(path.join(root, 'node_modules'), path.join(oldRoot, 'node_modules'));
    else
      await run(
        'npm',
        [
          'ci',
          '--ignore-scripts',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
        ],
        { cwd: oldRoot },
      );
    const servers: { name: string; server: HistoryServer; dir: string }[] = [];
    try {
      for (const [name, serverRoot] of [
        ['this checkout', root],
        [ROW_PER_RESULT_COMMIT, oldRoot],
      ] as const) {
        const dir = await tempDir('gatehouse-bench-first-sight-');
        servers.push({ name, server: await startHistoryServer(dir, serverRoot), dir });
      }
      // A short history of the same tests, then uploads of tests never seen, in turn.
      for (let r = 0; r < 3; r++)
        for (const { server } of servers)
          await upload(server, `commit=c${r}&branch=main&build=b${r}`, runXml(r, tests));
      const seconds = new Map<string, number[]>(servers.map((s) => [s.name, []]));
      for (let i = 0; i < rounds; i++) {
        const xml = runXml(3, tests, `never seen ${i}`);
        for (const { name, server } of i % 2 === 0 ? servers : [...servers].reverse()) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const t0 = performance.now();
          await upload(server, `commit=f${i}&branch=main&build=f${i}`, xml);
          seconds.get(name)!.push((performance.now() - t0) / 1000);
        }
      }
      const mine = seconds.get('this checkout')!;
      const theirs = seconds.get(ROW_PER_RESULT_COMMIT)!;
      const ratios = mine.map((s, i) => s / theirs[i]!);
      const paired = medianWithInterval(ratios);
      const geometric = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
      return {
        rounds,
        [`this checkout: first sight, median (s)`]: round(median(mine)),
        [`${ROW_PER_RESULT_COMMIT} (row per result): first sight, median (s)`]: round(
          median(theirs),
        ),
        'this checkout / row per result, median of paired ratios (target <= 1)': round(
          paired.median,
          2,
        ),
        '90% interval of that median (bootstrap)': [round(paired.low, 2), round(paired.high, 2)],
        'geometric mean of paired ratios': round(geometric, 2),
        'ratio of the medians': round(median(mine) / median(theirs), 2),
        each: Object.fromEntries([...seconds].map(([name, xs]) => [name, xs.map((x) => round(x))])),
      };
    } finally {
      for (const { server, dir } of servers) {
        await server.stop();
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await fs.rm(oldRoot, { recursive: true, force: true });
  }
}
