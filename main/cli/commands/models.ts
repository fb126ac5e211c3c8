import { parseArgs } from 'node:util';
import { localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import { defaultModel, listModels, readVerifiedModel } from '../../inference/model-store.ts';
import type { CliCommand } from '../command.ts';

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'list installed models and check their files against their model cards',
  usage: 'r2c models [--json]',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
    const { models, problems } = await listModels(shippedModelsDir(), localModelsDir());
    const fallback = defaultModel(models);
    let bad = problems.length;
    for (const model of models) {
      const { card } = model;
      let status = 'ok';
      try {
        await readVerifiedModel(model);
      } catch (error) {
        status = (error as Error).message;
        bad += 1;
      }
      const isDefault = model === fallback;
      if (values.json) {
        io.out(
          JSON.stringify({
            id: card.id,
            version: card.version,
            origin: model.origin,
            default: isDefault,
            status,
          }),
        );
      } else {
        const params = `${(card.architecture.parameters / 1e6).toFixed(2)}M params`;
        io.out(
          `${isDefault ? '*' : ' '} ${card.id} ${card.version}  ${card.architecture.kind}${card.architecture.q ? ` Q=${card.architecture.q}` : ''}, ${params}, threshold ${card.threshold}  [${model.origin}] ${status}`,
        );
      }
    }
    for (const p of problems) io.err(`model card ${p.file}: ${p.problem}`);
    if (models.length === 0) io.err(`no models installed in ${shippedModelsDir()}`);
    return bad > 0 || models.length === 0 ? 1 : 0;
  },
};
