// Warden's MCP server driven by the official TypeScript SDK client, over stdio (`warden mcp`) and
// Streamable HTTP (`warden serve`'s /mcp). Run by CTest as mcp_sdk_test.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules', '@modelcontextprotocol', 'sdk'))) {
  console.error(`${here}/node_modules is missing: run scripts/setup.sh (npm ci in tests/mcp_sdk)`);
  process.exit(1);
}
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
const { StreamableHTTPClientTransport } =
  await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
const h = await import('./harness.mjs');

const TOOLS = ['sandbox_create', 'sandbox_destroy', 'sandbox_list_files', 'sandbox_read_file',
  'sandbox_run', 'sandbox_write_file'];

// The same checks over both transports; `connect()` resolves to a connected Client. `extra`: the
// tools beyond the sandbox's that the transport lists.
function toolSuite(connect, extra = []) {
  let client;
  before(async () => { client = await connect(); });
  after(async () => { await client.close(); });

  test('lists the six sandbox tools with their annotations', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...extra, ...TOOLS].sort());
    const read = tools.find((t) => t.name === 'sandbox_read_file');
    assert.equal(read.annotations.readOnlyHint, true);
    assert.equal(tools.find((t) => t.name === 'sandbox_run').annotations.openWorldHint, false);
  });

  test('runs python and returns structured content that matches the output schema', async () => {
    // callTool checks structuredContent against the tool's outputSchema itself.
    const result = await client.callTool({ name: 'sandbox_run', arguments: { code: 'print(6 * 7)' } });
    assert.equal(result.isError, false);
    assert.equal(result.structuredContent.stdout, '42\n');
    assert.equal(result.structuredContent.exit_code, 0);
    assert.equal(result.structuredContent.status, 'exited');
    assert.match(result.content[0].text, /exited with code 0/);
  });

  test('keeps files across calls in one sandbox and reports what changed', async () => {
    const first = await client.callTool({ name: 'sandbox_run',
      arguments: { language: 'bash', code: 'echo kept > state.txt' } });
    const id = first.structuredContent.sandbox_id;
    assert.deepEqual(first.structuredContent.changed_files.map((f) => f.path), ['state.txt']);
    assert.match(first.structuredContent.changed_files[0].sha256, /^[0-9a-f]{64}$/);
    const second = await client.callTool({ name: 'sandbox_run',
      arguments: { sandbox_id: id, command: ['cat', 'state.txt'] } });
    assert.equal(second.structuredContent.stdout, 'kept\n');
  });

  test('round-trips text and binary files', async () => {
    const created = await client.callTool({ name: 'sandbox_create', arguments: {} });
    const id = created.structuredContent.sandbox_id;
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await client.callTool({ name: 'sandbox_write_file',
      arguments: { sandbox_id: id, path: 'bin/data.bin', content: bytes.toString('base64'), encoding: 'base64' } });
    await client.callTool({ name: 'sandbox_write_file',
      arguments: { sandbox_id: id, path: 'notes.txt', content: 'ünïcode\n' } });
    const bin = await client.callTool({ name: 'sandbox_read_file', arguments: { sandbox_id: id, path: 'bin/data.bin' } });
    assert.equal(bin.structuredContent.encoding, 'base64');
    assert.deepEqual(Buffer.from(bin.structuredContent.content, 'base64'), bytes);
    const text = await client.callTool({ name: 'sandbox_read_file', arguments: { sandbox_id: id, path: 'notes.txt' } });
    assert.equal(text.structuredContent.content, 'ünïcode\n');
    const listed = await client.callTool({ name: 'sandbox_list_files', arguments: { sandbox_id: id } });
    assert.deepEqual(listed.structuredContent.files.map((f) => f.path), ['bin/data.bin', 'notes.txt']);
    const destroyed = await client.callTool({ name: 'sandbox_destroy', arguments: { sandbox_id: id } });
    assert.equal(destroyed.isError, false);
    const gone = await client.callTool({ name: 'sandbox_list_files', arguments: { sandbox_id: id } });
    assert.equal(gone.isError, true);
  });

  test('a bad call is a tool error that says what to do', async () => {
    const result = await client.callTool({ name: 'sandbox_run', arguments: { code: 'x', language: 'ruby' } });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /python or bash/);
  });
}

