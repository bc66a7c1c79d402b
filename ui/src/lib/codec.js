// A namespace's codec server, for the package's payload decoding. Temporal's UI reads one codec endpoint from its
// settings (`settings.codec`: endpoint, passAccessToken, includeCredentials), server-wide; Bastion keeps one per
// namespace (`bastion namespace update --codec-endpoint`, Cloud Ops' codec_server) and DescribeNamespace carries it in
// the namespace's data map under these keys. The browser calls that endpoint itself: the server never sees the keys.

const ENDPOINT = 'bastion.codec-server.endpoint';
const PASS_ACCESS_TOKEN = 'bastion.codec-server.pass-access-token';
const INCLUDE_CREDENTIALS = 'bastion.codec-server.include-cross-origin-credentials';

/**
 * The settings for pages of this namespace: the server's settings with the namespace's codec server when it has one
 * (a new object: the parent layout's settings are shared by every namespace), else the server's settings unchanged.
 */
export function withNamespaceCodec(settings, namespace) {
  const data = namespace?.namespaceInfo?.data ?? {};
  const endpoint = data[ENDPOINT];
  if (!endpoint) return settings;
  return {
    ...settings,
    codec: {
      ...settings.codec,
      endpoint,
      passAccessToken: data[PASS_ACCESS_TOKEN] === 'true',
      includeCredentials: data[INCLUDE_CREDENTIALS] === 'true',
    },
  };
}
