/** Generates JUnit XML: `count` testcases, every `failEvery`-th failing with a message and stack. */
export function* junitChunks(
  count: number,
  opts: { failEvery?: number; suite?: string; perChunk?: number } = {},
): Generator<string> {
  const failEvery = opts.failEvery ?? 10;
  const perChunk = opts.perChunk ?? 500;
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="${opts.suite ?? 'generated'}" tests="${count}">\n`;
  let buf = '';
  for (let i = 0; i < count; i++) {
    if (i % failEvery === failEvery - 1) {
      buf += `<testcase classname="com.example.Service${i % 97}Test" name="case_${i}" time="0.${i % 1000}"><failure type="java.lang.AssertionError" message="expected &lt;${i}&gt; but was &lt;${i + 1}&gt;">java.lang.AssertionError: expected ${i}\n\tat com.example.Service${i % 97}Test.case_${i}(Service${i % 97}Test.java:${i % 400})\n\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)</failure><system-out>log line for case ${i}</system-out></testcase>\n`;
    } else {
      buf += `<testcase classname="com.example.Service${i % 97}Test" name="case_${i}" time="0.${i % 1000}"/>\n`;
    }
    if ((i + 1) % perChunk === 0) {
      yield buf;
      buf = '';
    }
  }
  yield `${buf}</testsuite></testsuites>\n`;
}

export function junitXml(count: number, opts: { failEvery?: number; suite?: string } = {}): string {
  return [...junitChunks(count, opts)].join('');
}

export interface CaseSpec {
  classname?: string;
  name: string;
  failure?: { type?: string; message: string };
  flaky?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A JUnit document with exactly these testcases. */
export function suiteXml(cases: CaseSpec[], suite = 'suite'): string {
  const body = cases
    .map((c) => {
      const open = `<testcase classname="${esc(c.classname ?? 'app.OrgTest')}" name="${esc(c.name)}" time="0.01"`;
      if (c.failure !== undefined) {
        return `${open}><failure type="${esc(c.failure.type ?? 'AssertionError')}" message="${esc(c.failure.message)}">${esc(c.failure.message)}\n  at app.OrgTest</failure></testcase>`;
      }
      if (c.flaky === true)
        return `${open}><flakyFailure type="Timeout" message="timed out once"/></testcase>`;
      return `${open}/>`;
    })
    .join('\n');
  return `<testsuites><testsuite name="${esc(suite)}">\n${body}\n</testsuite></testsuites>`;
}

/** `total` passing testcases named t1..tN, with the given ones replaced by failures. */
export function casesWith(total: number, failures: Record<number, string>): CaseSpec[] {
  return Array.from({ length: total }, (_, i) => {
    const message = failures[i + 1];
    return message === undefined
      ? { name: `t${i + 1}` }
      : { name: `t${i + 1}`, failure: { message } };
  });
}

/** A multipart/form-data body of JUnit files (`close: false` leaves out the closing boundary). */
export function multipart(
  boundary: string,
  parts: { filename: string; type: string; body: Buffer | string }[],
  close = true,
): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${p.filename}"\r\nContent-Type: ${p.type}\r\n\r\n`,
      ),
      Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body),
      Buffer.from('\r\n'),
    );
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
