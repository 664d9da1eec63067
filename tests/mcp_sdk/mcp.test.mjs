// Warden's MCP server driven by the official TypeScript SDK client, over stdio (`warden mcp`) and
// Streamable HTTP (`warden serve`'s /mcp). Run by CTest as mcp_sdk_test.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
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

// The same checks over both transports; `connect()` resolves to a connected Client.
function toolSuite(connect) {
  let client;
  before(async () => { client = await connect(); });
  after(async () => { await client.close(); });

  test('lists the six sandbox tools with their annotations', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
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
  before(async () => { serve = await h.startServe(`alice:${ALICE},bob:${BOB}`); });
  after(async () => { await serve.stop(); });

  describe('with a key', () => toolSuite(() => connect(ALICE)));

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
