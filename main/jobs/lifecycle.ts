// Cleanup that must run inside a job worker before it is terminated: terminating a thread that
// still holds native onnxruntime sessions can abort the whole process.
const hooks: (() => Promise<void> | void)[] = [];

export function onWorkerShutdown(hook: () => Promise<void> | void): void {
  hooks.push(hook);
}

export async function runShutdownHooks(): Promise<void> {
  await Promise.allSettled(hooks.splice(0).map((hook) => hook()));
}
