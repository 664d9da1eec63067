// The web dashboard in a real Chromium (Debian's, driven by playwright-core) against the real
// `warden serve` with real sandboxes and the fake LLM (tests/fake_llm_main.cc). One server, one
// browser for the whole file. Run by CTest as dashboard_test. With SCREENSHOT_DIR set, it saves
// screenshots of the main pages there (scripts/dashboard_screenshots.sh).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
  console.error(`${here}/node_modules is missing: run scripts/setup.sh (npm ci in tests/dashboard)`);
  process.exit(1);
}
const { chromium } = await import('playwright-core');
const { WARDEN_BINARY, FAKE_LLM_BINARY, SCREENSHOT_DIR } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef0';

let dir, serve, fake, browser, base, alice;

function lines(child, onLine) {
  let buffered = '';
  child.stdout.on('data', (data) => {
    buffered += data;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  });
}

function started(child, pattern, what) {
  let stderr = '';
  child.stderr.on('data', (data) => { stderr += data; });
  return new Promise((resolve, reject) => {
    lines(child, (line) => { const m = line.match(pattern); if (m) resolve(m[1]); });
    child.on('exit', (code) => reject(new Error(`${what} exited ${code}: ${stderr}`)));
  });
}

async function apiAs(key, route, options = {}) {
  const response = await fetch(base + route, {
    method: options.method || 'GET',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const body = await response.json();
  assert.ok(response.ok, `${route}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function waitForJob(id, predicate) {
  for (;;) {
    const job = await apiAs(ALICE, `/v1/jobs/${id}`);
    if (predicate(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function screenshot(page, name) {
  if (SCREENSHOT_DIR) await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dashboard-'));
  fake = spawn(FAKE_LLM_BINARY, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const llm = await started(fake, /^base_url (\S+)/, 'fake_llm_server');
  fs.mkdirSync(path.join(dir, 'home'));
  fs.writeFileSync(path.join(dir, 'config.toml'),
    `[llm]\nprovider = "openai-compatible"\nbase_url = "${llm}"\nmodel = "fake-model"\n` +
    'retry_base_ms = 20\nmax_retries = 1\n');
  serve = spawn(WARDEN_BINARY, ['serve', '--listen', '127.0.0.1:0', '--workers', '2',
    '--data-dir', path.join(dir, 'data')], {
    env: { PATH: process.env.PATH, HOME: path.join(dir, 'home'),
      WARDEN_CONFIG: path.join(dir, 'config.toml'), WARDEN_API_KEYS: `alice:${ALICE},bob:${BOB}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await started(serve, /listening on (http:\/\/\S+)/, 'warden serve');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  // A tab that holds alice's key already, as after the prompt.
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 800 } });
  await context.addInitScript((k) => sessionStorage.setItem('warden.key', k), ALICE);
  alice = await context.newPage();
});

after(async () => {
  await browser?.close();
  serve?.kill('SIGTERM');
  fake?.stdin.end();
  await Promise.all([serve, fake].filter(Boolean).map((child) =>
    new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve)))));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('asks for the API key, refuses a wrong one and shows only the jobs of the right one', async () => {
  await apiAs(BOB, '/v1/jobs', { method: 'POST', body: { steps: [{ shell: 'true' }] } });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.getByLabel('Key').fill('not-a-key-of-this-server');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('the API key is not valid').waitFor();
  await page.getByLabel('Key').fill(ALICE);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  await page.locator('#live[data-state="live"]').waitFor();
  await page.getByText('No jobs yet').waitFor();  // bob's job is not alice's to see
  assert.equal(await page.evaluate(() => sessionStorage.getItem('warden.key')), ALICE);
  await context.close();
});

