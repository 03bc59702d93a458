/**
 * Sandbox only: what a phone or mailbox received (texts, calls with their spoken text,
 * emails — verification codes included), so an agent or a person trying the sandbox can
 * complete a verification with no phone.
 */
import { ToolFailure } from '../errors/tool-failure.js';

export interface DeviceEntry {
  kind: string;
  from: string;
  body: string;
  subject?: string;
  at: Date;
}

/** The part of the sandbox this service uses (services never import the sandbox). */
export interface DeviceReader {
  readDevice(address: string, limit?: number): DeviceEntry[];
}

export class SandboxDevicesService {
  constructor(private readonly reader: (() => Promise<DeviceReader>) | undefined) {}

  async read(input: { to: string; limit?: number }) {
    if (!this.reader) throw new ToolFailure({ message: 'read_sandbox_device only works on the sandbox.', nextStep: 'Start the server without credentials, or with --sandbox.' });
    const address = input.to.includes('@') ? input.to.trim().toLowerCase() : input.to.replace(/[\s().-]/g, '');
    const entries = (await this.reader()).readDevice(address, input.limit ?? 10);
    return {
      to: address,
      received: entries.map((e) => ({ kind: e.kind, from: e.from, ...(e.subject !== undefined && { subject: e.subject }), body: e.body, at: e.at.toISOString() })),
    };
  }
}
