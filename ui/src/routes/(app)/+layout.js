import '../../app.css';

import { redirect } from '@sveltejs/kit';
import { fetchCluster, fetchSystemInfo } from '@temporalio/ui/services/cluster-service';
import { fetchNamespaces } from '@temporalio/ui/services/namespaces-service';
import { fetchSettings } from '@temporalio/ui/services/settings-service';

import { fetchSession, signInRoute } from '$lib/session.js';

/**
 * What every page needs: Bastion's UI settings (GET /api/v1/settings), who is signed in (server start; nobody needs to
 * in start-dev), the cluster and system info, and the namespaces (filled into the package's `namespaces` store in the
 * background, as the pages read them from there).
 */
export async function load({ fetch, url }) {
  const settings = await fetchSettings(fetch);
  let session = null;
  if (settings.auth?.enabled) {
    session = await fetchSession(fetch);
    if (!session) redirect(302, signInRoute(url.pathname + url.search));
    // The server's default namespace may not be one this person can read: then their first one.
    const names = session.namespaces.map((n) => n.name);
    if (!names.includes(settings.defaultNamespace) && names.length > 0) settings.defaultNamespace = names[0];
  }

  fetchNamespaces(settings, fetch);
  const [cluster, systemInfo] = await Promise.all([fetchCluster(settings, fetch), fetchSystemInfo(settings, fetch)]);
  return { settings, session, cluster, systemInfo };
}
