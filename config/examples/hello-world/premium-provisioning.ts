const workflow: ProvisioningWorkflow = async ({ identity }) => {
  // Assign premium if provided in JWT claims
  return identity.jwtClaims.premium ? ["premium"] : [];
};
export default workflow;
