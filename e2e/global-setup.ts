// Printed once at the start of `playwright test`: the WebGPU adapter each browser project's pages get.
// Playwright starts the web server (config.webServer) before global setup, so the kernel page is there.
import { chromium, type FullConfig } from '@playwright/test';
import { describeAdapter, type AdapterSummary } from '../src/gpu/gpu.ts';

export default async function setup(config: FullConfig): Promise<void> {
  const page = config.webServer?.url;
  if (!page) throw new Error('playwright.config.ts must name the kernel page as webServer.url');
  for (const project of config.projects) {
    const browser = await chromium.launch(project.use.launchOptions);
    try {
      const tab = await browser.newPage();
      await tab.goto(`${page}${(project.metadata.pageQuery as string | undefined) ?? ''}`);
      await tab.waitForFunction(() => window.catapultChecks !== undefined);
      const adapter = (await tab.evaluate(() => window.catapultChecks.adapter())) as AdapterSummary;
      console.log(`browser tests (${project.name}) on adapter: ${describeAdapter(adapter)}`);
    } finally {
      await browser.close();
    }
  }
}
