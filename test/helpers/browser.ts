/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), for the dashboard tests.
 * The page is confined to one origin: every request elsewhere is aborted and recorded, and every
 * console error and uncaught page error is recorded, so tests can assert there were none.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { available } from './require.ts';
import { REPO_ROOT } from './server.ts';

export const CHROMIUM = process.env.BOOTGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results');

export function haveChromium(): boolean {
  return available('Chromium', existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install chromium, or set BOOTGATE_TEST_CHROMIUM)`);
}

export interface BrowserSession {
  /** One browser profile; each watched page is a tab of its own (its own sessionStorage, so its own key). */
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium on a fresh profile directory (playwright passes it as --user-data-dir), removed on close. */
export async function launchChromium(): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'bootgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions, as text. */
  errors: string[];
  /** Every URL the page asked for. */
  requests: string[];
  /** Requests to any other origin (aborted). */
  foreign: string[];
}

/** A new tab (its own sessionStorage) that may talk to `origin` only. */
export async function watchedPage(session: BrowserSession, origin: string): Promise<WatchedPage> {
  const page = await session.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  const foreign: string[] = [];
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    requests.push(url);
    if (new URL(url).origin === origin) await route.continue();
    else {
      foreign.push(url);
      await route.abort('blockedbyclient');
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return { page, errors, requests, foreign };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
