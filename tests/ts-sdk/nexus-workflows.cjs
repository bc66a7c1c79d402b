// Workflow code for the TypeScript SDK's Nexus check (nexus.mjs): the caller in one namespace, the run behind the
// async operation in the other.
const { createNexusServiceClient } = require('@temporalio/workflow');
const { greetingService } = require('./nexus-service.cjs');

// Calls both operations of the endpoint; returns what each answered and whether the async one had a token.
async function nexusCaller(endpoint, name) {
  const client = createNexusServiceClient({ endpoint, service: greetingService });
  const sync = await client.executeOperation('hello', name, { scheduleToCloseTimeout: '30 seconds' });
  const handle = await client.startOperation('greetLater', name, { scheduleToCloseTimeout: '30 seconds' });
  const asyncResult = await handle.result();
  return { sync, async: asyncResult, asyncToken: typeof handle.token === 'string' && handle.token.length > 0 };
}

// The handler namespace's run behind 'greetLater'.
async function nexusGreeter(name) {
  return `Later, ${name}!`;
}

module.exports = { nexusCaller, nexusGreeter };
