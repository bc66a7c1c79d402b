import { error, redirect } from '@sveltejs/kit';
import { routeForCallStack, routeForEventHistory } from '@temporalio/ui/utilities/route-for';

import { runTabs } from './run-tabs.js';

/** The run's tabs as the header links them; older names redirect as Temporal's UI does; anything else is a 404. */
export function load({ params }) {
  const { namespace, workflow, run, tab } = params;
  if (tab === 'stack-trace') {
    redirect(302, routeForCallStack({ namespace, workflow, run }));
  }

  if (['json', 'feed', 'compact'].includes(tab)) {
    redirect(302, routeForEventHistory({ namespace, workflow, run }));
  }

  if (!(tab in runTabs)) {
    error(404, `This version of Bastion's UI has no "${tab}" view of a workflow.`);
  }

  return { tab };
}
