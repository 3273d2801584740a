import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runXml, startHistoryServer, upload, type HistoryServer } from './history.ts';
import { median, root, tempDir } from './lib.ts';

const run = promisify(execFile);

/**
 * The last commit that stored every result as a row of `test_results` (before compact
 * results, issue 12): the design "first sight no slower than today" is measured against.
 */
export const ROW_PER_RESULT_COMMIT = '83c1830';

/**
 * First sight of 10,000 new tests on this checkout against the row-per-result design, in the
 * same run: that commit's server is extracted from git (`git archive`, with this checkout's
 * node_modules) and both servers get the same small history, then the same uploads of tests
 * they have never seen, alternating between them so both see the same machine. Null, with
 * the reason, when the commit is not in this clone (a shallow one).
 */
export async function firstSightAgainstRowPerResult(
  tests: number,
  rounds = 9,
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
          const t0 = performance.now();
          await upload(server, `commit=f${i}&branch=main&build=f${i}`, xml);
          seconds.get(name)!.push((performance.now() - t0) / 1000);
        }
      }
      const mine = median(seconds.get('this checkout')!);
      const theirs = median(seconds.get(ROW_PER_RESULT_COMMIT)!);
      return {
        rounds,
        [`this checkout: first sight, median (s)`]: Number(mine.toFixed(3)),
        [`${ROW_PER_RESULT_COMMIT} (row per result): first sight, median (s)`]: Number(
          theirs.toFixed(3),
        ),
        'this checkout / row per result (target <= 1)': Number((mine / theirs).toFixed(2)),
        each: Object.fromEntries(
          [...seconds].map(([name, xs]) => [name, xs.map((x) => Number(x.toFixed(3)))]),
        ),
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
