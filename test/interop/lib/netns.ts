// Moved to src/lab/netns.ts (the scenario runner's netns mode ships it).
export * from '../../../src/lab/netns.ts';
