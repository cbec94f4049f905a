// The one owner of what forward-auth mode refuses (docs/forward-auth.md "Limitations"). In this mode the
// proxy forwards and plangate never sees the upstream's response, so nothing that needs the response
// can be configured: components (they rewrite the HTML), soft denials (they cut the page), and credentials taken out of the request
// (the proxy forwards the client's headers, not plangate's). The injected headers are signed unless
// the operator says the proxy strips client-sent ones itself. `validate`, start-up and reload all
// run these rules through src/config/load.ts.
import proxyAddr from 'proxy-addr';
import type { IssueCollector } from './locate.js';
import type { ConfigFile } from './schema.js';

export function checkForwardAuth(config: ConfigFile, issues: IssueCollector): void {
  const gateway = config.gateway;
  const forwardAuth = gateway?.forwardAuth;
  if (gateway === undefined || forwardAuth === undefined) return;
  forwardAuth.proxies.forEach((entry, i) => {
    try {
      proxyAddr.compile([entry]);
    } catch {
      issues.add(['gateway', 'forwardAuth', 'proxies', i], `'${entry}' is not an address, a CIDR range or one of loopback, linklocal, uniquelocal`, {
        expected: '127.0.0.1, 10.0.0.0/8, ::1 or loopback',
      });
    }
  });
  if (gateway.signing === undefined && !forwardAuth.unsignedHeaders) {
    issues.add(
      ['gateway', 'forwardAuth'],
      'forward-auth mode signs the headers it hands to the proxy (stock nginx cannot remove client-sent x-plangate-* headers by prefix; ' +
        'the signature lets the upstream refuse forged ones): add gateway.signing.keys, or set forwardAuth.unsignedHeaders: true ' +
        'if your proxy removes every client-sent header with the prefix',
      { expected: 'gateway.signing.keys' },
    );
  }
  if (!gateway.forwardCredentials) {
    issues.add(
      ['gateway', 'forwardCredentials'],
      'in forward-auth mode the proxy forwards the client’s own Cookie and Authorization headers: plangate cannot take the token out. Remove forwardCredentials: false, or use the standalone gateway',
      { expected: 'true (the default)' },
    );
  }
  gateway.routes.forEach((route, i) => {
    if (route.deny?.mode === 'soft') {
      issues.add(
        ['gateway', 'routes', i, 'deny', 'mode'],
        "a soft denial forwards the page and cuts it on the way back; in forward-auth mode plangate never sees the response. Use mode: hard (the default), or the standalone gateway",
        { expected: 'hard' },
      );
    }
    if (route.bypass === true || route.surface === undefined || !Object.hasOwn(config.surfaces, route.surface)) return;
    const components = Object.keys(config.surfaces[route.surface].components ?? {});
    if (components.length > 0) {
      issues.add(
        ['gateway', 'routes', i, 'surface'],
        `surface '${route.surface}' has components (${components.join(', ')}), which rewrite the upstream's HTML; in forward-auth mode plangate ` +
          'never sees the response. Serve this route through the standalone gateway, or use a surface without components',
        { expected: 'a surface without components' },
      );
    }
  });
}
