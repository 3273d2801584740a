import fs from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { casesWith, suiteXml, type CaseSpec } from '../helpers/junit-gen.ts';
import { axeViolations, launchChromium, listen, screenshot } from './browser.ts';

/**
 * The dashboard end to end: a real server on a fresh database serving the built app, and
 * Debian's Chromium driving it the way a QA lead would. The steps share one signed-in page
 * and run in order.
 */
let t: TestApp;
let base: string;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ciToken = '';
let invitation = '';
let openapi: { paths: Record<string, unknown> };
const errors: string[] = [];

const ORG = 'acme-qa';
const PASSWORD = 'correct horse battery staple';
const PROJECT = 'web';
const ISSUE = 2;
const issueUrl = () => `${base}/orgs/${ORG}/projects/${PROJECT}/issues/${ISSUE}`;
const api = (path: string) => `${base}/api/v1/orgs/${ORG}/projects/${PROJECT}${path}`;

interface PageElement {
  id: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}

/** The page's globals, typed for what the steps read (the root tsconfig has no DOM types).
 *  Functions passed to page.evaluate run in the page: they cast globalThis themselves. */
interface PageGlobals {
  document: { activeElement: PageElement | null; body: PageElement };
  getComputedStyle: (el: PageElement) => { outlineStyle: string; outlineWidth: string };
}

/** The focused element: its id, its accessible label (or text), and whether its focus is
 *  drawn (an outline); null when nothing but the body has focus. */
async function focused(p: Page) {
  return p.evaluate(() => {
    const { document, getComputedStyle } = globalThis as unknown as PageGlobals;
    const el = document.activeElement;
    if (el === null || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
      id: el.id,
      label: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 60),
      outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px',
    };
  });
}

async function expectAccessible(p: Page, what: string) {
  expect(await axeViolations(p), `axe on ${what}`).toEqual([]);
}

