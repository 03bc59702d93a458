/**
 * A small hosted IVR flow the end-to-end and browser tests call through: a menu (1 → billing,
 * 2 → a transfer) and a billing step that hangs up.
 */
export const SUPPORT_FLOW = {
  name: 'support',
  steps: [
    {
      id: 'menu',
      say: 'Press 1 for billing or 2 for a human.',
      gather: { input: 'dtmf', num_digits: 1 },
      branches: [
        { digits: '1', action: { type: 'goto', step: 'billing' } },
        { digits: '2', action: { type: 'transfer', to: '+14155550999', say: 'Connecting you.' } },
      ],
    },
    { id: 'billing', say: 'Your balance is zero. Goodbye.', next: { type: 'hangup' } },
  ],
};
