// Headless Chromium for the shop's end-to-end tests: Debian's `chromium` (installed when
// missing and allowed), driven by playwright-core, in a throwaway profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ensureBinary } from '../../../test/harness/binaries.js';
import { type TestShop, useStarted } from './helpers.js';

export interface TestBrowser {
  readonly context: BrowserContext;
  /** Close the browser and delete its profile. */
  close(): Promise<void>;
}

export async function launchBrowser(label: string): Promise<TestBrowser> {
  const executablePath = await ensureBinary({ command: 'chromium', debianPackage: 'chromium' });
  const profileDir = mkdtempSync(join(tmpdir(), `girder-shop-${label}-chromium-`));
  try {
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      // No background traffic: the machine has no network beyond loopback.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(profileDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profileDir, { recursive: true, force: true });
    throw error;
  }
}

/** A running test shop and a headless Chromium to drive its web UI. */
export interface BrowserShop extends TestShop {
  readonly browser: BrowserContext;
  /** A new tab, and the page errors it has thrown so far (tests expect none). */
  newPage(): Promise<{ page: Page; errors: string[] }>;
}

/**
 * Registers a `beforeAll` that runs `start` and launches Chromium (profile `label`), and an
 * `afterAll` that closes both, in the calling file. The returned object reads through to
 * them once `beforeAll` has run (before, it throws).
 */
export function useBrowserShop(
  label: string,
  start: () => Promise<TestShop>,
  startTimeoutMs = 180_000,
): BrowserShop {
  return useStarted(async () => {
    const t = await start();
    let launched: TestBrowser;
    try {
      launched = await launchBrowser(label);
    } catch (error) {
      await t.close();
      throw error;
    }
    return {
      ...t,
      browser: launched.context,
      async newPage() {
        const page = await launched.context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        return { page, errors };
      },
      async close() {
        await launched.close();
        await t.close();
      },
    };
  }, startTimeoutMs);
}
