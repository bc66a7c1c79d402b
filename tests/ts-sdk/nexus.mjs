// Usage: node nexus.mjs <host:port>. A Nexus operation between two namespaces: an endpoint made with OperatorService
// that targets namespace 'other' and lets 'default' call it (Bastion's allowed-caller policy, set with the Cloud Ops
// API), a handler worker in 'other' with a sync and a workflow-run-backed operation, and a caller workflow in
// 'default'. Prints one JSON line; exits non-zero on failure.
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as nexus from 'nexus-rpc';
import * as temporalNexus from '@temporalio/nexus';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const { greetingService } = createRequire(import.meta.url)('./nexus-service.cjs');
const address = process.argv[2];
const workflowsPath = fileURLToPath(new URL('./nexus-workflows.cjs', import.meta.url));
const handlerQueue = `ts-nexus-handler-${randomUUID()}`;
const callerQueue = `ts-nexus-caller-${randomUUID()}`;
const endpointName = `ts-nexus-${randomUUID()}`;

const connection = await Connection.connect({ address });
const { endpoint } = await connection.operatorService.createNexusEndpoint({
  spec: { name: endpointName, target: { worker: { namespace: 'other', taskQueue: handlerQueue } } },
});

// OperatorService's spec has no caller allowlist, so the endpoint allows only its target namespace: add 'default'
// through the Cloud Ops API on the same connection (the SDK exposes no CloudService client of its own).
const cloud = protos.temporal.api.cloud.cloudservice.v1.CloudService.create(
  Connection.generateRPCImplementation({
    serviceName: 'temporal.api.cloud.cloudservice.v1.CloudService',
    client: connection.client,
    callContextStorage: connection.callContextStorage,
    staticMetadata: {},
    apiKeyFnRef: {},
  }),
  false,
  false,
);
const { endpoint: cloudEndpoint } = await cloud.getNexusEndpoint({ endpointId: endpoint.id });
await cloud.updateNexusEndpoint({
  endpointId: endpoint.id,
  resourceVersion: cloudEndpoint.resourceVersion,
  spec: {
    ...cloudEndpoint.spec,
    policySpecs: [
      ...(cloudEndpoint.spec.policySpecs ?? []),
      { allowedCloudNamespacePolicySpec: { namespaceId: 'default' } },
    ],
  },
});

const handlers = nexus.serviceHandler(greetingService, {
  hello: async (_ctx, name) => `Hello, ${name}!`,
  greetLater: new temporalNexus.WorkflowRunOperationHandler((ctx, name) =>
    temporalNexus.startWorkflow(ctx, 'nexusGreeter', { workflowId: `ts-nexus-run-${randomUUID()}`, args: [name] }),
  ),
});

const workerConnection = await NativeConnection.connect({ address });
const handlerWorker = await Worker.create({
  connection: workerConnection,
  namespace: 'other',
  taskQueue: handlerQueue,
  workflowsPath,
  nexusServices: [handlers],
});
const callerWorker = await Worker.create({ connection: workerConnection, namespace: 'default', taskQueue: callerQueue, workflowsPath });
const client = new Client({ connection, namespace: 'default' });

const outcome = await handlerWorker.runUntil(
  callerWorker.runUntil(async () => {
    const handle = await client.workflow.start('nexusCaller', {
      taskQueue: callerQueue,
      workflowId: `ts-nexus-${randomUUID()}`,
      args: [endpointName, 'TypeScript'],
    });
    const result = await handle.result();
    return { endpointId: endpoint.id, ...result };
  }),
);
console.log(JSON.stringify(outcome));
const { endpoint: current } = await connection.operatorService.getNexusEndpoint({ id: endpoint.id });
await connection.operatorService.deleteNexusEndpoint({ id: endpoint.id, version: current.version });
await connection.close();
await workerConnection.close();
