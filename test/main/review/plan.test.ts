// A study set-up request becomes the store's input: blinding rules, the passes shorthand, the images'
// check first; and what the image loader renders for a presentation, and the export file names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  exportFileName,
  planStudy,
  presentationImage,
  type StudyPlanContext,
  studyBlinding,
  studyInputSchema,
} from '../../../main/review/index.ts';
import { AppError } from '../../../main/util/errors.ts';

const models = [{ id: 'r2c-q3', name: 'R2C-GAN', version: '1.0.0' }];

function context(overrides: Partial<StudyPlanContext> = {}) {
  const asked: string[] = [];
  const ctx: StudyPlanContext = {
    checkImage: (id) => {
      asked.push(`image ${id}`);
    },
    installedModels: async () => {
      asked.push('models');
      return models;
    },
    defaultModelId: async () => {
      asked.push('default');
      return 'r2c-q3';
    },
    ...overrides,
  };
  return { ctx, asked };
}

const rejectsWith = async (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (e: unknown) => e instanceof AppError && e.code === code);

describe('planStudy', () => {
  test('ground truth: set per case, else from the library; unknown left out; the passphrase passed on', async () => {
    const { ctx } = context({
      libraryTruth: (id: number) => (id === 1 ? 'covid' : id === 2 ? 'normal' : 'unknown'),
    });
    const input = await planStudy(
      {
        name: 'Truth',
        instanceIds: [1, 2, 3],
        passes: 1,
        truth: { '2': 'covid' },
        ownerPassphrase: 'owner passphrase',
      },
      ctx,
    );
    assert.deepEqual(input.images, [{ id: '1', truth: 'covid' }, { id: '2', truth: 'covid' }, { id: '3' }]);
    assert.equal(input.ownerPassphrase, 'owner passphrase');
  });

  test('the passes shorthand: the original beside the default model, blinded, display locked', async () => {
    const { ctx, asked } = context();
    const input = await planStudy({ name: 'Chest', instanceIds: [3, 1], passes: 2 }, ctx);
    assert.deepEqual(asked, ['image 3', 'image 1', 'default']);
    assert.deepEqual(input, {
      name: 'Chest',
      images: [{ id: '3' }, { id: '1' }],
      variants: [
        { id: 'original', kind: 'original', label: 'Original' },
        { id: 'restored', kind: 'restored', modelId: 'r2c-q3', passes: 2, label: 'Restored, 2 passes' },
      ],
      blinding: {
        hideMethodNames: true,
        hideAiOutput: true,
        hidePatientIdentifiers: true,
        lockWindowLevel: true,
        lockZoom: true,
      },
    });
    assert.ok(studyInputSchema.safeParse(input).success, 'a valid study input');
  });

  test('chosen variants, comparisons, questions, navigation, readers and an unlocked display', async () => {
    const { ctx, asked } = context();
    const input = await planStudy(
      {
        name: 'Pairs',
        instanceIds: [7],
        variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'r2c-q3', passes: 1 }],
        comparisons: 'allPairs',
        navigation: { goBack: 'none' },
        lockDisplay: false,
        readers: ['Dr A'],
      },
      ctx,
    );
    assert.deepEqual(asked, ['image 7', 'models']);
    assert.deepEqual(input.comparisons, [['original', 'r2c-q3-p1']]);
    assert.deepEqual(input.navigation, { goBack: 'none' });
    assert.deepEqual(input.readers, ['Dr A']);
    assert.equal(input.questions, undefined, 'the service default questions');
    assert.deepEqual(input.blinding, studyBlinding(false));
    assert.equal(studyBlinding(false).hideMethodNames, true, 'method names stay hidden');
    assert.equal(studyBlinding(false).lockZoom, false);
    assert.ok(studyInputSchema.safeParse(input).success);
  });

  test('an image that cannot be shown is refused before any model is looked up', async () => {
    const { ctx, asked } = context({
      checkImage: (id) => {
        throw new AppError('unsupported', `instance ${id} has no displayable image`);
      },
    });
    await rejectsWith(planStudy({ name: 'x', instanceIds: [1], passes: 1 }, ctx), 'unsupported');
    assert.deepEqual(asked, []);
  });

  test('no default model, or an unknown one, is not_found', async () => {
    await rejectsWith(
      planStudy({ name: 'x', instanceIds: [1] }, context({ defaultModelId: async () => null }).ctx),
      'not_found',
    );
    await rejectsWith(
      planStudy(
        {
          name: 'x',
          instanceIds: [1],
          variants: [{ kind: 'original' }, { kind: 'restored', modelId: 'gone', passes: 1 }],
        },
        context().ctx,
      ),
      'not_found',
    );
  });
});

describe('presentationImage and exportFileName', () => {
  test('an original renders as is; a restoration with its model and passes (1 by default)', () => {
    const original = { id: 'original', kind: 'original' as const, label: 'Original' };
    assert.deepEqual(presentationImage({ studyId: 's', imageId: '4', variant: original }), {
      imageId: '4',
      variant: { kind: 'original' },
    });
    const restored = { id: 'r', kind: 'restored' as const, modelId: 'r2c-q3', label: 'R' };
    assert.deepEqual(presentationImage({ studyId: 's', imageId: '4', variant: restored }).variant, {
      kind: 'restored',
      modelId: 'r2c-q3',
      passes: 1,
    });
    assert.throws(
      () =>
        presentationImage({ studyId: 's', imageId: '4', variant: { id: 'r', kind: 'restored', label: 'R' } }),
      (e: unknown) => e instanceof AppError && e.code === 'bad_input',
    );
  });

  test('export file names keep case, replace unsafe characters and never come out empty', () => {
    assert.equal(exportFileName('Chest study / 2026', 'ratings.csv'), 'Chest-study-2026-ratings.csv');
    assert.equal(exportFileName('???', 'study.json'), 'study-study.json');
  });
});
