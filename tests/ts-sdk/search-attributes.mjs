// Usage: node search-attributes.mjs <host:port>. What a new TypeScript user tries first with search attributes and
// queries: a Keyword attribute in the untyped list form at start, an upsert read back with describe, and a query
// sent before any worker ran the workflow. Prints one JSON line; exits non-zero on failure.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const address = process.argv[2];
const attribute = 'TsKeyword';
const taskQueue = `ts-${randomUUID()}`;
const connection = await Connection.connect({ address });
const client = new Client({ connection, namespace: 'default' });
await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: { [attribute]: 2 } }); // INDEXED_VALUE_TYPE_KEYWORD

// Started (list form) with no worker yet: the query waits for the first workflow task and rides it.
const handle = await client.workflow.start('tagger', {
  taskQueue,
  workflowId: `ts-${randomUUID()}`,
  args: [attribute],
  searchAttributes: { [attribute]: ['started'] },
});
const startedWith = (await handle.describe()).searchAttributes[attribute];
const earlyQuery = handle.query('state');

const workerConnection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection: workerConnection,
  namespace: 'default',
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.cjs', import.meta.url)),
});
const outcome = await worker.runUntil(async () => {
  const queried = await earlyQuery;
  let upserted;
  for (let i = 0; i < 100 && upserted?.[0] !== 'upserted'; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    upserted = (await handle.describe()).searchAttributes[attribute];
  }
  await handle.signal('finish');
  const result = await handle.result();
  return { startedWith, queried, upserted, result };
});
console.log(JSON.stringify(outcome));
await connection.close();
await workerConnection.close();
