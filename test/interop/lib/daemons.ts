// Moved to src/lab/daemons.ts (the scenario runner's netns mode ships it).
export * from '../../../src/lab/daemons.ts';