async function upload(cases: CaseSpec[]) {
  const res = await fetch(api(`/runs?issue=${ISSUE}&branch=main`), {
    method: 'POST',
    headers: { authorization: `Bearer ${ciToken}`, 'content-type': 'application/xml' },
    body: suiteXml(cases, 'login'),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

/** A user's own API session (not the page's), for setup the UI has no form for; scoped to
 *  the org unless `org` is null. */
async function userToken(email: string, password: string, org: string | null = ORG) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, ...(org === null ? {} : { org }) }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

async function signUp(p: Page, name: string, email: string) {
  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByLabel('Name').fill(name);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill('correct horse battery staple');
  await p.getByRole('button', { name: 'Sign up' }).click();
}

beforeAll(async () => {
  t = await startTestApp();
  base = await listen(t);
  openapi = (await (await fetch(`${base}/openapi.json`)).json()) as typeof openapi;
  chromium = await launchChromium();
  browser = chromium.browser;
  context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
});

afterEach(async (ctx) => {
  // A failed step says what the page said.
  if (ctx.task.result?.state === 'fail' && page !== undefined) {
    const alerts = await page.getByRole('alert').allTextContents();
    if (alerts.length > 0) console.error(`alerts on ${page.url()}:`, alerts);
  }
});

afterAll(async () => {
  await chromium?.close();
  await t?.close();
});

describe('the dashboard in Chromium', () => {
  it('sends a signed-out visitor to sign in, and after signing up back to where they were going', async () => {
    await page.goto(`${base}/orgs/new`);
    await page.waitForURL(/\/signin\?next=/);
    await expect.poll(() => page.getByLabel('Email').count()).toBe(1);
    await expect.poll(() => page.getByLabel('Password').count()).toBe(1);
    await expectAccessible(page, 'sign-in');
    await signUp(page, 'Quinn QA', 'quinn@example.test');
    await page.waitForURL(`${base}/orgs/new`);
    await page.getByRole('heading', { name: 'New organization' }).waitFor();
    await expectAccessible(page, 'new organization');
  });

  it('creates an organization, a project and a tracked issue from the org home', async () => {
    await page.getByLabel('Organization name').fill('Acme QA');
    expect(await page.getByLabel('Slug (in URLs)').inputValue()).toBe(ORG);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(`${base}/orgs/${ORG}`);
    await page.getByRole('heading', { name: 'Acme QA', level: 1 }).waitFor();
    await page.getByLabel('Project key').fill(PROJECT);
    await page.getByLabel('Project name').fill('Web app');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: /Web app/ }).waitFor();
    await page.getByText(`Track an issue in ${PROJECT}`).click();
    await page.getByLabel('Issue number', { exact: true }).fill(String(ISSUE));
    await page.getByLabel('Issue title').fill('Sign-in fails after token refresh');
    await page.getByRole('button', { name: 'Track issue' }).click();
    await page.getByRole('link', { name: `#${ISSUE} Sign-in fails after token refresh` }).waitFor();
    await expectAccessible(page, 'org home');
  });

  it('makes an API token in settings and shows its secret once', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${base}/orgs/${ORG}/settings`);
    await page.getByLabel('Token name').fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByTestId('token-secret');
    await secret.waitFor();
    ciToken = (await secret.textContent()) ?? '';
    expect(ciToken.length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Copy token' }).waitFor();
    await expectAccessible(page, 'settings');
    // Quality configuration: checked against the served JSON Schema as it is typed.
    const editor = page.getByLabel('Configuration (JSON)');
    await editor.fill(
      '{\n  "gates": [\n    { "key": "r", "name": "R", "conditions": [{ "metric": "pass_rate", "op": "~", "value": 1 }] }\n  ]\n}',
    );
    await page.getByText(/^Line 3: .*\/op /).waitFor();
    expect(await page.getByRole('button', { name: 'Save configuration' }).isDisabled()).toBe(true);
    await editor.fill('{\n  "gates": [\n');
    await page.getByText(/^Line \d+: /).waitFor();
    // An invitation: the link to send, its token in the fragment.
    await page.getByLabel('Invitee email').fill('mallory@example.test');
    await page.getByRole('button', { name: 'Invite' }).click();
    invitation = (await page.getByText(/\/invitations\/accept#token=/).textContent()) ?? '';
    expect(invitation).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/invitations\/accept#token=.+/);
    // Shown once: back on the page, the token is listed by name without its secret.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText(/^ci \(ci\)/).waitFor();
    expect(await page.getByTestId('token-secret').count()).toBe(0);
  });

  it('revokes an invitation after a confirmation made by keyboard: it leaves the pending list and its link stops working', async () => {
    const invitations = page.locator('section[aria-labelledby="invitations"]');
    await page.getByLabel('Invitee email').fill('eve@example.test');
    await page.getByRole('button', { name: 'Invite' }).click();
    await invitations.getByText(/^Send this link to eve@example\.test/).waitFor();
    const link = (await invitations.getByText(/\/invitations\/accept#token=/).textContent()) ?? '';
    const token = decodeURIComponent(link.split('#token=')[1] ?? '');
    expect(token.length).toBeGreaterThan(20);
    const pending = invitations.getByRole('list', { name: 'Pending' });
    await pending.getByRole('listitem').filter({ hasText: 'eve@example.test' }).waitFor();

    const trigger = pending.getByRole('button', { name: 'Revoke invitation for eve@example.test' });
    const dialog = page.getByRole('dialog', {
      name: 'Revoke the invitation for eve@example.test?',
    });
    await trigger.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    expect((await focused(page))?.label).toBe('Cancel'); // the harmless choice first
    await expectAccessible(page, 'settings with a confirmation open');
    await screenshot(page, 'settings-confirm');
    // Escape changes nothing and gives focus back to the trigger.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await focused(page))?.label).toBe('Revoke invitation for eve@example.test');
    await pending.getByRole('listitem').filter({ hasText: 'eve@example.test' }).waitFor();
    // Again, confirmed this time.
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ label: 'Revoke invitation', outline: true });
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await pending
      .getByRole('listitem')
      .filter({ hasText: 'eve@example.test' })
      .waitFor({ state: 'detached' });
    await pending.getByRole('listitem').filter({ hasText: 'mallory@example.test' }).waitFor(); // still pending
    expect(await invitations.getByText(/^Send this link to eve/).count()).toBe(0);
    await expect.poll(async () => (await focused(page))?.id).toBe('invitations');
    await invitations.getByText('Past invitations (1)').click();
    await invitations.getByText(/^eve@example\.test as developer: revoked/).waitFor();

    // The link is dead: Eve, signed up, cannot accept it.
    const signup = await fetch(`${base}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'eve@example.test', password: PASSWORD, name: 'Eve' }),
    });
    expect(signup.status, await signup.clone().text()).toBe(201);
    const eve = await userToken('eve@example.test', PASSWORD, null);
    const accept = await fetch(`${base}/api/v1/invitations/accept`, {
      method: 'POST',
      headers: { authorization: `Bearer ${eve}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(accept.status).toBe(404);
    expect(((await accept.json()) as { detail: string }).detail).toMatch(/revoked/);
  });

  it('adds a webhook and deletes it after a confirmation', async () => {
    const url = 'https://hooks.example.test/gatehouse';
    const webhooks = page.locator('section[aria-labelledby="webhooks"]');
    await page.getByLabel('Webhook URL').fill(url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await webhooks.getByText(/^Signing secret \(shown once\)/).waitFor();
    await webhooks.getByText(`${url} (`).waitFor();
    await webhooks.getByRole('button', { name: `Delete webhook ${url}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete the webhook to ${url}?` });
    await dialog.getByRole('button', { name: 'Delete webhook' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await webhooks.getByText(`${url} (`).waitFor({ state: 'detached' });
    expect(await webhooks.getByText(/^Signing secret/).count()).toBe(0);
    const owner = await userToken('quinn@example.test', PASSWORD);
    const list = await fetch(`${base}/api/v1/orgs/${ORG}/webhooks`, {
      headers: { authorization: `Bearer ${owner}` },
    });
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it("refuses to let the last owner leave, showing the API's reason in the dialog", async () => {
    const members = page.locator('section[aria-labelledby="members"]');
    await members.getByRole('button', { name: 'Leave Acme QA' }).click();
    const dialog = page.getByRole('dialog', { name: 'Leave Acme QA?' });
    await dialog.getByRole('button', { name: 'Leave organization' }).click();
    await dialog
      .getByRole('alert')
      .getByText('The last owner cannot be removed; make someone else owner first')
      .waitFor();
    await expectAccessible(page, 'a refusal in a confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(page.url()).toBe(`${base}/orgs/${ORG}/settings`);
    await members.getByRole('cell', { name: 'quinn@example.test' }).waitFor();
  });

  it('shows the issue blocked after a failing run, then passed after a better run without a reload', async () => {
    // Setup the UI has no form for: a one-gate configuration and a planned activity.
    const owner = await userToken('quinn@example.test', 'correct horse battery staple');
    const headers = { authorization: `Bearer ${owner}`, 'content-type': 'application/json' };
    const put = await fetch(api('/quality-config'), {
      method: 'PUT',
      headers,
      body: JSON.stringify({
        gates: [
          {
            key: 'reliability',
            name: 'Test Reliability Gate',
            conditions: [{ metric: 'pass_rate', op: '>=', value: 0.9 }],
          },
        ],
      }),
    });
    expect(put.status, await put.clone().text()).toBe(200);
    const activity = await fetch(api(`/issues/${ISSUE}/activities`), {
      method: 'POST',
      headers,
      body: JSON.stringify({
        key: 'fix-refresh',
        title: 'Fix token refresh',
        ownerRole: 'developer',
        durationDays: { min: 1, max: 3 },
      }),
    });
    expect(activity.status, await activity.clone().text()).toBe(201);

    const failing = casesWith(10, { 3: 'expected 200 but was 401', 7: 'expected 200 but was 401' });
    failing.push({ name: 'refreshes twice', flaky: true });
    await upload(failing);

    // In-app navigation: the access token lives in the page's memory.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: `#${ISSUE} Sign-in fails after token refresh` }).click();
    await page.waitForURL(issueUrl());
    const gate = page.locator('[data-gate="reliability"]');
    await gate.getByText('blocked', { exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Pass-rate trend' }).waitFor();

    // The page stays open; the better run arrives through the API and the gate follows.
    await upload([...casesWith(10, {}), { name: 'refreshes twice', flaky: true }]);
    await gate.getByText('passed', { exact: true }).waitFor({ timeout: 20_000 });
    await page.getByRole('status').filter({ hasText: 'Gates changed' }).waitFor();
    await screenshot(page, 'issue');
    await expectAccessible(page, 'issue page');
  });

  it('escalates to the architect with a question', async () => {
    await page.getByText('Escalate', { exact: true }).click();
    await page.getByLabel('Escalate to role').selectOption('architect');
    await page.getByLabel('Reason').fill('Refresh design unclear');
    await page.getByLabel('Request').fill('Decide the rotation grace period');
    await page.getByLabel('Question topic').fill('Rotation');
    await page
      .getByLabel('Question', { exact: true })
      .fill('How long may a spent token be reused?');
    await page.getByRole('button', { name: 'Send escalation' }).click();
    const escalations = page.locator('section[aria-labelledby="escalations"]');
    await escalations.getByText(/To architect .*: Refresh design unclear/).waitFor();
    await escalations.getByText('How long may a spent token be reused?').waitFor();
    await escalations.getByText(/Acknowledge by .* left\)/).waitFor();
  });

  it('updates an activity', async () => {
    const row = page.locator('[data-activity="fix-refresh"]');
    await row.getByText('pending').waitFor();
    await page.getByRole('combobox', { name: /^Activity/ }).selectOption('fix-refresh');
    await page.getByLabel('New status').selectOption('in_progress');
    await page.getByRole('button', { name: 'Update activity' }).click();
    await row.getByText('in progress').waitFor();
  });

  it('quarantines a flaky test', async (ctx) => {
    const path = '/api/v1/orgs/{org}/projects/{project}/tests/{testId}/quarantine';
    if (!(path in openapi.paths)) ctx.skip(); // this server has no quarantine (issue 12)
    const flaky = page.locator('section[aria-labelledby="flaky"]');
    await flaky.getByText(/refreshes twice/).waitFor();
    await flaky.getByRole('button', { name: /^Quarantine .*refreshes twice/ }).click();
    await flaky.getByRole('button', { name: /^Release .*refreshes twice/ }).waitFor();
    await flaky.getByText('Quarantined', { exact: true }).waitFor();
  });

  it('downloads the Markdown report', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download report' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${PROJECT}-issue-${ISSUE}-report.md`);
    const text = await fs.readFile(await download.path(), 'utf8');
    expect(text).toContain('Sign-in fails after token refresh');
    expect(text).toContain('Test Reliability Gate');
  });

  it("shows the issue's README badge with its Markdown, and rotating the token retires the old badge", async () => {
    const section = page.getByRole('region', { name: 'README badge' });
    const markdown = section.getByLabel('Markdown');
    await expect.poll(() => markdown.inputValue()).toContain('badge.svg?token=');
    const before = await markdown.inputValue();
    const oldUrl = /\((http[^)]+badge\.svg\?token=[^)]+)\)/.exec(before)?.[1] ?? '';
    expect(oldUrl.startsWith(base)).toBe(true);
    const svg = await fetch(oldUrl);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    // The picture on the page is the badge itself, loaded with no session of its own.
    await expect
      .poll(() =>
        section
          .getByRole('img', { name: `Badge of issue #${ISSUE}: its overall gate state` })
          .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      )
      .toBeGreaterThan(0);
    await expectAccessible(page, 'the issue page with its badge');

    await section.getByRole('button', { name: /^Rotate token/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate token' }).click();
    await expect.poll(() => markdown.inputValue()).not.toBe(before);
    expect((await fetch(oldUrl)).status).not.toBe(200);
    const newUrl = /\((http[^)]+badge\.svg\?token=[^)]+)\)/.exec(await markdown.inputValue())?.[1];
    expect((await fetch(newUrl ?? '')).status).toBe(200);
  });

  it('keeps the user signed in across a reload through the refresh cookie', async (ctx) => {
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'quinn@example.test',
        password: 'correct horse battery staple',
      }),
    });
    if (login.headers.get('set-cookie') === null) ctx.skip(); // this server sets no refresh cookie yet
    await page.reload();
    await page.locator('[data-gate="reliability"]').getByText('passed', { exact: true }).waitFor();
    expect(page.url()).toBe(issueUrl());
  });

  it('walks the issue page with the keyboard alone, focus always visible', async () => {
    // Arrive as a keyboard user would: the app puts focus on the new page's content.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: `#${ISSUE} Sign-in fails after token refresh` }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(issueUrl());
    await page.locator('[data-gate="reliability"]').getByText('passed', { exact: true }).waitFor();
    await expect
      .poll(() =>
        page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id),
      )
      .toBe('main');
    const seen: string[] = [];
    let invisible = 0;
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const now = await focused(page);
      if (now === null) continue;
      seen.push(now.label);
      if (!now.outline) invisible++;
      if (now.label === 'Add a risk') break;
    }
    expect(invisible).toBe(0);
    expect(seen).toContain('Download report');
    expect(seen).toContain('Escalate');
    expect(seen.at(-1)).toBe('Add a risk');
    // Operate a form by keyboard: open the disclosure, fill it, submit.
    await page.keyboard.press('Enter');
    await page.getByLabel('Severity').waitFor(); // the disclosure's form renders on toggle
    await page.keyboard.press('Tab'); // severity
    await page.keyboard.press('Tab'); // title
    await page.keyboard.type('Refresh race between tabs');
    await page.keyboard.press('Tab'); // description
    await page.keyboard.press('Tab'); // submit
    await page.keyboard.press('Enter');
    await page
      .locator('section[aria-labelledby="risks"]')
      .getByText('[medium] Refresh race between tabs')
      .waitFor();
  });

  it('shows a run with totals, a status filter, search and a test history one click away', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Recent runs' }).waitFor();
    await screenshot(page, 'org-home');
    await page
      .getByRole('link', { name: /^Run .*\(#2\)/ })
      .last()
      .click();
    await page.waitForURL(/\/runs\//);
    await page.getByRole('heading', { name: 'Totals' }).waitFor();
    await page.getByText('11 shown').waitFor();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('2 shown').waitFor();
    await page.getByLabel('Search tests').fill('t7');
    await page.getByText('1 shown').waitFor();
    await page.getByRole('button', { name: /t7$/ }).click();
    await page.getByRole('heading', { name: /History of .*t7/ }).waitFor();
    await screenshot(page, 'run');
    await expectAccessible(page, 'run page');
  });

  it("keeps another user out of the first org's issue (the page says not found) until they accept an invitation", async () => {
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await p.goto(issueUrl());
      await p.waitForURL(/\/signin/);
      await signUp(p, 'Mallory', 'mallory@example.test');
      await p.waitForURL(issueUrl());
      await p.getByRole('heading', { name: 'Not found' }).waitFor();
      expect(await p.getByText('Sign-in fails after token refresh').count()).toBe(0);
      await expectAccessible(p, 'not found');
      // Invited, and having accepted, the same user gets in.
      await p.goto(invitation);
      await p.getByRole('button', { name: 'Accept invitation' }).click();
      await p.waitForURL(`${base}/orgs/${ORG}`);
      await p.getByRole('link', { name: `#${ISSUE} Sign-in fails after token refresh` }).click();
      await p.locator('[data-gate="reliability"]').getByText('passed', { exact: true }).waitFor();
      // As a developer, settings lets them leave, and says who manages the rest.
      await p.getByRole('link', { name: 'Settings' }).click();
      const members = p.locator('section[aria-labelledby="members"]');
      await members
        .getByText('Only owners and admins can change roles or remove members.')
        .waitFor();
      await members.getByRole('button', { name: 'Leave Acme QA' }).waitFor();
      expect(await members.getByRole('button', { name: /^Remove / }).count()).toBe(0);
      expect(await members.getByRole('combobox').count()).toBe(0);
      expect(await p.getByRole('heading', { name: 'Invitations' }).count()).toBe(0);
      expect(await p.getByRole('heading', { name: 'Webhooks' }).count()).toBe(0);
      await expectAccessible(p, 'settings as a developer');
    } finally {
      await other.close();
    }
  });

  it('changes the role of the member who accepted, then removes them: their access ends at once', async () => {
    const mallory = await userToken('mallory@example.test', PASSWORD);
    const issue = () =>
      fetch(api(`/issues/${ISSUE}`), { headers: { authorization: `Bearer ${mallory}` } });
    expect((await issue()).status).toBe(200);

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${base}/orgs/${ORG}/settings`);
    const members = page.locator('section[aria-labelledby="members"]');
    const role = members.getByLabel('Role of mallory@example.test');
    await role.selectOption('reviewer');
    await expect.poll(() => role.inputValue()).toBe('reviewer');
    await members.getByRole('button', { name: 'Remove mallory@example.test' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove Mallory from Acme QA?' });
    await dialog.getByText('Mallory (mallory@example.test) loses access').waitFor();
    await dialog.getByRole('button', { name: 'Remove member' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await members
      .getByRole('cell', { name: 'mallory@example.test' })
      .waitFor({ state: 'detached' });
    await expect.poll(async () => (await focused(page))?.id).toBe('members');
    await expectAccessible(page, 'settings after removing a member');
    // The same access token, still unexpired, no longer opens the org.
    expect((await issue()).status).toBe(404);
  });

  it('signs out: the session is over, even for a reload', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/signin/);
    await page.goto(issueUrl());
    await page.waitForURL(/\/signin\?next=/);
    await page.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor();
  });

  it('raised no script errors on any page', () => {
    expect(errors).toEqual([]);
  });
});
