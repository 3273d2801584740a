import { SaxesParser } from 'saxes';
import {
  addCase,
  emptyTotals,
  parseSeconds,
  statusOf,
  type Rerun,
  type TestCase,
  type Totals,
} from '../../domain/junit.ts';

export interface ParserLimits {
  /** Characters kept of each failure text and system-out/err; the rest is dropped and flagged. */
  textCap: number;
  maxDepth: number;
  maxAttributeLength: number;
  maxNameLength: number;
}

export const DEFAULT_LIMITS: ParserLimits = {
  textCap: 64 * 1024,
  maxDepth: 64,
  maxAttributeLength: 64 * 1024,
  maxNameLength: 1024,
};

/** Not JUnit XML (or hostile): names where in the file the problem is. */
export class JUnitError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'JUnitError';
  }
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1);

// Shared by every testcase without reruns or properties (nearly all of them) until the parser
// gives it its own: two objects fewer per testcase held while its batch is stored. Frozen, so
// a write anywhere else fails loudly instead of reaching every testcase.
const NO_RERUNS = Object.freeze([]) as unknown as Rerun[];
const NO_PROPERTIES = Object.freeze({}) as Record<string, string>;

type Capture = 'failureText' | 'systemOut' | 'systemErr';

/**
 * A streaming JUnit XML parser over saxes: memory stays bounded by the limits, whatever
 * the file size. Testcases come out one at a time through `onCase`; totals follow the
 * corpus's counting rule. DOCTYPEs (hence entity declarations) are refused outright.
 */
export function createJUnitParser(
  file: string,
  onCase: (tc: TestCase) => void,
  limits: ParserLimits = DEFAULT_LIMITS,
) {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const totals: Totals = emptyTotals();
  const suites: string[] = [];
  // The suite path of the testcases being read, recomputed only when a suite opens or closes.
  let suitePath = '';
  const updateSuitePath = () => (suitePath = suites.filter((s) => s !== '').join(' / '));
  let depth = 0;
  let sawRoot = false;
  // The testcase being read, its status attribute and which result children it had.
  let current: TestCase | null = null;
  let statusAttr: string | undefined;
  const seen = { error: false, failure: false, skipped: false };
  let caseDepth = -1;
  let capture: { field: Capture; into: TestCase } | null = null;
  let failure: JUnitError | null = null;

  const fail = (reason: string): never => {
    failure ??= new JUnitError(file, parser.line, parser.column, reason);
    throw failure;
  };

  const append = (text: string) => {
    if (capture === null) return;
    const { field, into } = capture;
    const have = into[field] ?? '';
    if (have.length >= limits.textCap) {
      if (text.length > 0) into.truncated = true;
      return;
    }
    const room = limits.textCap - have.length;
    if (text.length > room) into.truncated = true;
    into[field] = have + text.slice(0, room);
  };

  // saxes puts its own `line:column: ` (and a file name, when given one) before the reason
  // and a full stop after it; the file and position are said once, by JUnitError.
  parser.on('error', (err) =>
    fail(err.message.replace(/^(?:.*?:)?\d+:\d+: /, '').replace(/\.$/, '')),
  );
  parser.on('doctype', () =>
    fail('DOCTYPE declarations are not accepted (no entities, no external references)'),
  );
  parser.on('text', append);
  parser.on('cdata', append);

  parser.on('opentag', (node) => {
    depth++;
    if (depth > limits.maxDepth) fail(`elements nest deeper than ${limits.maxDepth} levels`);
    if (node.name.length > limits.maxNameLength)
      fail(`an element name is longer than ${limits.maxNameLength} characters`);
    const attrs = node.attributes as Record<string, string>;
    for (const key in attrs) {
      if (key.length > limits.maxNameLength)
        fail(`an attribute name is longer than ${limits.maxNameLength} characters`);
      if (attrs[key]!.length > limits.maxAttributeLength)
        fail(`attribute "${key}" is longer than ${limits.maxAttributeLength} characters`);
    }
    const name = localName(node.name);
    if (!sawRoot) {
      sawRoot = true;
      if (name !== 'testsuites' && name !== 'testsuite')
        fail(`the root element must be <testsuites> or <testsuite>, not <${node.name}>`);
    }
    if (current === null) {
      if (name === 'testsuite') {
        suites.push(attrs['name'] ?? '');
        updateSuitePath();
      } else if (name === 'testcase') {
        current = {
          suitePath,
          classname: attrs['classname'] ?? attrs['class'] ?? '',
          name: attrs['name'] ?? '',
          status: 'passed',
          durationMs: parseSeconds(attrs['time']),
          failureType: null,
          failureMessage: null,
          failureText: null,
          systemOut: null,
          systemErr: null,
          truncated: false,
          flaky: false,
          reruns: NO_RERUNS,
          properties: NO_PROPERTIES,
        };
        statusAttr = attrs['status'];
        seen.error = seen.failure = seen.skipped = false;
        caseDepth = depth;
      }
      return;
    }
    if (depth === caseDepth + 1) {
      const tc = current;
      switch (name) {
        case 'error':
        case 'failure':
          // The first error wins over any failure; keep its details.
          if (name === 'error' ? !seen.error : !seen.error && !seen.failure) {
            tc.failureType = attrs['type'] ?? null;
            tc.failureMessage = attrs['message'] ?? null;
            tc.failureText = null;
            capture = { field: 'failureText', into: tc };
          }
          if (name === 'error') seen.error = true;
          else seen.failure = true;
          break;
        case 'skipped':
          seen.skipped = true;
          if (!seen.error && !seen.failure && attrs['message'] !== undefined)
            tc.failureMessage ??= attrs['message'];
          break;
        case 'flakyFailure':
        case 'flakyError':
        case 'rerunFailure':
        case 'rerunError':
          // flaky*: failed, then passed on a rerun; rerun*: failed on every rerun too.
          if (name.startsWith('flaky')) tc.flaky = true;
          if (tc.reruns === NO_RERUNS) tc.reruns = [];
          tc.reruns.push({
            kind: name,
            type: attrs['type'] ?? null,
            message: attrs['message'] ?? null,
          });
          break;
        case 'system-out':
          capture = { field: 'systemOut', into: tc };
          break;
        case 'system-err':
          capture = { field: 'systemErr', into: tc };
          break;
      }
    } else if (depth === caseDepth + 2 && name === 'property' && attrs['name'] !== undefined) {
      if (current.properties === NO_PROPERTIES) current.properties = {};
      current.properties[attrs['name']] = attrs['value'] ?? '';
    }
  });

  parser.on('closetag', (node) => {
    const name = localName(node.name);
    if (current !== null && depth === caseDepth + 1) capture = null;
    if (current !== null && depth === caseDepth && name === 'testcase') {
      const testCase = current;
      testCase.status = statusOf(seen, statusAttr);
      addCase(totals, testCase);
      current = null;
      caseDepth = -1;
      onCase(testCase);
    } else if (current === null && name === 'testsuite') {
      suites.pop();
      updateSuitePath();
    }
    depth--;
  });

  return {
    totals,
    write(chunk: string): void {
      if (failure !== null) throw failure;
      parser.write(chunk);
    },
    close(): Totals {
      if (failure !== null) throw failure;
      parser.close();
      if (!sawRoot) fail('the file is empty or has no root element');
      return totals;
    },
  };
}
