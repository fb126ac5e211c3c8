import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultDataDir } from '../../../main/library/paths.ts';

test('default data folder per platform, $R2C_DATA_DIR first', () => {
  assert.equal(defaultDataDir({ R2C_DATA_DIR: '/data/r2c' }, 'linux', '/home/u'), '/data/r2c');
  assert.equal(defaultDataDir({}, 'linux', '/home/u'), '/home/u/.local/share/r2c-workstation');
  assert.equal(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux', '/home/u'), '/xdg/r2c-workstation');
  assert.equal(
    defaultDataDir({}, 'darwin', '/Users/u'),
    '/Users/u/Library/Application Support/R2C Workstation',
  );
  assert.equal(
    defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u'),
    'C:\\Users\\u\\AppData\\Roaming\\R2C Workstation',
  );
});
