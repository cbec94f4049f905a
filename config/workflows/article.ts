// Surface workflow of the demo's articles: the route already consumed one read (all or nothing);
// this tells the page who is reading and how many free articles are left this month.
const workflow: SurfaceWorkflow = async ({ identity, features }) => {
  const reads = features.articles.enabled;
  return {
    properties: {
      reader: identity.isAuthenticated ? identity.identifier : 'anonymous',
      // Left out for premium readers, whose meter is unlimited.
      ...(reads.remainingUnits === undefined ? {} : { articlesLeft: reads.remainingUnits }),
    },
  };
};
export default workflow;
