// The lab page runs the kernel demo on the browser's adapter and shows where it ran.
import { expect, test } from '@playwright/test';

test('the lab page shows its adapter and the demo table, within float32 error of the reference', async ({ page }) => {
  await page.goto('/?n=32&d=64&width=128&seed=3');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.locator('#adapter')).toContainText('adapter:');
  const text = await page.locator('#out').textContent();
  for (const op of ['pre-activation Z = X·W1ᵀ', 'H = ReLU(Z + b1)', 'Gram block H·Hᵀ', '‖H·Hᵀ‖_F']) expect(text).toContain(op);
  // Each row ends with the relative error against float64; all must be float32-sized.
  const errors = [...text!.matchAll(/(\d\.\de[-+]\d+)\s*$/gm)].map((m) => Number(m[1]));
  expect(errors).toHaveLength(4);
  for (const e of errors) expect(e).toBeLessThan(1e-5);
});
