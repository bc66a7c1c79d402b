// The Nexus service both sides of nexus.mjs share: the caller's workflow names it, the handler worker implements it.
const nexus = require('nexus-rpc');

const greetingService = nexus.service('greeting', {
  hello: nexus.operation(), // answered synchronously by the handler
  greetLater: nexus.operation(), // backed by a workflow run in the handler's namespace
});

module.exports = { greetingService };
