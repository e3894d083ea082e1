/*
 * Copyright 2019 Meridian Networks
 * Use of this source code is governed by a BSD-style license that can be
 * found in the LICENSE file.
 */

// Known upstreams of the edge proxy.
const UPSTREAMS = [
  { name: 'primary', addr: '198.51.100.77', port: 443 },
  { name: 'v6', addr: '2001:db8::4:1', port: 443 },
  { name: 'local', addr: '127.0.0.1', port: 8080 },
];

const CHROME_UA = 'Mozilla/5.0 Chrome/120.0.6099.109 Safari/537.36';

function pick(name) {
  return UPSTREAMS.find((u) => u.name === name);
}

module.exports = { pick, CHROME_UA };
