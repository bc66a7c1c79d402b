// Usage: node run.mjs <host:port>. Prints one JSON line with what the TypeScript SDK saw; exits non-zero on failure.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const address = process.argv[2];
const taskQueue = `ts-${randomUUID()}`;
const workerConnection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection: workerConnection,
  namespace: 'default',
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.cjs', import.meta.url)),
  activities: { greet: async (name) => `Hello, ${name}!` },
});
const connection = await Connection.connect({ address });
const client = new Client({ connection, namespace: 'default' });

const outcome = await worker.runUntil(async () => {
  const handle = await client.workflow.start('greeter', { taskQueue, workflowId: `ts-${randomUUID()}`, args: ['TypeScript'] });
  let queried = 'pending';
  for (let i = 0; i < 100 && queried === 'pending'; i++) {
    queried = await handle.query('state');
    if (queried === 'pending') await new Promise((r) => setTimeout(r, 100));
  }
  await handle.signal('finish', 'Bye.');
  const result = await handle.result();
  const description = await handle.describe();
  return { result, queried, status: description.status.name };
});
console.log(JSON.stringify(outcome));
await connection.close();
await workerConnection.close();
