// plangate-components: the meter banner, prepended to <body>.
const workflow: ComponentWorkflow = async ({ features }) => ({
  content: { prepend: [{ type: 'html', content: `<div class="meter">${features.article.enabled.remainingUnits ?? 0} free articles left this month</div>` }] },
});
export default workflow;
