import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInferenceModel } from '../../../models/inference.ts';
import { initWeights, operationalGenerator, parameterCount } from '../../../models/nets.ts';
import type { ModelCard } from '../../../main/inference/model-card.ts';

/** A small operational (Q=3) generator with random weights and a valid model card, written to `dir`. */
export function installTinyModel(dir: string, id = 'tiny-q3', extra: Partial<ModelCard> = {}): ModelCard {
  mkdirSync(dir, { recursive: true });
  const net = operationalGenerator({ q: 3, width: 4 });
  const bytes = buildInferenceModel(net, initWeights(net, 7));
  const card: ModelCard = {
    format: 'r2c-model-card/1',
    id,
    version: '0.0.1',
    name: 'Tiny random test model',
    file: `${id}.onnx`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    architecture: { kind: 'operational', q: 3, parameters: parameterCount(net) },
    threshold: 0.5,
    input: { classificationSize: 64, workingLongSide: 96 },
    default: true,
    intendedUse: 'tests only',
    limitations: ['random weights'],
    ...extra,
  };
  writeFileSync(join(dir, card.file), bytes);
  writeFileSync(join(dir, `${id}.model.json`), JSON.stringify(card, null, 2));
  return card;
}
