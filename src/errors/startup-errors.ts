/**
 * Errors that stop the server at start-up, each printed with its fix. Kept apart from the
 * zod schemas that raise them so the entry point can recognise them without loading zod
 * before it needs to.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export class PolicyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid send policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PolicyConfigError';
  }
}
