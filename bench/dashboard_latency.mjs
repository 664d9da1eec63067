// How long a sandbox's output takes to reach the dashboard's page, beside the same output read
// over SSE by a plain client (the API's own live path). A step job prints the wall clock (ms) ten
// times a second for five seconds (after 3 s, while both readers are following); the page (Chromium, the job page, its WebSocket) and the SSE
// reader note when each line arrives. Prints p50/p95/max of both and their ratio.
//
//   node bench/dashboard_latency.mjs build/release/src/warden
// Needs tests/dashboard's npm packages (scripts/setup.sh) and Debian's chromium. Run it on an idle
// machine: the numbers are side by side, but both share the cores with the server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(path.join(here, '../tests/dashboard/node_modules/playwright-core/index.mjs'));
const warden = process.argv[2] || path.join(here, '../build/release/src/warden');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-latency-'));
fs.mkdirSync(path.join(dir, 'home'));
fs.writeFileSync(path.join(dir, 'config.toml'), '');
const serve = spawn(warden, ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data')], {
  env: { PATH: process.env.PATH, HOME: path.join(dir, 'home'), WARDEN_CONFIG: path.join(dir, 'config.toml') },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((resolve) => {
  let out = '';
  serve.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (http:\/\/\S+)/); if (m) resolve(m[1]); });
});

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
// It waits 3 s first, so that both readers are following before the first line.
const script = 'sleep 3; for i in $(seq 1 50); do date +%s%3N; sleep 0.1; done';
const job = await (await fetch(`${base}/v1/jobs`, { method: 'POST', body: JSON.stringify({ steps: [{ shell: script }] }) })).json();

// SSE: a plain reader of the API's live events.
const sse = [];
const sseDone = (async () => {
  const response = await fetch(`${base}/v1/jobs/${job.id}/events`, { headers: { Accept: 'text/event-stream' } });
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    const now = Date.now();
    for (const m of decoder.decode(chunk, { stream: true }).matchAll(/"text":"(\d{13})\\n/g)) sse.push(now - Number(m[1]));
    if (sse.length >= 50) break;
  }
})();

await page.goto(`${base}/jobs/${job.id}`);
await page.waitForSelector('pre.output');
const ws = await page.evaluate(() => new Promise((resolve) => {
  const seen = [];
  const output = document.querySelector('pre.output');
  const note = () => {
    const now = Date.now();
    for (const line of output.textContent.split('\n').slice(seen.length).filter((l) => /^\d{13}$/.test(l))) seen.push(now - Number(line));
    if (seen.length >= 50) resolve(seen);
  };
  note();
  new MutationObserver(note).observe(output, { childList: true, subtree: true, characterData: true });
}));
await sseDone;

const stats = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
};
const a = stats(ws), b = stats(sse);
console.log('output line → seen (ms)     n    p50    p95    max');
console.log(`dashboard (WebSocket)   ${String(a.n).padStart(5)} ${String(a.p50).padStart(6)} ${String(a.p95).padStart(6)} ${String(a.max).padStart(6)}`);
console.log(`API client (SSE)        ${String(b.n).padStart(5)} ${String(b.p50).padStart(6)} ${String(b.p95).padStart(6)} ${String(b.max).padStart(6)}`);
console.log(`ratio dashboard/SSE: p50 ${(a.p50 / Math.max(1, b.p50)).toFixed(2)}, p95 ${(a.p95 / Math.max(1, b.p95)).toFixed(2)}`);
await browser.close();
serve.kill('SIGTERM');
await new Promise((resolve) => serve.on('exit', resolve));
fs.rmSync(dir, { recursive: true, force: true });