describe('stdio (warden mcp)', () => {
  const tmpdir = h.privateDir('warden-mcp-stdio-');
  toolSuite(async () => {
    const transport = new StdioClientTransport({ command: h.WARDEN, args: ['mcp'],
      env: { PATH: process.env.PATH, TMPDIR: tmpdir }, stderr: 'ignore' });
    const client = new Client({ name: 'warden-test', version: '1.0.0' });
    await client.connect(transport);
    return client;
  });

  test('a client killed mid-call leaves no process, cgroup, mount or workspace behind', async () => {
    const dir = h.privateDir('warden-mcp-killed-');
    const marker = `warden-mcp-marker-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, [path.join(here, 'killed_client.mjs'), h.WARDEN, dir, marker],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/pid (\d+)/);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`the client exited early (${code})`)));
    });
    await h.waitFor('the sandboxed program', () => h.processesWith(marker).length > 0);
    assert.ok(fs.readdirSync(dir).length > 0, 'warden mcp keeps its sandboxes in TMPDIR');
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    await h.waitFor('warden mcp to exit', () => !h.alive(pid));
    assert.deepEqual(h.processesWith(marker), []);
    assert.deepEqual(h.cgroupsOf(pid), []);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.deepEqual(h.mountsMentioning(dir), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('takes its limits from the [mcp] section of the configuration file; its flags win', async () => {
    const config = path.join(tmpdir, 'config.toml');
    fs.writeFileSync(config, '[mcp]\ntimeout = "1s"\nmemory = "64M"\n');
    const run = async (args) => {
      const transport = new StdioClientTransport({ command: h.WARDEN, args: ['mcp', '--config', config, ...args],
        env: { PATH: process.env.PATH, TMPDIR: tmpdir }, stderr: 'ignore' });
      const client = new Client({ name: 'warden-test', version: '1.0.0' });
      await client.connect(transport);
      const result = await client.callTool({ name: 'sandbox_run',
        arguments: { language: 'bash', code: 'sleep 3; echo slept' } });
      await client.close();
      return result.structuredContent;
    };
    assert.equal((await run([])).status, 'timeout');
    const longer = await run(['--timeout', '10s']);
    assert.equal(longer.status, 'exited');
    assert.equal(longer.stdout, 'slept\n');
    fs.writeFileSync(config, '[mcp]\nmemroy = "64M"\n');
    const refused = spawnSync(h.WARDEN, ['mcp', '--config', config], { input: '', encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /unknown key "mcp.memroy" \(did you mean "mcp.memory"\?\)/);
  });

  after(() => fs.rmSync(tmpdir, { recursive: true, force: true }));
});

describe('Streamable HTTP (warden serve /mcp)', () => {
  const ALICE = 'alice-key-0123456789abcdef';
  const BOB = 'bob-key-0123456789abcdef';
  let serve;
  const connect = async (key) => {
    const transport = new StreamableHTTPClientTransport(new URL(serve.url),
      key ? { requestInit: { headers: { Authorization: `Bearer ${key}` } } } : {});
    const client = new Client({ name: 'warden-test', version: '1.0.0' });
    await client.connect(transport);
    return client;
  };
  let llm;
  before(async () => {
    llm = await h.startFakeLlm([
      { text: '1. Write out.txt' },
      { tool: 'run_shell', args: { command: 'sleep 1; echo made > out.txt' } },
      { tool: 'finish', args: { summary: 'wrote out.txt' } },
    ]);
    serve = await h.startServe(`alice:${ALICE},bob:${BOB}`, llm.config);
  });
  after(async () => { await serve.stop(); await llm.close(); });

  describe('with a key', () => toolSuite(() => connect(ALICE), ['agent_task', 'agent_task_approve', 'agent_task_status']));

  test("the agent runs a task as the key's job, with progress, and links its files", async () => {
    const alice = await connect(ALICE);
    const progress = [];
    const result = await alice.callTool({ name: 'agent_task', arguments: { task: 'write out.txt' } },
      undefined, { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true });
    assert.equal(result.isError, false, JSON.stringify(result));
    assert.equal(result.structuredContent.state, 'succeeded');
    assert.equal(result.structuredContent.summary, 'wrote out.txt');
    assert.ok(progress.some((p) => /step 1: run_shell: sleep 1; echo made > out.txt/.test(p.message)),
      JSON.stringify(progress));
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
    const link = result.content.find((c) => c.type === 'resource_link');
    assert.equal(link.name, 'out.txt');
    const file = await fetch(link.uri, { headers: { Authorization: `Bearer ${ALICE}` } });
    assert.equal(await file.text(), 'made\n');
    const forBob = await fetch(link.uri, { headers: { Authorization: `Bearer ${BOB}` } });
    assert.equal(forBob.status, 404);
    await alice.close();
  });

  test('the agent runs as an MCP task: created at once, polled, its result collected', async () => {
    llm.script([
      { text: '1. Write task.txt' },
      { tool: 'run_shell', args: { command: 'echo tasked > task.txt' } },
      { tool: 'finish', args: { summary: 'wrote task.txt' } },
    ]);
    const alice = await connect(ALICE);
    await alice.listTools();  // how the client learns which tools run as tasks
    const seen = [];
    for await (const message of alice.experimental.tasks.callToolStream(
      { name: 'agent_task', arguments: { task: 'write task.txt' } })) {
      seen.push(message);
    }
    assert.equal(seen[0].type, 'taskCreated', JSON.stringify(seen));
    const taskId = seen[0].task.taskId;
    assert.match(taskId, /^j_/);
    const result = seen.at(-1);
    assert.equal(result.type, 'result', JSON.stringify(seen));
    assert.equal(result.result.structuredContent.state, 'succeeded');
    assert.equal(result.result.structuredContent.job_id, taskId);
    assert.equal((await alice.experimental.tasks.getTask(taskId)).status, 'completed');
    // The task is the job: the REST API shows it to its key, and only to it.
    const job = await fetch(`${serve.url.replace(/\/mcp$/, '')}/v1/jobs/${taskId}`,
      { headers: { Authorization: `Bearer ${ALICE}` } });
    assert.equal((await job.json()).state, 'succeeded');
    const bob = await connect(BOB);
    await assert.rejects(bob.experimental.tasks.getTask(taskId), /no job/);
    await assert.rejects(alice.experimental.tasks.cancelTask(taskId), /already ended/);
    await bob.close();
    await alice.close();
  });

  test('refuses a client without a key or with a wrong one', async () => {
    await assert.rejects(connect(undefined), /401|nauthorized/);
    await assert.rejects(connect('wrong-key-0123456789abcdef'), /401|nauthorized/);
  });

  test("one key's sandboxes are invisible to another", async () => {
    const alice = await connect(ALICE);
    const bob = await connect(BOB);
    const made = await alice.callTool({ name: 'sandbox_create', arguments: {} });
    const peek = await bob.callTool({ name: 'sandbox_list_files',
      arguments: { sandbox_id: made.structuredContent.sandbox_id } });
    assert.equal(peek.isError, true);
    await alice.close();
    await bob.close();
  });

  test('refuses a foreign Origin', async () => {
    const response = await fetch(serve.url, { method: 'POST',
      headers: { Authorization: `Bearer ${ALICE}`, Origin: 'http://attacker.example',
                 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
                             params: { protocolVersion: '2025-06-18', capabilities: {},
                                       clientInfo: { name: 'x', version: '1' } } }) });
    assert.equal(response.status, 403);
  });

  test('a request without a session is refused saying to initialize', async () => {
    const response = await fetch(serve.url, { method: 'POST',
      headers: { Authorization: `Bearer ${ALICE}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    assert.equal(response.status, 400);
    assert.match((await response.json()).error.message, /initialize/);
  });
});

