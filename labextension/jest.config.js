// Unit tests beside the code (src/**/__tests__/*.spec.ts), TypeScript through ts-jest.
// JupyterLab and Lumino ship ES modules, so they are transformed too.
const esModules = [
  '@jupyterlab',
  '@jupyter',
  '@lumino',
  '@codemirror',
  '@microsoft',
  'lib0',
  'y-protocols',
  'yjs',
  'nanoid',
  'exenv-es6'
].join('|');

module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/src/**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.[tj]sx?$': [
      'ts-jest',
      {
        isolatedModules: true,
        tsconfig: {
          allowJs: true,
          esModuleInterop: true,
          module: 'commonjs',
          target: 'ES2018',
          types: ['jest']
        }
      }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules}))`]
};
