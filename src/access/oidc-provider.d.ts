// oidc-provider ships no type declarations; the dev server uses it through this untyped surface.
declare module 'oidc-provider' {
  const Provider: any;
  type Provider = any;
  export type Configuration = any;
  export const errors: any;
  export const interactionPolicy: any;
  export default Provider;
}
