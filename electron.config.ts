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
  // The CLI of the installed app: resources/bin/r2c (Linux, macOS) or r2c.cmd (Windows) runs the app's
  // binary with --cli, which shell/main.ts hands to the command line before any window exists
  // (ELECTRON_RUN_AS_NODE stays fused off). The platform lists are added to the one above.
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
    executableName: 'r2c-workstation',
    extraResources: [{ from: 'build/bin/r2c', to: 'bin/r2c' }],
    files: [`!${ortBinaries}/win32/**`, `!${ortBinaries}/darwin/**`, `!${ortBinaries}/linux/arm64/**`],
  },
  // The deb links /usr/bin/r2c to resources/bin/r2c (electron-builder's scripts plus that link).
  deb: {
    depends: ['libnss3', 'libgtk-3-0', 'libxss1', 'libasound2'],
    afterInstall: 'build/linux/after-install.tpl',
    afterRemove: 'build/linux/after-remove.tpl',
  },
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    extraResources: [{ from: 'build/bin/r2c.cmd', to: 'bin/r2c.cmd' }],
    files: [`!${ortBinaries}/linux/**`, `!${ortBinaries}/darwin/**`, `!${ortBinaries}/win32/arm64/**`],
  },
  nsis: { oneClick: false, perMachine: true, allowToChangeInstallationDirectory: true },
  mac: {
    target: [{ target: 'dmg', arch: ['arm64'] }],
    category: 'public.app-category.medical',
    hardenedRuntime: true,
    extraResources: [{ from: 'build/bin/r2c', to: 'bin/r2c' }],
    files: [`!${ortBinaries}/linux/**`, `!${ortBinaries}/win32/**`],
  },
  npmRebuild: true,
  publish: null,
};

export default config;
