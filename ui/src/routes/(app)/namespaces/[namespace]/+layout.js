import { fetchNamespace } from '@temporalio/ui/services/namespaces-service';
import { fetchSearchAttributesForNamespace } from '@temporalio/ui/services/search-attributes-service';
import { allSearchAttributes } from '@temporalio/ui/stores/search-attributes';

import { withNamespaceCodec } from '$lib/codec.js';

/**
 * The filter bar and the workflow pages read the namespace's search attributes from the package's store; the
 * package's payload decoding reads the codec server from `settings`, which this layout's pages get with the
 * namespace's own codec server (DescribeNamespace).
 */
export async function load({ params, parent, fetch }) {
  const { settings } = await parent();
  const [searchAttributes, namespace] = await Promise.all([
    fetchSearchAttributesForNamespace(params.namespace, fetch),
    fetchNamespace(params.namespace, settings, fetch),
  ]);
  allSearchAttributes.set(searchAttributes);
  return { settings: withNamespaceCodec(settings, namespace) };
}
