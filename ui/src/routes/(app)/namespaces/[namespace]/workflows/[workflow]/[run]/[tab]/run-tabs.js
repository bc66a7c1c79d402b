import WorkflowRelationships from '@temporalio/ui/components/workflow/workflow-relationships.svelte';
import WorkflowCallStack from '@temporalio/ui/pages/workflow-call-stack.svelte';
import WorkflowMetadata from '@temporalio/ui/pages/workflow-metadata.svelte';
import WorkflowPendingActivities from '@temporalio/ui/pages/workflow-pending-activities.svelte';
import WorkflowQuery from '@temporalio/ui/pages/workflow-query.svelte';
import WorkflowWorkers from '@temporalio/ui/pages/workflow-workers.svelte';

const none = () => ({});

/**
 * A run's tabs besides its history, by the path segment the run header links: the page component, its props
 * from the loaded run (the package's `workflowRun` store), whether it sits in the padded layout, and its title key.
 */
export const runTabs = {
  'pending-activities': { component: WorkflowPendingActivities, props: none, padded: true, title: 'workflows.pending-activities-tab' },
  'call-stack': { component: WorkflowCallStack, props: none, padded: true, title: 'workflows.call-stack-tab' },
  query: { component: WorkflowQuery, props: none, padded: true, title: 'workflows.queries-tab' },
  metadata: { component: WorkflowMetadata, props: none, padded: true, title: 'workflows.metadata-tab' },
  relationships: { component: WorkflowRelationships, props: none, padded: false, title: 'workflows.relationships' },
  workers: {
    component: WorkflowWorkers,
    props: (run) => ({ workers: run.workers, taskQueue: run.workflow?.taskQueue }),
    padded: true,
    title: 'workflows.workers-tab',
  },
};
