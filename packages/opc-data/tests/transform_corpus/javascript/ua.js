/* eslint-disable no-console */
// Build the user-agent header for outgoing requests.

const pkg = { name: 'my-bot', version: '2.4.0' };

export const USER_AGENT = 'my-bot/1.2.3.4 (+https://bot.example.com/about)';
export const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i;

export function userAgent(extra) {
  const base = `${pkg.name}/${pkg.version}`;
  return extra ? `${base} ${extra}` : base;
}

export function isEmail(value) {
  return EMAIL_PATTERN.test(value);
}

console.log(userAgent('node/20.11.1'));
