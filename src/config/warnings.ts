// Configs that load but probably do not do what was meant. Printed by every command that loads a
// config (`plangate validate` among them), located like errors; never a reason to refuse one.
import type { IssueCollector } from './locate.js';
import type { ConfigFile } from './schema.js';

export function configWarnings(config: ConfigFile, warnings: IssueCollector): void {
  sharedJwtIdentifiers(config, warnings);
}

/**
 * Two JWT integrations in one identifier space: a token from either with the same claim value is the
 * same visitor (same counters). Declaring the same `identifierNamespace` on both says that is meant.
 */
function sharedJwtIdentifiers(config: ConfigFile, warnings: IssueCollector): void {
  const integrations = config.jwt?.integrations ?? [];
  const first = integrations.findIndex((integration) => integration.identifierNamespace === undefined);
  if (first === -1) return;
  integrations.forEach((integration, i) => {
    if (i <= first || integration.identifierNamespace !== undefined) return;
    warnings.add(
      ['jwt', 'integrations', i],
      `integration '${integration.name}' shares its identifiers with '${integrations[first].name}' (jwt.integrations[${first}]): ` +
        `a token from either whose ${integration.claimKey} is the same value is the same visitor, with the same counters. ` +
        'If they identify different people, give the one added later an identifierNamespace (its identifiers become <namespace>:<value>; see docs/jwt.md)',
    );
  });
}
