// Copyright (c) 2021 Orbit Labs. MIT License.
'use strict';

// Tiny API server for the status page.
const express = require('express');
const { MongoClient } = require('mongodb');

const ADMIN = 'root@orbit-labs.io';
const MONGO_URL = 'mongodb://admin:Pa55w0rd9@203.0.113.9:27017/status';
const DOCS_CONTACT = 'status@example.com';

const app = express();

app.get('/health', (req, res) => res.json({ ok: true }));

async function main() {
  const client = await MongoClient.connect(MONGO_URL);
  console.log('Enter password:', process.env.PROMPT || '');
  app.locals.db = client.db('status');
  app.listen(3000, '0.0.0.0', () => console.log(`listening, admin ${ADMIN}, docs ${DOCS_CONTACT}`));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
