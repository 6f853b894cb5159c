/**
 * The dashboard in Debian's headless Chromium (playwright-core, never a downloaded browser) against a
 * real verifier with tpm-sim hosts: the fleet and its states, a host turning red live, a tampered
 * host's changes, drift groups and an audited accept that turns a rollout's hosts green, the census,
 * the scheduler's read-only view, 401/403 on the page; no console error, no request off the origin.
 * Screenshots of each view go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';
import { haveChromium, launchChromium, screenshot, watchedPage, type BrowserSession, type WatchedPage } from './helpers/browser.ts';
import { applyScenario, createSimHost, fakeImage, HostAgent, type ScenarioName } from '../tpm-sim/index.ts';

/** Polls stay outside the page: its CSP (no eval) refuses playwright's in-page waitForFunction. */
const WAIT = { timeout: 15_000 };

/** The requests a page may make: its own files and the public API. */
const ALLOWED_PATHS = [/^\/ui\/([A-Za-z0-9._-]+|vendor\/[A-Za-z0-9._-]+)?$/, /^\/v1\/(hosts|drift|golden|events)(\/|$)/];

async function signIn(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
}

/** Whether the element has the focus (runs in the page; the test's own types know no DOM). */
const isFocused = (el: unknown): boolean => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement;

const row = (page: Page, hostId: string, state: string) => page.waitForSelector(`tr[data-host="${hostId}"][data-state="${state}"]`, WAIT);

