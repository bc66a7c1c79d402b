// The account pages' client of Bastion's Cloud Ops API on this origin (`/cloud/...`, protojson): the same routes and
// security pipeline as the gRPC CloudService, with the session's principal. Writes carry the UI's `Caller-Type`
// header (start-dev refuses a write without it) and the session's CSRF token (server start refuses one without it).

import { csrfToken, signInRoute } from '$lib/session.js';

/** A refused or failed call: the server's google.rpc.Status message, its gRPC code and HTTP status. */
export class CloudError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Calls `path` (e.g. `/cloud/namespaces`); `query` values that are empty are left out. The parsed JSON response. */
export async function cloud(path, { method = 'GET', body, query } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
  }

  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    headers['Caller-Type'] = 'operator';
    headers['X-CSRF-TOKEN'] = csrfToken();
  }

  const response = await fetch(url.pathname + url.search, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (response.status === 401) {
    // The session ended (timeout, sign-out elsewhere): sign in again and come back here.
    window.location.assign(signInRoute(window.location.pathname + window.location.search, json?.message ?? ''));
  }
  if (!response.ok) throw new CloudError(json?.message || `${response.status} ${response.statusText}`, json?.code ?? 0, response.status);
  return json;
}

/** Every page of a list call: `field` is the list's name in the response (e.g. `users`). */
export async function cloudAll(path, field, query = {}) {
  const items = [];
  let pageToken = '';
  do {
    const page = await cloud(path, { query: { ...query, pageSize: 1000, pageToken } });
    items.push(...(page[field] ?? []));
    pageToken = page.nextPageToken ?? '';
  } while (pageToken);
  return items;
}

/** What the signed-in person may do on the account (start-dev's local caller owns its account: everything). */
export function accountAccess(session) {
  if (!session) return { member: true, read: true, admin: true, createNamespace: true };
  return session.account ?? { member: false, read: false, admin: false, createNamespace: false };
}

/** Whether the person administers `namespace` (edits its settings, its access grants): an account admin, or its admin. */
export function administers(session, namespace) {
  if (!session) return true;
  return session.account?.admin || (session.namespaces ?? []).some((n) => n.name === namespace && n.admin);
}

export const accountRoles = ['owner', 'admin', 'developer', 'finance_admin', 'read'];
export const namespacePermissions = ['read', 'write', 'admin'];

/** `ROLE_ADMIN` → `admin`; `PERMISSION_WRITE` → `write`; `OWNER_TYPE_SERVICE_ACCOUNT` → `service_account`. */
export function shortEnum(value, prefix) {
  return typeof value === 'string' && value.startsWith(prefix) ? value.slice(prefix.length).toLowerCase() : (value ?? '');
}

export const roleOf = (access) => shortEnum(access?.accountAccess?.role, 'ROLE_') || 'none';
export const roleEnum = (role) => 'ROLE_' + role.toUpperCase();
export const permissionEnum = (permission) => 'PERMISSION_' + permission.toUpperCase();

/** `{ "payments.acme": { permission: "PERMISSION_WRITE" } }` → `payments.acme=write, …`. */
export function accessText(access) {
  const entries = Object.entries(access?.namespaceAccesses ?? {});
  return entries.length ? entries.map(([ns, a]) => `${ns}=${shortEnum(a.permission, 'PERMISSION_')}`).join(', ') : '—';
}

/** A timestamp for a table: local time, to the second. */
export function when(timestamp) {
  if (!timestamp) return '—';
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? String(timestamp) : date.toLocaleString();
}

/** Creates (POST `collection`) or, when `item.id` is set, updates (POST `collection/id` at its resource version). */
export function save(collection, item, body) {
  return item.id
    ? cloud(`${collection}/${encodeURIComponent(item.id)}`, { method: 'POST', body: { ...body, resourceVersion: item.resourceVersion } })
    : cloud(collection, { method: 'POST', body });
}

/** Deletes `collection/id` at the item's resource version. */
export function remove(collection, item) {
  return cloud(`${collection}/${encodeURIComponent(item.id)}`, { method: 'DELETE', query: { resourceVersion: item.resourceVersion } });
}

/** Runs `action`: '' when it succeeds, else the message of what failed (for the page to show). */
export async function attempt(action) {
  try {
    await action();
    return '';
  } catch (e) {
    return e.message;
  }
}
