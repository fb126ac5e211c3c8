// electron-builder configuration (`npm run dist`; packaging downloads Electron, so it needs network).
import type { Configuration } from 'electron-builder';

const ortBinaries = 'node_modules/onnxruntime-node/bin/napi-v6';

const config: Configuration = {
  appId: 'org.r2c.workstation',
  productName: 'R2C Workstation',
  copyright: 'R2C Workstation developers',
  // build/ holds icon.png (1024 px), icon.ico and icon.icns, found there by name (scripts/make-icons.ts).
  directories: { output: 'dist', buildResources: 'build' },
  files: [
    'out/**',
    'package.json',
    '!out/**/*.map',
    '!**/*.{ts,tsx,md}',
    '!**/{test,tests,__tests__,docs}/**',
  ],
  asar: true,
  // Native addons, their shared libraries and wasm codecs must live outside the archive.
  asarUnpack: [
    '**/*.node',
    `${ortBinaries}/**`,
    'node_modules/sharp/**',
    'node_modules/@img/**',
    'node_modules/@cornerstonejs/codec-*/**/*.wasm',
  ],
  // Shipped models with their model cards, next to the app (verified by SHA-256 before use).
  extraResources: [{ from: 'models/shipped', to: 'models', filter: ['*.onnx', '*.model.json', '*.md'] }],
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  },
  // Only the target platform's onnxruntime binaries are packed (the npm package carries all of them).
  linux: {
    target: [
      { target: 'AppImage', arch: ['x64'] },
      { target: 'deb', arch: ['x64'] },
    ],
    category: 'Science;MedicalSoftware',
    files: [`!${ortBinaries}/win32/**`, `!${ortBinaries}/darwin/**`, `!${ortBinaries}/linux/arm64/**`],
  },
  deb: { depends: ['libnss3', 'libgtk-3-0', 'libxss1', 'libasound2'] },
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    files: [`!${ortBinaries}/linux/**`, `!${ortBinaries}/darwin/**`, `!${ortBinaries}/win32/arm64/**`],
  },
  nsis: { oneClick: false, perMachine: true, allowToChangeInstallationDirectory: true },
  mac: {
    target: [{ target: 'dmg', arch: ['arm64'] }],
    category: 'public.app-category.medical',
    hardenedRuntime: true,
    files: [`!${ortBinaries}/linux/**`, `!${ortBinaries}/win32/**`],
  },
  npmRebuild: true,
  publish: null,
};

export default config;
