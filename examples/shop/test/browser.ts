// Headless Chromium for the shop's end-to-end tests: Debian's `chromium` (installed when
// missing and allowed), driven by playwright-core, in a throwaway profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { ensureBinary } from '../../../test/harness/binaries.js';

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
