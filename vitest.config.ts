import { defineConfig } from 'vitest/config';

// Two projects: `unit` (fast, no root, no daemons) and `interop` (real daemons,
// network namespaces, needs root; run by `npm run test:interop` and .ci/run).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/interop/**', 'test/**/*.interop.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'interop',
          // Also the netns tests of other areas, named *.interop.test.ts.
          include: ['test/interop/**/*.test.ts', 'test/**/*.interop.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
