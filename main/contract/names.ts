// The IPC surface by name only: the sandboxed preload imports this without pulling in schemas.
export const channelNames = [
  'getAppInfo',
  'hashFiles',
  'importPaths',
  'listStudies',
  'listSeries',
  'listInstances',
  'getThumbnail',
  'reviewListStudies',
  'reviewCreateStudy',
  'reviewDefaultQuestions',
  'reviewGetStudy',
  'reviewAddReader',
  'reviewStartSession',
  'reviewAnswer',
  'reviewNext',
  'reviewGoBack',
  'reviewResults',
  'reviewExportCsv',
  'reviewExportJson',
  'reviewAuditTrail',
  'getReviewImage',
  'modelCatalog',
  'verifyModel',
  'fineTuneModel',
  'evaluateModel',
  'getViewerImage',
  'listAnalyses',
  'analyseImages',
  'getRestoredImage',
  'getHeatmap',
  'cancelJob',
] as const;
export type ChannelName = (typeof channelNames)[number];

/** Main → renderer push events (progress of long jobs). */
export const EVENT_CHANNEL = 'r2c:event';
export const ipcChannel = (name: ChannelName): string => `r2c:${name}`;
