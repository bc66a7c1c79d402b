// Workflow code for the TypeScript SDK check: an activity, a signal and a query.
const { proxyActivities, defineSignal, defineQuery, setHandler, condition } = require('@temporalio/workflow');

const { greet } = proxyActivities({ startToCloseTimeout: '10 seconds' });
const finish = defineSignal('finish');
const state = defineQuery('state');

async function greeter(name) {
  let greeting = 'pending';
  let farewell;
  setHandler(state, () => greeting);
  setHandler(finish, (value) => { farewell = value; });
  greeting = await greet(name);
  await condition(() => farewell !== undefined);
  return `${greeting} ${farewell}`;
}

module.exports = { greeter };
