// The hello-world surface workflow (tutorial parts 1 to 3): consume one widget on every decision
// and tell the page what the visitor may do.
const workflow: SurfaceWorkflow = async ({ identity, features }) => {
  const widget = await features.widget.enabled.consume();
  const properties: Record<string, unknown> = {
    userMessage: `Hello, ${identity.identifier}`,
    isAuthenticated: identity.isAuthenticated,
    widgetAccess: widget.hasAccess,
    premiumWidgets: features.widget.premium.value,
  };
  // Left out when the meter is unlimited (premium).
  if (widget.remainingUnits !== undefined) properties.remainingWidgets = widget.remainingUnits;
  return { properties };
};
export default workflow;
