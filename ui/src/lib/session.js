// Bastion's web UI session under `server start` (start-dev has none): who is signed in, signing in and out.
// The session cookie is HttpOnly; the `_csrf` cookie is readable here and goes back in X-CSRF-TOKEN, as the
// package's requestFromAPI does for every API call.

const CSRF_COOKIE = '_csrf=';

/** The session's CSRF token, from its cookie. */
export function csrfToken() {
  const cookie = document.cookie
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(CSRF_COOKIE));
  return cookie ? cookie.slice(CSRF_COOKIE.length) : '';
}

/** The sign-in page's address, coming back to `returnUrl` afterwards. */
export function signInRoute(returnUrl, error = '') {
  const url = new URL('/login', window.location.origin);
  if (returnUrl) url.searchParams.set('returnUrl', returnUrl);
  if (error) url.searchParams.set('error', error);
  return url.pathname + url.search;
}

/** Only a path on this origin: a sign-in link must not send people elsewhere afterwards (open redirect). */
export function safeReturnUrl(value) {
  try {
    const url = new URL(value ?? '/', window.location.origin);
    return url.origin === window.location.origin && !url.pathname.startsWith('/login') ? url.pathname + url.search + url.hash : '/';
  } catch {
    return '/';
  }
}

/** Who is signed in ({ name, type, id, apiKeyId, namespaces: [{ name, write }] }), or null when nobody is. */
export async function fetchSession(fetch) {
  const response = await fetch('/auth/session', { credentials: 'same-origin' });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`${response.status} ${(await response.json().catch(() => ({})))?.message ?? response.statusText}`);
  return response.json();
}

/** How this server signs people in: { apiKey, peopleApiKey, sso: [{ method, start }] }. */
export async function fetchSignInMethods() {
  const response = await fetch('/auth/methods', { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.json();
}

/** Where a single sign-on starts, coming back to `returnUrl` (a path on this origin) afterwards. */
export function ssoStartUrl(sso, returnUrl) {
  const url = new URL(sso.start, window.location.origin);
  url.searchParams.set('returnUrl', safeReturnUrl(returnUrl));
  return url.pathname + url.search;
}

/** Signs in with an API key; the error message the server gave when it refuses. */
export async function signIn(apiKey) {
  const response = await fetch('/auth/sign-in', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body?.message ?? `${response.status} ${response.statusText}`);
  }
  return response.json();
}

/** Ends the session on the server (its cookie stops working) and forgets the cookies. */
export async function signOut() {
  await fetch('/auth/sign-out', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-TOKEN': csrfToken() } });
}
