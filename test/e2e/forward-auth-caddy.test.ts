// Acceptance (issue: forward-auth): real Caddy (forward_auth, expanded) in front of plangate; the suite is in forward-auth-suite.ts.
import { forwardAuthSuite } from './forward-auth-suite.js';

forwardAuthSuite('caddy');
