/**
 * @license MIT
 * Copyright (c) 2020 Pixel Forge
 */

// Runtime configuration of the billing worker.
module.exports = {
  stripeKey: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  githubTokenEnv: 'GITHUB_ACCESS_TOKEN',
  slackToken: 'xoxb-1234-56789-AbCdEfGhIjKlMnOp',
  contactPhone: '+1 (415) 555-0132',
  billingMail: 'billing@pixelforge.co.uk',
  sandboxMail: 'test-user@example.org',
  retryDelays: [415, 555, 132],
  timeoutMs: 4155550132,
  since: '2024-01-15',
};