describe.skipIf(!haveChromium())('the dashboard in headless Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  let admin: WatchedPage;
  const agents = new Map<string, HostAgent>();

  async function addHost(hostId: string, attest = true, scenario: ScenarioName = 'clean'): Promise<HostAgent> {
    const agent = new HostAgent(createSimHost({ hostId, scenario }), server.baseUrl);
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    if (attest) expect((await agent.attest()).verdict).toBe(scenario === 'clean' ? 'pass' : 'fail');
    agents.set(hostId, agent);
    return agent;
  }

  async function attest(hostId: string, verdict: 'pass' | 'fail'): Promise<void> {
    expect((await agents.get(hostId)!.attest()).verdict).toBe(verdict);
  }

  beforeAll(async () => {
    server = await startTestServer();
    for (const id of ['web-01', 'web-02', 'web-03', 'web-04', 'web-05', 'odd-01']) await addHost(id);
    await addHost('new-01', false);
    session = await launchChromium();
    admin = await watchedPage(session, server.baseUrl);
  });

  afterAll(async () => {
    await session?.close();
    await server?.stop();
  });

  it('asks for the API key once and lists the fleet with each host’s state', async () => {
    const { page } = admin;
    await page.goto(`${server.baseUrl}/ui/`);
    const input = page.getByLabel('API key');
    expect(await input.getAttribute('type')).toBe('password');
    await screenshot(page, 'ui-sign-in');
    await signIn(page, server.baseUrl, server.adminKey);
    for (const id of ['web-01', 'web-02', 'web-03', 'web-04', 'web-05', 'odd-01']) await row(page, id, 'trusted');
    await row(page, 'new-01', 'unknown');
    expect(await page.locator('.tile-trusted .tile-count').innerText()).toBe('6');
    expect(await page.locator('.tile-unknown .tile-count').innerText()).toBe('1');
    expect(await page.locator('tr[data-host="web-01"]').innerText()).toContain(SIM_PROFILE);
    // Kept for the tab's life: a reload does not ask again.
    await page.reload();
    await row(page, 'web-01', 'trusted');
    expect(await page.getByLabel('API key').count()).toBe(0);
    expect(await page.evaluate(`sessionStorage.getItem('bootgate.apiKey')`)).toBe(server.adminKey);
    // The filter: one state, then a host id.
    await page.locator('.tile-unknown').click();
    await expect.poll(() => page.locator('tbody tr[data-host]').count(), WAIT).toBe(1);
    await page.locator('.tile-unknown').click();
    await page.getByLabel('Host id contains').fill('web-0');
    await expect.poll(() => page.locator('tbody tr[data-host]').count(), WAIT).toBe(5);
    await page.getByLabel('Host id contains').fill('');
  });

  it('works from the keyboard: the key field first, a skip link, focus on the heading after each navigation', async () => {
    const probe = await watchedPage(session, server.baseUrl);
    try {
      await probe.page.goto(`${server.baseUrl}/ui/`);
      expect(await probe.page.getByLabel('API key').evaluate(isFocused)).toBe(true);
      await probe.page.keyboard.type(server.adminKey);
      await probe.page.keyboard.press('Enter');
      await row(probe.page, 'web-01', 'trusted');
      expect(await probe.page.evaluate('document.activeElement?.textContent')).toBe('Fleet');
      // The first stop in tab order is the skip link; it moves focus to the view's heading.
      const firstStop = `document.querySelector('a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex="-1"])')`;
      expect(await probe.page.evaluate(`${firstStop}.textContent`)).toBe('Skip to content');
      await probe.page.evaluate(`${firstStop}.focus()`);
      await probe.page.keyboard.press('Enter');
      expect(await probe.page.evaluate('document.activeElement?.tagName')).toBe('H1');
      await probe.page.getByRole('link', { name: 'Drift', exact: true }).focus();
      await probe.page.keyboard.press('Enter');
      await probe.page.locator('h1', { hasText: 'Drift' }).waitFor(WAIT);
      expect(await probe.page.evaluate('document.activeElement?.textContent')).toBe('Drift');
      expect(await probe.page.getByRole('link', { name: 'Drift', exact: true }).getAttribute('aria-current')).toBe('page');
      expect(probe.errors).toEqual([]);
    } finally {
      await probe.page.close();
    }
  });

  it('turns a host red without a reload when it fails, and says so to screen readers', async () => {
    const { page } = admin;
    await page.evaluate('window.notReloaded = true');
    await page.waitForSelector('.live-live', WAIT);
    const odd = agents.get('odd-01')!;
    Object.assign(odd.host.platform, applyScenario(odd.host.platform, 'option-rom-implant'));
    odd.host.reboot();
    await attest('odd-01', 'fail');
    await row(page, 'odd-01', 'untrusted');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    expect(await page.locator('.tile-untrusted .tile-count').innerText()).toBe('1');
    expect(await page.locator('[role="status"][aria-live="polite"]').first().innerText()).toContain('odd-01 turned untrusted');
    expect(await page.locator('.recent').innerText()).toContain('odd-01');
    expect(await page.locator('.timeline-summary').innerText()).toMatch(/1 appraisal turned a host untrusted/);
    expect(await page.locator('.timeline canvas').count()).toBeGreaterThan(0);
    await screenshot(page, 'ui-fleet');
  });

  it('shows a tampered host’s changed PCR and event side by side, and its failures', async () => {
    const { page } = admin;
    await page.locator('a', { hasText: 'odd-01' }).first().click();
    await page.waitForSelector('table.changes tbody tr', WAIT);
    const change = page.locator('table.changes tbody tr').first();
    expect(await change.getAttribute('data-pcr')).toBe('2');
    const text = await change.innerText();
    expect(text).toContain('EV_EFI_BOOT_SERVICES_DRIVER');
    expect(text).toMatch(/Added/);
    expect(text).toMatch(/not in the last passing boot/);
    expect(text).toMatch(/[0-9a-f]{64}/);
    expect(await page.locator('table.failures').innerText()).toContain('driver_not_allowed');
    expect(await page.locator('p.shared').innerText()).toMatch(/No other host failed with this change/);
    expect(await page.locator('table.history tbody tr').count()).toBe(2);
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');
    await screenshot(page, 'ui-host');
  });

  it('groups drift largest first; an admin accepts a rollout with a note and its hosts turn green when they re-attest', async () => {
    const { page } = admin;
    for (const id of ['web-04', 'web-05']) {
      const host = agents.get(id)!.host;
      host.platform.grub.contents = fakeImage('grub 2.14 (vendor update)', host.platform.grub.contents.length);
      host.reboot();
      await attest(id, 'fail');
    }
    await page.getByRole('link', { name: 'Drift', exact: true }).click();
    await page.waitForSelector('article.group', WAIT);
    const groups = page.locator('article.group');
    await expect.poll(() => groups.count(), WAIT).toBe(2);
    const first = groups.nth(0);
    expect(await first.locator('h2').innerText()).toMatch(/^2 hosts/);
    expect(await first.locator('.host-chips').innerText()).toMatch(/web-04[\s\S]*web-05/);
    expect(await first.locator('table.changes').innerText()).toMatch(/Modified/);
    expect(await groups.nth(1).locator('h2').innerText()).toMatch(/^1 host /);
    const before = (await server.call('GET', `/v1/golden/${SIM_PROFILE}`, { key: server.adminKey })).json as { version: string };
    await screenshot(page, 'ui-drift');

    await first.getByRole('button', { name: 'Accept this change…' }).click();
    const note = first.getByLabel(/Why is this change legitimate/);
    expect(await note.evaluate(isFocused)).toBe(true);
    await note.fill('grub 2.14 vendor rollout, change ticket CHG-1042');
    await first.getByRole('button', { name: 'Accept for 2 hosts' }).click();
    const done = first.locator('.accepted');
    await done.waitFor(WAIT);
    const version = await done.locator('.profile-version').innerText();
    expect(version).toMatch(new RegExp(`^${SIM_PROFILE}@`));
    expect(version).not.toBe(`${SIM_PROFILE}@${before.version}`);
    expect(await done.innerText()).toMatch(/pass at their next attestation/);
    expect(await done.evaluate(isFocused)).toBe(true);
    const after = (await server.call('GET', `/v1/golden/${SIM_PROFILE}`, { key: server.adminKey })).json as { version: string };
    expect(`${SIM_PROFILE}@${after.version}`).toBe(version);
    // The audit trail on the same page: the version written, the hosts and the note.
    const audit = page.locator('table.acceptances tbody tr').first();
    await audit.waitFor(WAIT);
    expect(await audit.innerText()).toMatch(new RegExp(`${version}[\\s\\S]*web-04[\\s\\S]*CHG-1042`));
    await screenshot(page, 'ui-drift-accepted');

    await page.getByRole('link', { name: 'Fleet', exact: true }).click();
    await row(page, 'web-04', 'untrusted');
    for (const id of ['web-04', 'web-05']) await attest(id, 'pass');
    await row(page, 'web-04', 'trusted');
    await row(page, 'web-05', 'trusted');
    await row(page, 'odd-01', 'untrusted');
    expect(await page.locator('tr[data-host="web-05"]').innerText()).toContain(version);
  });

  it('shows the census of a profile: both bootloaders, and which hosts use the new one', async () => {
    const { page } = admin;
    await page.goto(`${server.baseUrl}/ui/#/census/${SIM_PROFILE}`);
    await page.waitForSelector('table.census tbody tr', WAIT);
    const text = await page.locator('table.census').innerText();
    expect(text).toMatch(/bootloader/);
    const rows = page.locator('table.census tbody tr', { hasText: 'web-04' });
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await rows.first().innerText()).toContain('web-05');
    await screenshot(page, 'ui-census');
  });

  it('shows what a host that never passed was refused for, with nothing to compare it to', async () => {
    const { page } = admin;
    await addHost('bad-01', true, 'bios-reflash');
    await page.goto(`${server.baseUrl}/ui/#/hosts/bad-01`);
    await page.waitForSelector('table.changes tbody tr', WAIT);
    expect(await page.locator('section', { hasText: 'What changed' }).innerText()).toMatch(/never passed/);
    const text = await page.locator('table.changes').innerText();
    expect(text).toMatch(/EV_EFI_PLATFORM_FIRMWARE_BLOB/);
    expect(await page.locator('table.changes tbody tr').first().getAttribute('data-pcr')).toBe('0');
    expect(await page.locator('table.failures').innerText()).toContain('firmware_not_allowed');
  });

  it('lets the scheduler key see drift but not accept it', async () => {
    const sched = await watchedPage(session, server.baseUrl);
    try {
      await signIn(sched.page, server.baseUrl, server.schedulerKey);
      await row(sched.page, 'odd-01', 'untrusted');
      expect(await sched.page.locator('header .role').innerText()).toMatch(/scheduler/);
      await sched.page.getByRole('link', { name: 'Drift', exact: true }).click();
      const group = sched.page.locator('article.group').first();
      await group.waitFor(WAIT);
      expect(await group.getByRole('button', { name: 'Accept this change' }).isDisabled()).toBe(true);
      expect(await group.innerText()).toMatch(/Accepting needs an admin key/);
      await screenshot(sched.page, 'ui-drift-scheduler');
      // The API refuses it too, whatever a page shows.
      const groupId = await group.getAttribute('data-group');
      const r = await server.call('POST', `/v1/drift/${groupId}/accept`, { key: server.schedulerKey, body: { note: 'not mine to accept' } });
      expect(r.status).toBe(403);
      // The only failed request: the admin-only profile list that tells the page the key's role.
      expect(sched.errors.every((e) => /status of 403/.test(e)), sched.errors.join('\n')).toBe(true);
      expect(sched.foreign).toEqual([]);
    } finally {
      await sched.page.close();
    }
  });

  it('says on the page, in the verifier’s words, when a change cannot be accepted (Secure Boot turned off)', async () => {
    await addHost('sb-01');
    const sb = agents.get('sb-01')!;
    Object.assign(sb.host.platform, applyScenario(sb.host.platform, 'secure-boot-off'));
    sb.host.reboot();
    await attest('sb-01', 'fail');
    const tab = await watchedPage(session, server.baseUrl);
    try {
      await signIn(tab.page, server.baseUrl, server.adminKey);
      await row(tab.page, 'sb-01', 'untrusted');
      await tab.page.getByRole('link', { name: 'Drift', exact: true }).click();
      const group = tab.page.locator('article.group', { hasText: 'sb-01' });
      await group.waitFor(WAIT);
      await group.getByRole('button', { name: 'Accept this change…' }).click();
      await group.getByLabel(/Why is this change legitimate/).fill('trying to accept Secure Boot off');
      await group.getByRole('button', { name: 'Accept for 1 host' }).click();
      const error = group.locator('.error');
      await error.waitFor(WAIT);
      expect(await error.innerText()).toMatch(/cannot be accepted.*\(409 change_not_acceptable\)/s);
      expect(await group.locator('.accepted').count()).toBe(0);
      // The form stays open with the note, so the operator can cancel or read why.
      expect(await group.getByLabel(/Why is this change legitimate/).inputValue()).toBe('trying to accept Secure Boot off');
      expect(tab.errors.every((e) => /status of 409/.test(e)), tab.errors.join('\n')).toBe(true);
    } finally {
      await tab.page.close();
    }
  });

  it('says on the page when the API answers 401 or 403', async () => {
    const other = await watchedPage(session, server.baseUrl);
    try {
      await signIn(other.page, server.baseUrl, 'not-a-key-of-this-verifier');
      await other.page.waitForSelector('.error', WAIT);
      expect(await other.page.locator('.error').innerText()).toMatch(/refused this API key \(401 invalid_credentials\)/);
      expect(await other.page.evaluate(`sessionStorage.getItem('bootgate.apiKey')`)).toBeNull();
      await other.page.getByLabel('API key').fill(server.brokerKey);
      await other.page.getByRole('button', { name: 'Open the dashboard' }).click();
      await other.page.locator('.error', { hasText: '403' }).waitFor(WAIT);
      expect(await other.page.locator('.error').innerText()).toMatch(/may not do that \(403 forbidden\)/);
      expect(other.foreign).toEqual([]);
    } finally {
      await other.page.close();
    }
  });

  it('made no console error and no request off its origin, and called only its files and the public API', () => {
    expect(admin.errors).toEqual([]);
    expect(admin.foreign).toEqual([]);
    for (const url of admin.requests) {
      const path = new URL(url).pathname;
      expect(ALLOWED_PATHS.some((re) => re.test(path)), path).toBe(true);
    }
  });
});
