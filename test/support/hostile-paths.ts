// Spellings of a protected path that must never reach the upstream undecided, shared by the gateway's
// path tests and the forward-auth end-to-end tests (nginx and Caddy in front of plangate).

// Variants of the protected /premium/investigation (the demo's /static/** is a free bypass prefix).
export const PREMIUM_SPELLINGS = [
  '/premium/investigation',
  '/PREMIUM/investigation',
  '/Premium/Investigation',
  '/premium/investigation/',
  '/premium/investigation/.',
  '//premium/investigation',
  '/premium//investigation',
  '/./premium/investigation',
  '/premium/./investigation',
  '/articles/../premium/investigation',
  '/static/../premium/investigation',
  '/static/../../premium/investigation',
  '/static/%2e%2e/premium/investigation',
  '/static/%2E%2E/premium/investigation',
  '/static/.%2e/premium/investigation',
  '/%70remium/investigation',
  '/premium/%69nvestigation',
  '/premium%2finvestigation',
  '/%2fpremium/investigation',
  '/static%2f..%2fpremium/investigation',
  '/static/..%2fpremium/investigation',
  '/static\\..\\premium\\investigation',
  '/static/..%5cpremium/investigation',
  '/static/..%5Cpremium%5Cinvestigation',
  '/premium/investigation;x=1',
  '/static/..;/premium/investigation',
  '/premium;/investigation',
  '/premium/investigation%00',
  '/premium/investigation%00.css',
  '/static/%c0%ae%c0%ae/premium/investigation',
  '/static/%e0%80%ae%e0%80%ae/premium/investigation',
  '/static/%c0%af../premium/investigation',
  '/premium/investigation%',
  '/premium/investigation%zz',
  '/premium/investigation%2',
  'http://evil.example/premium/investigation',
  'http://localhost/static/../premium/investigation',
  '/premium/investigation?/static/x.css',
  '/premium/investigation#/static/x.css',
];

/** Legitimate targets that must reach the upstream byte for byte. */
export const LEGITIMATE_TARGETS = ['/articles/caf%C3%A9', '/a%20b', '/a%3Ab', '/~user', '/articles/a-b_c.d~e', '/search?q=%2F..%2F&x=1'];
