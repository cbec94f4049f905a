// Acceptance (issue: forward-auth): real nginx (auth_request) in front of plangate; the suite is in forward-auth-suite.ts.
import { forwardAuthSuite } from './forward-auth-suite.js';

forwardAuthSuite('nginx');
