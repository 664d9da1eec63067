// A client that starts a long call and waits to be killed: prints warden's pid, then calls.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [warden, tmpdir, marker] = process.argv.slice(2);
const transport = new StdioClientTransport({
  command: warden, args: ['mcp'], env: { PATH: process.env.PATH, TMPDIR: tmpdir }, stderr: 'inherit',
});
const client = new Client({ name: 'killed-client', version: '1.0.0' });
await client.connect(transport);
console.log(`pid ${transport.pid}`);
await client.callTool({ name: 'sandbox_run',
  arguments: { language: 'bash', code: `while true; do sleep 1; done # ${marker}` } }, undefined, { timeout: 600000 });
