// The package ships one ES module and no types or "main": import its file by path.
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' { export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string; }