test('a task submitted through the form shows its plan and its coloured output live', async () => {
  for (const reply of [
    { text: '1. Print a greeting in colour\n2. Finish' },
    { tool: 'run_shell', arguments: { command: "printf '\\033[31mred alert\\033[0m <b>plain</b>\\n'; echo second line" } },
    { tool: 'finish', arguments: { summary: 'printed the greeting' } },
  ]) fake.stdin.write(JSON.stringify(reply) + '\n');
  await alice.goto(base + '/new');
  await alice.getByRole('textbox', { name: 'Task' }).fill('print a greeting in colour');
  await screenshot(alice, 'new-job');
  await alice.getByRole('button', { name: 'Submit' }).click();
  await alice.getByRole('heading', { name: /^Job / }).waitFor();
  await alice.locator('.plan li', { hasText: 'Print a greeting in colour' }).waitFor();
  const output = alice.locator('pre.output').first();
  await output.locator('span.ansi-fg1', { hasText: 'red alert' }).waitFor();
  await output.getByText('second line').waitFor();
  assert.match(await output.textContent(), /<b>plain<\/b>/);  // shown as text, never as markup
  assert.equal(await output.locator('b').count(), 0);
  // The command is coloured: its quoted string and its keyword are spans of their own.
  const command = alice.locator('pre.code.lang-shell').first();
  await command.locator('span.tok-string', { hasText: "'\\033[31mred alert" }).waitFor();
  await command.locator('span.tok-keyword', { hasText: 'echo' }).waitFor();
  assert.equal(await command.textContent(), "printf '\\033[31mred alert\\033[0m <b>plain</b>\\n'; echo second line");
  await alice.getByText('printed the greeting').first().waitFor();
  await alice.locator('.badge', { hasText: 'succeeded' }).waitFor();
  await screenshot(alice, 'job');
});

test("a step job's files are previewed and the ZIP of them downloads and unpacks", async () => {
  const job = await apiAs(ALICE, '/v1/jobs', { method: 'POST', body: { steps: [
    { write_file: { path: 'data.csv', content: 'name,size\n"a, b",2\n' } },
    { write_file: { path: 'docs/README.md', content: '# Report\n\n**done** <img src=x onerror=alert(1)>\n' } },
    { shell: 'printf x > notes.txt' },
  ] } });
  await alice.goto(`${base}/jobs/${job.id}`);
  await alice.getByRole('button', { name: 'data.csv', exact: true }).click();
  await alice.locator('table.csv td', { hasText: 'a, b' }).waitFor();
  assert.equal(await alice.locator('table.csv th').first().textContent(), 'name');
  await alice.getByRole('button', { name: 'docs/README.md', exact: true }).click();
  await alice.locator('.markdown strong', { hasText: 'done' }).waitFor();
  assert.equal(await alice.locator('.markdown img').count(), 0);
  await screenshot(alice, 'files');
  const [download] = await Promise.all([
    alice.waitForEvent('download'),
    alice.getByRole('button', { name: 'Download all (ZIP)' }).click(),
  ]);
  const zip = path.join(dir, 'files.zip');
  await download.saveAs(zip);
  const listing = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').sort();
  assert.deepEqual(listing.filter(Boolean), ['data.csv', 'docs/README.md', 'notes.txt']);
  assert.equal(execFileSync('unzip', ['-p', zip, 'notes.txt'], { encoding: 'utf8' }), 'x');
});

test('cancel through the dialog while output keeps arriving, then retry links parent and child', async () => {
  const job = await apiAs(ALICE, '/v1/jobs', { method: 'POST', body: { steps: [
    { shell: 'i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo tick $i; sleep 0.05; done' },
  ] } });
  await alice.goto(`${base}/jobs/${job.id}`);
  const output = alice.locator('pre.output').first();
  await output.getByText('tick 3', { exact: false }).waitFor();
  await alice.getByRole('button', { name: 'Cancel', exact: true }).click();
  const dialog = alice.getByRole('dialog', { name: 'Cancel this job?' });
  await dialog.waitFor();
  const seen = (await output.textContent()).split('tick').length;
  await alice.waitForFunction(
    (n) => document.querySelector('pre.output').textContent.split('tick').length > n + 5, seen);
  assert.ok(await dialog.isVisible(), 'the dialog stays open while output arrives underneath');
  await dialog.getByRole('button', { name: 'Cancel job' }).click();
  await alice.locator('.badge', { hasText: 'cancelled' }).waitFor();
  assert.equal((await apiAs(ALICE, `/v1/jobs/${job.id}`)).state, 'cancelled');

  await alice.getByRole('button', { name: 'Retry' }).click();
  await alice.getByRole('dialog', { name: 'Retry this job?' }).getByRole('button', { name: 'Retry' }).click();
  await alice.getByText('Retry of').waitFor();
  const child = alice.url().split('/jobs/')[1];
  assert.notEqual(child, job.id);
  assert.equal((await apiAs(ALICE, `/v1/jobs/${child}`)).parent_id, job.id);
  await apiAs(ALICE, `/v1/jobs/${child}/cancel`, { method: 'POST' });
});

