// Reading the audit log through GetAuditLogs (`GET /cloud/audit-logs`: a time range and pages, in log order). Each
// LogRecord's raw_details is the stored record (AuditJson's fields: seq, kind, emit_time, operation, principal,
// namespace, status, via, details, …). GetAuditLogs filters by time only, so the namespace, principal and outcome
// filters apply here, to the records the pages bring.

import { cloud } from './cloud.js';

const grpcCodes = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
];

export const statusName = (status) => grpcCodes[status] ?? String(status);

/** succeeded (OK), denied (PERMISSION_DENIED, UNAUTHENTICATED) or failed (any other status). */
export function outcomeOf(record) {
  if (record.status === 0) return 'succeeded';
  return record.status === 7 || record.status === 16 ? 'denied' : 'failed';
}

/** Whether `record` passes the filters { namespace, principal, outcome } (empty: any). */
export function matches(record, { namespace = '', principal = '', outcome = '' } = {}) {
  if (namespace && record.namespace !== namespace) return false;
  if (outcome && outcomeOf(record) !== outcome) return false;
  if (principal) {
    const p = record.principal ?? {};
    const wanted = principal.toLowerCase();
    if (![p.name, p.id, p.api_key_id].some((v) => typeof v === 'string' && v.toLowerCase().includes(wanted))) return false;
  }
  return true;
}

/** One page: { records, nextPageToken }. `from` and `to` are Dates or null. */
export async function auditPage({ from, to, pageToken = '', pageSize = 500 }) {
  const page = await cloud('/cloud/audit-logs', {
    query: {
      startTimeInclusive: from ? from.toISOString() : '',
      endTimeExclusive: to ? to.toISOString() : '',
      pageSize,
      pageToken,
    },
  });
  return { records: (page.logs ?? []).map((log) => log.rawDetails ?? {}), nextPageToken: page.nextPageToken ?? '' };
}

/** The records as JSON lines, one record a line, downloaded as `name` (built here: nothing is sent to the server). */
export function downloadJsonLines(records, name) {
  const text = records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
