import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Writes a JUnit file of `count` testcases: 10% failing with a message and stack text,
 * 5% with system-out, across 50 suites of realistic Java-ish names.
 */
export async function writeJUnitFile(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n');
  const suites = 50;
  const perSuite = Math.ceil(count / suites);
  let n = 0;
  for (let s = 0; s < suites && n < count; s++) {
    await write(
      `<testsuite name="com.example.module${s}.ServiceTest" timestamp="2026-11-26T10:00:00" hostname="ci">\n`,
    );
    let buf = '';
    for (let i = 0; i < perSuite && n < count; i++, n++) {
      const cls = `com.example.module${s}.Service${i % 40}Test`;
      const time = ((n * 7919) % 5000) / 1000;
      if (n % 10 === 3) {
        buf +=
          `<testcase classname="${cls}" name="handles request ${n}" time="${time}">` +
          `<failure type="org.opentest4j.AssertionFailedError" message="expected: &lt;200&gt; but was: &lt;503&gt; for tenant ${n % 997}">` +
          `org.opentest4j.AssertionFailedError: expected: &lt;200&gt; but was: &lt;503&gt;\n` +
          `\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)\n` +
          `\tat ${cls}.handlesRequest(Service${i % 40}Test.java:${100 + (n % 300)})\n` +
          `\tat java.base/java.lang.reflect.Method.invoke(Method.java:568)\n</failure></testcase>\n`;
      } else if (n % 20 === 7) {
        buf += `<testcase classname="${cls}" name="handles request ${n}" time="${time}"><system-out>GET /api/v1/items/${n} 200 in ${n % 97}ms</system-out></testcase>\n`;
      } else {
        buf += `<testcase classname="${cls}" name="handles request ${n}" time="${time}"/>\n`;
      }
      if (buf.length > 64 * 1024) {
        await write(buf);
        buf = '';
      }
    }
    await write(buf + '</testsuite>\n');
  }
  await write('</testsuites>\n');
  out.end();
  await once(out, 'finish');
}
