declare module 'wgsl-preprocessor' { export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string; }
