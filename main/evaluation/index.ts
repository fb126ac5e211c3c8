export type { BaselineName, ClaheOptions, NlmOptions } from './baselines.ts';
export {
  baselineNames,
  baselines,
  clahe,
  estimateNoiseSigma,
  histogramEqualize,
  medianFilter,
  nlmDenoise,
} from './baselines.ts';
export type {
  ClassificationMetrics,
  ClassificationReport,
  ConfusionCounts,
  RocPoint,
} from './classification.ts';
export {
  classificationMetrics,
  classificationReport,
  confusionCounts,
  confusionMatrix,
  rocAuc,
  rocCurve,
} from './classification.ts';
export type {
  ClassifyFn,
  Condition,
  EvaluateOptions,
  EvaluationReport,
  ImageRecord,
  RestorationStats,
  RestorationSummary,
  RestoreFn,
  SourceClassification,
  SubsetScores,
} from './evaluate.ts';
export { evaluate, psnrCapDb, reportPlots, thresholdFromCalibration } from './evaluate.ts';
export type { BarChartInput, RocSeries } from './plots.ts';
export { barChartSvg, escapeXml, rocCurveSvg } from './plots.ts';
export type { SsimOptions } from './restoration.ts';
export { checkerEnergy, gridRatio, meanSquaredError, nyquistPeak, psnr, ssim } from './restoration.ts';
export type { CrossFitted, OperatingPoint } from './threshold.ts';
export { assignFolds, bestF1Threshold, crossFittedThreshold, metricsAt } from './threshold.ts';
export type { EvaluateInstalledInput, EvaluateInstalledOutput } from './evaluate-job.ts';
export { evaluateInstalledModel } from './evaluate-job.ts';
export type { EvaluateModelOptions } from './evaluate-model.ts';
export { evaluateModel } from './evaluate-model.ts';
export type { EvaluationResult, ItemSelection } from './evaluation-run.ts';
export {
  cardMetrics,
  DEFAULT_CALIBRATION_FRACTION,
  loadEvaluationItems,
  writeEvaluation,
} from './evaluation-run.ts';