test('a risky action waits on the job page: Approve runs it, Deny with a reason skips it', async () => {
  for (const reply of [
    { text: '1. Clean up\n2. Install a tool' },
    { tool: 'run_shell', arguments: { command: 'mkdir -p scratch && rm -rf scratch && echo cleaned > cleaned.txt' } },
    { tool: 'run_shell', arguments: { command: 'pip install leftpad > installed.txt' } },
    { tool: 'finish', arguments: { summary: 'cleaned up; the install was denied' } },
  ]) fake.stdin.write(JSON.stringify(reply) + '\n');
  const job = await apiAs(ALICE, '/v1/jobs', { method: 'POST', body: { task: 'clean up, then install leftpad' } });
  await alice.goto(`${base}/jobs/${job.id}`);
  const first = alice.locator('.approval-request', { hasText: 'Needs approval: it deletes recursively' });
  await first.waitFor();
  assert.match(await first.locator('pre.code').textContent(), /rm -rf scratch/);
  assert.equal((await apiAs(ALICE, `/v1/jobs/${job.id}`)).state, 'running');
  await screenshot(alice, 'approval');
  await first.getByRole('button', { name: 'Approve', exact: true }).click();
  await first.getByText('Approved by alice').waitFor();

  const second = alice.locator('.approval-request', { hasText: 'Needs approval: it installs software' });
  await second.waitFor();
  await second.getByLabel('Reason for a denial (optional)').fill('no new packages today');
  await second.getByRole('button', { name: 'Deny' }).click();
  await second.getByText('Denied by alice: no new packages today').waitFor();
  await alice.getByText('cleaned up; the install was denied').first().waitFor();

  const approvals = await apiAs(ALICE, `/v1/jobs/${job.id}/approvals`);
  assert.deepEqual(approvals.approvals.map((a) => a.state), ['approved', 'denied']);
  const files = await apiAs(ALICE, `/v1/jobs/${job.id}/files`);
  const names = files.files.map((f) => f.path);
  assert.ok(names.includes('cleaned.txt'), JSON.stringify(names));
  assert.ok(!names.includes('installed.txt'), JSON.stringify(names));
});

test("a session's second message uses the file its first one wrote", async () => {
  const script = (reply) => fake.stdin.write(JSON.stringify(reply) + '\n');
  await alice.goto(base + '/sessions');
  await alice.getByRole('button', { name: 'Start a session' }).click();
  await alice.getByRole('heading', { name: /^Session / }).waitFor();
  for (const reply of [{ text: '1. Write the note' },
    { tool: 'write_file', arguments: { path: 'note.txt', content: 'kept between messages\n' } },
    { tool: 'finish', arguments: { summary: 'wrote note.txt' } }]) script(reply);
  await alice.getByLabel('Message').fill('write a note');
  await alice.getByRole('button', { name: 'Send' }).click();
  await alice.locator('.turn .reply', { hasText: 'wrote note.txt' }).waitFor();
  for (const reply of [{ text: '1. Read the note' },
    { tool: 'run_shell', arguments: { command: 'cat note.txt' } },
    { tool: 'finish', arguments: { summary: 'read the note' } }]) script(reply);
  await alice.getByLabel('Message').fill('read the note back');
  await alice.getByRole('button', { name: 'Send' }).click();
  const second = alice.locator('.turn').nth(1);
  await second.locator('pre.output', { hasText: 'kept between messages' }).waitFor();
  await second.locator('.reply', { hasText: 'read the note' }).waitFor();
  await screenshot(alice, 'session');
  await alice.reload();  // earlier turns are shown above, with their replies
  await alice.locator('.turn .reply', { hasText: 'wrote note.txt' }).waitFor();
  assert.equal(await alice.locator('.turn').count(), 2);

  // The sessions page lists it with its two turns, its last message and how that ended; the
  // session's link leads back to it.
  const id = alice.url().split('/sessions/')[1];
  await alice.getByRole('link', { name: 'Sessions' }).first().click();
  const row = alice.locator(`tr[data-session="${id}"]`);
  await row.waitFor();
  assert.equal((await row.locator('td').nth(1).textContent()).trim(), '2');
  assert.equal((await row.locator('td').nth(2).textContent()).trim(), 'read the note back');
  await row.locator('.badge', { hasText: 'succeeded' }).waitFor();
  await screenshot(alice, 'sessions');
  await row.getByRole('link', { name: id }).click();
  await alice.getByRole('heading', { name: /^Session / }).waitFor();
  assert.equal(await alice.locator('.turn').count(), 2);
  const bobs = await apiAs(BOB, '/v1/sessions');
  assert.ok(!bobs.sessions.some((s) => s.id === id), 'another key sees the session');
});

