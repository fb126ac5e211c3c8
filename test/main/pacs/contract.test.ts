// The IPC contract declares the PACS shapes itself (the renderer's type check must not reach
// main/dicom); these checks keep them accepting and refusing what the PACS service does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectionSchema as contractConnection,
  studyQuerySchema as contractQuery,
} from '../../../main/contract/pacs.ts';
import { connectionSchema, studyQuerySchema } from '../../../main/pacs/index.ts';

const connections: unknown[] = [
  {
    id: 'main',
    name: 'Main PACS',
    dicomweb: { baseUrl: 'https://pacs.example.org/dicom-web', auth: 'basic', username: 'u' },
  },
  {
    id: 'dimse',
    name: 'Old PACS',
    dimse: {
      host: 'pacs',
      port: 104,
      calledAet: 'PACS',
      callingAet: 'R2C',
      retrieve: 'move',
      movePort: 11112,
    },
  },
  { id: 'Upper', name: 'x', dicomweb: { baseUrl: 'https://a' } },
  { id: 'ftp', name: 'x', dicomweb: { baseUrl: 'ftp://a' } },
  { id: 'aet', name: 'x', dimse: { host: 'h', port: 104, calledAet: 'BACK\\SLASH', callingAet: 'R2C' } },
  {
    id: 'aet2',
    name: 'x',
    dimse: { host: 'h', port: 104, calledAet: 'A_VERY_LONG_AE_TITLE', callingAet: 'R2C' },
  },
  { id: 'port', name: 'x', dimse: { host: 'h', port: 70000, calledAet: 'A', callingAet: 'B' } },
  { id: 'extra', name: 'x', dicomweb: { baseUrl: 'https://a', password: 'never here' } },
  { id: 'timeout', name: 'x', dicomweb: { baseUrl: 'https://a', timeoutMs: 10 } },
];
const queries: unknown[] = [
  {},
  {
    patientName: 'Doe^J',
    dateFrom: '20200101',
    dateTo: '20201231',
    modalities: ['CR', 'DX'],
    bodyPart: 'CHEST',
  },
  { dateFrom: '2020-01-01' },
  { modalities: ['cr'] },
  { patientId: 'a\\b' },
  { limit: 0 },
  { accessionNumber: 'x'.repeat(65) },
  { unknown: 1 },
];

test('the contract accepts and refuses the same connections as the PACS service', () => {
  for (const input of connections)
    assert.equal(
      contractConnection.safeParse(input).success,
      connectionSchema.safeParse(input).success,
      JSON.stringify(input),
    );
  assert.ok(
    connections.some((c) => !connectionSchema.safeParse(c).success),
    'some inputs are refused',
  );
});

test('the contract accepts and refuses the same searches as the PACS service', () => {
  for (const input of queries)
    assert.deepEqual(
      contractQuery.safeParse(input).data,
      studyQuerySchema.safeParse(input).data,
      JSON.stringify(input),
    );
  assert.ok(
    queries.some((q) => !studyQuerySchema.safeParse(q).success),
    'some inputs are refused',
  );
});