// The MCP Inspector's CLI mode, as a developer would point it at Warden.
describe('MCP Inspector (--cli)', () => {
  const inspector = path.join(here, 'node_modules/@modelcontextprotocol/inspector/cli/build/cli.js');
  const tmpdir = h.privateDir('warden-mcp-inspector-');
  const inspect = (args) => {
    const run = spawnSync(process.execPath, [inspector, '--cli', ...args],
      { encoding: 'utf8', env: { PATH: process.env.PATH, TMPDIR: tmpdir }, timeout: 60000 });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout);
  };

  test('lists the tools and runs code over stdio', () => {
    const { tools } = inspect([h.WARDEN, 'mcp', '--method', 'tools/list']);
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    const result = inspect([h.WARDEN, 'mcp', '--method', 'tools/call', '--tool-name', 'sandbox_run',
      '--tool-arg', 'code=print(6*7)']);
    assert.equal(result.isError, false);
    assert.equal(result.structuredContent.stdout, '42\n');
  });

  test('lists the tools over Streamable HTTP with a key, and is refused without one', async () => {
    const KEY = 'inspector-key-0123456789abcdef';
    const serve = await h.startServe(`inspector:${KEY}`);
    try {
      const { tools } = inspect([serve.url, '--transport', 'http', '--header', `Authorization: Bearer ${KEY}`,
        '--method', 'tools/list']);
      assert.ok(tools.some((t) => t.name === 'agent_task'));
      const refused = spawnSync(process.execPath, [inspector, '--cli', serve.url, '--transport', 'http',
        '--method', 'tools/list'], { encoding: 'utf8', timeout: 60000 });
      assert.notEqual(refused.status, 0);
    } finally {
      await serve.stop();
    }
  });

  after(() => fs.rmSync(tmpdir, { recursive: true, force: true }));
});