test('jobs are filtered by text and kind, each state shows its count, and failures are listed', async () => {
  const needle = await apiAs(ALICE, '/v1/jobs', { method: 'POST', body: { steps: [{ shell: 'echo Needle-42' }] } });
  const broken = await apiAs(ALICE, '/v1/jobs', { method: 'POST', body: { steps: [{ shell: 'exit 3' }] } });
  await waitForJob(needle.id, (j) => j.state === 'succeeded');
  await waitForJob(broken.id, (j) => j.state === 'failed');
  const counts = (await apiAs(ALICE, '/v1/jobs?counts=true&limit=1')).counts;
  await alice.goto(base + '/');
  await alice.getByRole('option', { name: `failed (${counts.failed})` }).waitFor({ state: 'attached' });
  await alice.getByRole('searchbox', { name: 'Search' }).fill('needle-42');
  await alice.getByRole('searchbox', { name: 'Search' }).press('Enter');
  await alice.waitForURL(/[?&]q=needle-42/);
  await alice.locator(`tr[data-job="${needle.id}"]`).waitFor();
  assert.equal(await alice.locator('table.jobs tbody tr').count(), 1);
  await alice.getByLabel('Kind').selectOption('task');
  await alice.getByText('No jobs match this view.').waitFor();
  assert.match(alice.url(), /kind=task/);
  await alice.goBack();  // the filters live in the URL: Back undoes the last one
  await alice.locator(`tr[data-job="${needle.id}"]`).waitFor();
  await alice.goto(base + '/server');
  const row = alice.locator(`#recent-errors tr[data-job="${broken.id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td').nth(2).textContent(), 'step_failed');
  assert.match(await row.locator('td').nth(3).textContent(), /^step 1 \(run_shell\) failed: exit code 3/);
});

test('the server page shows the queue, the workers and the jobs by state', async () => {
  await alice.goto(base + '/server');
  await alice.getByRole('table', { name: 'Now' }).getByRole('row', { name: /Queue depth/ }).waitFor();
  await alice.getByRole('table', { name: /Jobs by state/ }).getByRole('row', { name: /succeeded/ }).waitFor();
  await screenshot(alice, 'server');
});

test('twenty tabs open at once all stay live', async () => {
  const context = await browser.newContext();
  await context.addInitScript((k) => sessionStorage.setItem('warden.key', k), ALICE);
  const pages = await Promise.all(Array.from({ length: 20 }, () => context.newPage()));
  await Promise.all(pages.map((page) => page.goto(base + '/')));
  await Promise.all(pages.map((page) => page.locator('#live[data-state="live"]').waitFor()));
  const job = await apiAs(ALICE, '/v1/jobs', { method: 'POST', body: { steps: [{ shell: 'echo hi' }] } });
  await Promise.all(pages.map((page) => page.locator(`tr[data-job="${job.id}"]`).waitFor()));
  await waitForJob(job.id, (j) => j.state === 'succeeded');
  await Promise.all(pages.map((page) =>
    page.locator(`tr[data-job="${job.id}"] .badge`, { hasText: 'succeeded' }).waitFor()));
  await screenshot(pages[0], 'jobs');
  await context.close();
});
