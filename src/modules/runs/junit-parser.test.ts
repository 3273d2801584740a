import { describe, expect, it } from 'vitest';
import type { TestCase } from '../../domain/junit.ts';
import { corpusFile, manifest } from '../../../test/helpers/corpus.ts';
import { createJUnitParser, JUnitError } from './junit-parser.ts';

function parse(xml: string, chunk = 7) {
  const cases: TestCase[] = [];
  const p = createJUnitParser('t.xml', (c) => cases.push(c));
  for (let i = 0; i < xml.length; i += chunk) p.write(xml.slice(i, i + chunk));
  return { totals: p.close(), cases };
}

describe('the JUnit parser over the corpus', () => {
  it.each(manifest.filter((e) => e.valid))('counts $file as its tools do', (entry) => {
    const xml = corpusFile(entry.file).toString('utf8');
    const { totals } = parse(xml, 4096);
    const { durationMs: _d, ...counts } = totals;
    expect(counts).toEqual(entry.expected);
  });

  it.each(manifest.filter((e) => !e.valid))('rejects $file with a located error', (entry) => {
    const xml = corpusFile(entry.file).toString('utf8');
    expect(() => parse(xml, 4096)).toThrow(JUnitError);
  });
});

describe('the JUnit parser', () => {
  it("gives a testcase its own reruns and properties, never another testcase's", () => {
    const { cases } = parse(`<testsuite>
        <testcase name="a"/>
        <testcase name="b"><properties><property name="owner" value="qa"/></properties>
          <flakyFailure message="once"/></testcase>
        <testcase name="c"/>
        <testcase name="d"><rerunFailure message="again"/></testcase>
      </testsuite>`);
    expect(cases.map((c) => [c.name, c.properties, c.reruns.length])).toEqual([
      ['a', {}, 0],
      ['b', { owner: 'qa' }, 1],
      ['c', {}, 0],
      ['d', {}, 1],
    ]);
    expect(cases[1]!.reruns).not.toBe(cases[3]!.reruns);
  });

  it('reads suites, statuses, failure details, output, properties and thousands-separated times', () => {
    const { cases, totals } = parse(`<?xml version="1.0"?>
      <testsuites><testsuite name="outer"><testsuite name="inner">
        <testcase classname="a.B" name="ok" time="1,473.309"><properties><property name="owner" value="qa"/></properties></testcase>
        <testcase classname="a.B" name="bad" time="0.5"><failure type="AssertionError" message="expected 1"><![CDATA[stack
here]]></failure><system-out>out</system-out></testcase>
        <testcase classname="a.B" name="boom"><failure message="f"/><error type="E" message="e">trace</error></testcase>
        <testcase classname="a.B" name="off" status="Disabled"/>
        <testcase classname="a.B" name="flaky"><flakyFailure type="T" message="once"/></testcase>
        <testcase classname="a.B" name="rerun"><failure message="x"/><rerunFailure message="again"/></testcase>
      </testsuite></testsuite></testsuites>`);
    expect(totals).toMatchObject({
      tests: 6,
      passed: 2,
      failed: 2,
      errored: 1,
      skipped: 1,
      flaky: 1,
    });
    expect(cases[0]).toMatchObject({
      suitePath: 'outer / inner',
      durationMs: 1473309,
      properties: { owner: 'qa' },
      status: 'passed',
    });
    expect(cases[1]).toMatchObject({
      status: 'failed',
      failureType: 'AssertionError',
      failureMessage: 'expected 1',
      failureText: 'stack\nhere',
      systemOut: 'out',
    });
    expect(cases[2]).toMatchObject({
      status: 'error',
      failureType: 'E',
      failureMessage: 'e',
      failureText: 'trace',
    });
    expect(cases[4]).toMatchObject({
      status: 'passed',
      flaky: true,
      reruns: [{ kind: 'flakyFailure', message: 'once' }],
    });
    expect(cases[5]).toMatchObject({
      status: 'failed',
      flaky: false,
      reruns: [{ kind: 'rerunFailure', message: 'again' }],
    });
  });

  it('truncates long text at the cap and says so', () => {
    const cases: TestCase[] = [];
    const p = createJUnitParser('t.xml', (c) => cases.push(c), {
      textCap: 10,
      maxDepth: 64,
      maxAttributeLength: 100,
      maxNameLength: 100,
    });
    p.write(
      `<testsuite><testcase name="t"><failure>${'x'.repeat(50)}</failure><system-err>short</system-err></testcase></testsuite>`,
    );
    p.close();
    expect(cases[0]).toMatchObject({
      failureText: 'x'.repeat(10),
      systemErr: 'short',
      truncated: true,
    });
  });

  it.each([
    ['a DOCTYPE with entities', '<!DOCTYPE lolz [<!ENTITY lol "lol">]><testsuite/>', /DOCTYPE/],
    [
      'an external entity',
      '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite>&xxe;</testsuite>',
      /DOCTYPE/,
    ],
    ['a foreign root', '<html><testcase/></html>', /root element/],
    ['deep nesting', '<testsuites>' + '<testsuite>'.repeat(100), /deeper than 64/],
    ['a huge attribute', `<testsuite name="${'a'.repeat(70_000)}"/>`, /attribute "name" is longer/],
    ['a truncated document', '<testsuite><testcase name="x">', /unclosed|end/i],
    ['an empty document', '', /empty|root/],
    ['text that is not XML', 'hello world', /./],
  ])('refuses %s with the line and column', (_what, xml, reason) => {
    try {
      parse(xml, 1000);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JUnitError);
      const e = err as JUnitError;
      expect(e.reason).toMatch(reason);
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.message).toMatch(/^t\.xml:\d+:\d+: /);
    }
  });
});
