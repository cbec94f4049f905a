// plangate-components: the article cut after its teaser, up to its footer, with an offer in its place.
const workflow: ComponentWorkflow = async () => ({
  content: {
    replaceRange: {
      fromMarker: '.teaser-end',
      toMarker: '.article-footer',
      replaceWith: [{ type: 'element', schema: 'mos:offer@1', props: { plan: 'premium', price: '4.99' } }],
    },
  },
});
export default workflow;
