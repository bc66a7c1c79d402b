// Workflow code for the TypeScript SDK check: an activity, a signal and a query; a search-attribute upsert.
const { proxyActivities, defineSignal, defineQuery, setHandler, condition, upsertSearchAttributes } = require('@temporalio/workflow');

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

// Upserts a Keyword attribute in the untyped list form, answers 'state', waits for 'finish'.
async function tagger(attribute) {
  let done = false;
  setHandler(state, () => 'tagged');
  setHandler(finish, () => { done = true; });
  upsertSearchAttributes({ [attribute]: ['upserted'] });
  await condition(() => done);
  return 'done';
}

module.exports = { greeter, tagger };
