/**
 * Part 3's label-noise studies beyond the basic sweep (see src/study/label_studies.ts for the
 * profiles and records): memorization over epochs with early stopping on a noisy held-out split,
 * robust losses (GCE, SCE) against cross-entropy, systematic (pairs) noise against uniform, the
 * confident-learning estimate of the noise rate, budgeted relabeling, and the image-noise x
 * label-noise grid. Every finished run is stored at once under OUT/studies/<study>/ with its
 * configuration; the same command again continues (a stored run of another configuration is
 * trained again).
 *
 * @module
 */
import { join } from "node:path";
import {
  argmaxRows,
  canonicalJson,
  confidentLearning,
  type ConfidentLearningRun,
  corruptLabels,
  type Dataset,
  deriveSeed,
  type GridRun,
  type LabelStudies,
  type LabelStudyProfile,
  lenet5,
  type LossKind,
  type MemorizationEpoch,
  type MemorizationRun,
  type MnistAudit,
  type OutOfSample,
  type OutOfSampleConfig,
  outOfSampleProbabilities,
  type Part3Condition,
  predictProbabilities,
  type RelabelRun,
  Rng,
  runNoise,
  type SessionHooks,
  studyImages,
  type StudyRun,
  studySeeds,
  subset,
  uploadDataset,
} from "../mod.ts";
import { ensureDir, formatCount, ProgressBar, writeJsonAtomic } from "../mod_deno.ts";
import {
  installInterruptHandler,
  InterruptedError,
  type Recipe,
  recipeOf,
  runSeeds,
  sessionRecipeOf,
  type Setup,
  type TrainingOptions,
  trainRun,
} from "./common.ts";

/** What the studies need from Part 3's options. */
export interface StudyOptions extends TrainingOptions {
  fracs: number[];
  labelMode: string;
  out: string;
}

/** Profile p's confident-learning subset of the training set and the recipe of its fold models. */
function confidentLearningSubset(s: Setup, o: StudyOptions, p: LabelStudyProfile) {
  const c = p.confidentLearning;
  const sub = subset(s.train, studyImages(c.images, s.train.count));
  return { c, sub, recipe: recipeWith(o, "ce", c.epochs) };
}

/**
 * Confident learning's k-fold LeNet-5 models on `sub` (`c.folds` folds), with a progress bar per
 * fold; `more` adds the labels to train on or the extra images to predict.
 */
function kFoldProbabilities(
  s: Setup,
  c: LabelStudyProfile["confidentLearning"],
  recipe: OutOfSampleConfig["recipe"],
  sub: Dataset,
  label: (fold: number) => string,
  more: Pick<OutOfSampleConfig, "labels" | "extra">,
): Promise<OutOfSample> {
  const foldImages = sub.count - Math.round(sub.count / c.folds);
  const images = c.epochs * Math.floor(foldImages / recipe.batchSize) * recipe.batchSize;
  return outOfSampleProbabilities({
    ctx: s.ctx,
    spec: lenet5(),
    recipe,
    data: sub,
    ...more,
    folds: c.folds,
    test: s.gpuTest,
    signal: installInterruptHandler(),
    hooks: (f): SessionHooks => {
      const bar = new ProgressBar({ total: images, label: label(f), unit: "img" });
      return {
        onProgress: (q) => bar.update(q.imagesSeen),
        afterTraining: () => Promise.resolve(bar.finish("trained")),
      };
    },
  });
}

/** A run stored as `<dir>/<key>.json` with its configuration; computed when absent or stale. */
async function stored<T>(
  dir: string,
  key: string,
  config: unknown,
  compute: () => Promise<T>,
): Promise<T> {
  const path = join(dir, `${key}.json`);
  try {
    const old = JSON.parse(await Deno.readTextFile(path));
    if (canonicalJson(old.config) === canonicalJson(config)) return old.record as T;
    console.error(`${path}: recorded with another configuration; training it again`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
  }
  const record = await compute();
  await ensureDir(dir);
  await writeJsonAtomic(path, { config, record });
  return record;
}

/** A Setup whose training (and optionally validation and test) data are replaced. */
function withData(
  s: Setup,
  train: Dataset,
  o: { validation?: Dataset; test?: Dataset } = {},
): { setup: Setup; release: () => void } {
  const px = train.rows * train.cols;
  const up = (d: Dataset, name: string) =>
    uploadDataset(s.ctx, d.images, d.labels, d.count, px, name);
  const gpuTrain = up(train, "study train");
  const gpuValidation = o.validation ? up(o.validation, "study held-out") : undefined;
  const gpuTest = o.test ? up(o.test, "study test") : s.gpuTest;
  return {
    setup: {
      ...s,
      train,
      gpuTrain,
      validation: o.validation,
      gpuValidation,
      test: o.test ?? s.test,
      gpuTest,
    },
    release: () => {
      for (const g of [gpuTrain, gpuValidation, o.test ? gpuTest : undefined]) {
        g?.images.destroy();
        g?.labels.destroy();
      }
    },
  };
}

const withLabels = (d: Dataset, labels: Uint8Array): Dataset => ({ ...d, labels });
const recipeWith = (
  o: TrainingOptions,
  loss: LossKind,
  epochs: number,
  schedule: TrainingOptions["schedule"] = o.schedule,
): Recipe => recipeOf({ ...o, loss, epochs, schedule });
const lossName = (l: LossKind) => l.toUpperCase();

/** Memorization over epochs, with early stopping on a held-out split with the noisy labels. */
async function memorization(
  s: Setup,
  o: StudyOptions,
  p: LabelStudyProfile,
  seeds: number[],
  dir: string,
): Promise<MemorizationRun[]> {
  const m = p.memorization, n = studyImages(m.images, s.train.count), nTrain = n - m.heldOut;
  const sub = subset(s.train, n);
  // the memorization curves measure clean test error every epoch on a test subset
  const test = subset(s.test, Math.min(s.test.count, m.testImages));
  const runs: MemorizationRun[] = [];
  for (const loss of m.losses) {
    for (const frac of o.fracs) {
      for (const seed of seeds) {
        const recipe = recipeWith(o, loss, m.epochs, m.schedule);
        const config = { recipe, seed, frac, images: n, heldOut: m.heldOut, test: test.count };
        runs.push(
          await stored(dir, `${loss}-frac${frac}-seed${seed}`, config, async () => {
            const noisy = corruptLabels(sub.labels, frac, seed, "uniform");
            const changed = new Uint8Array(n);
            for (let i = 0; i < n; i++) changed[i] = noisy.labels[i] !== sub.labels[i] ? 1 : 0;
            const all = withLabels(sub, noisy.labels);
            const { setup, release } = withData(s, subset(all, nTrain), {
              validation: subset(all, m.heldOut, nTrain),
              test,
            });
            const epochs: Omit<MemorizationEpoch, "testError" | "heldOutNoisyError">[] = [];
            const order = Array.from({ length: nTrain }, (_, i) => i);
            try {
              const r = await trainRun(setup, {
                recipe,
                seed,
                label: `memorization ${lossName(loss)} ${frac * 100}% seed ${seed}`,
                evalPointsPerEpoch: 1,
                afterEpoch: async (model, epoch) => {
                  const pred = argmaxRows(
                    await predictProbabilities(s.ctx, model, setup.gpuTrain, order),
                    10,
                  );
                  let fitC = 0, nC = 0, fitU = 0, nU = 0;
                  for (let i = 0; i < nTrain; i++) {
                    const fit = pred[i] === noisy.labels[i] ? 1 : 0;
                    if (changed[i]) (fitC += fit, nC++);
                    else (fitU += fit, nU++);
                  }
                  epochs.push({ epoch, fitCorrupted: nC ? fitC / nC : NaN, fitClean: fitU / nU });
                },
              });
              const full: MemorizationEpoch[] = epochs.map((e, i) => ({
                ...e,
                testError: r.testCurve.filter((t) => Math.round(t.epochs) === e.epoch).at(-1)
                  ?.error ?? NaN,
                heldOutNoisyError: r.valCurve[i].error,
              }));
              let best = 0;
              for (let i = 1; i < full.length; i++) {
                if (full[i].heldOutNoisyError < full[best].heldOutNoisyError) best = i;
              }
              return {
                loss,
                frac,
                seed,
                images: nTrain,
                changed: changed.reduce((a, b) => a + b, 0),
                epochs: full,
                bestEpoch: full[best].epoch,
                earlyStopError: full[best].testError,
                finalError: r.testError,
                trainSeconds: r.trainSeconds,
              };
            } finally {
              release();
            }
          }),
        );
      }
    }
  }
  return runs;
}

/** Runs of a condition trained on the whole training set with replaced labels and a loss. */
async function wholeSetRuns(
  s: Setup,
  o: StudyOptions,
  seeds: number[],
  dir: string,
  key: string,
  what: { frac: number; mode: "uniform" | "pairs"; loss: LossKind; label: string },
): Promise<StudyRun[]> {
  const recipe = recipeWith(o, what.loss, o.epochs);
  const runs: StudyRun[] = [];
  for (const seed of seeds) {
    const config = { recipe, seed, frac: what.frac, mode: what.mode, images: s.train.count };
    runs.push(
      await stored(dir, `${key}-seed${seed}`, config, async () => {
        const noisy = corruptLabels(s.train.labels, what.frac, seed, what.mode);
        const r = await trainRun(s, {
          recipe,
          seed,
          label: `${what.label} seed ${seed}`,
          evalPointsPerEpoch: 0, // the final test error only
          labels: what.frac > 0 ? noisy.labels : undefined,
        });
        return { seed, testError: r.testError, trainSeconds: r.trainSeconds };
      }),
    );
  }
  return runs;
}

/** The k-fold confident-learning estimate on a noisy training subset, with its ranking. */
async function confidentLearningRun(
  s: Setup,
  o: StudyOptions,
  p: LabelStudyProfile,
  frac: number,
  seed: number,
  dir: string,
  rankingLength: number,
): Promise<ConfidentLearningRun> {
  const { c, sub, recipe } = confidentLearningSubset(s, o, p), n = sub.count;
  const relabelImages = studyImages(p.relabel.images, n);
  const config = { recipe, seed, frac, images: n, folds: c.folds, rankingLength, relabelImages };
  return await stored(dir, `frac${frac}-seed${seed}`, config, async () => {
    const noisy = corruptLabels(sub.labels, frac, seed, "uniform");
    const oos = await kFoldProbabilities(
      s,
      c,
      sessionRecipeOf(recipe, seed),
      sub,
      (f) => `confident learning ${frac * 100}% seed ${seed} fold ${f + 1}/${c.folds}`,
      { labels: noisy.labels },
    );
    if (oos.interrupted) throw new InterruptedError("interrupted during confident learning");
    const r = confidentLearning(oos.probs, noisy.labels, 10);
    const isChanged = (i: number) => noisy.labels[i] !== sub.labels[i];
    let changed = 0;
    for (let i = 0; i < n; i++) if (isChanged(i)) changed++;
    const hits = r.suspects.filter((x) => isChanged(x.index)).length;
    // the relabeling subset (the first relabelImages) in order of suspicion: suspects first,
    // then every other image by self-confidence (p of the given label), ascending
    const inSubset = (i: number) => i < relabelImages;
    const suspects = r.suspects.map((x) => x.index).filter(inSubset);
    const inSuspects = new Set(suspects);
    const rest = Array.from({ length: relabelImages }, (_, i) => i).filter((i) =>
      !inSuspects.has(i)
    );
    const self = (i: number) => oos.probs[i * 10 + noisy.labels[i]];
    rest.sort((a, b) => self(a) - self(b) || a - b);
    const ranking = [...suspects, ...rest].slice(0, rankingLength);
    return {
      frac,
      seed,
      images: n,
      trueRate: changed / n,
      estimatedRate: r.noiseRate,
      noiseMatrix: r.noiseMatrix,
      confidentJoint: r.confidentJoint,
      suspects: r.suspects.length,
      precision: r.suspects.length ? hits / r.suspects.length : 0,
      recall: changed ? hits / changed : 1,
      foldTestErrors: oos.foldTestErrors,
      ranking,
      relabelImages,
      trainSeconds: oos.trainSeconds,
    };
  });
}

/** Confident learning on MNIST's own labels: the CL subset by k-fold, the test set by its models. */
async function auditMnist(
  s: Setup,
  o: StudyOptions,
  p: LabelStudyProfile,
  seed: number,
  dir: string,
): Promise<MnistAudit> {
  const { c, sub, recipe } = confidentLearningSubset(s, o, p);
  const config = { recipe, seed, images: sub.count, folds: c.folds, test: s.test.count };
  return await stored(dir, `mnist-seed${seed}`, config, async () => {
    const oos = await kFoldProbabilities(
      s,
      c,
      sessionRecipeOf(recipe, seed),
      sub,
      (f) => `audit of MNIST's labels fold ${f + 1}/${c.folds}`,
      { extra: s.gpuTest },
    );
    if (oos.interrupted) throw new InterruptedError("interrupted during the label audit");
    const split = (probs: Float32Array, labels: Uint8Array) => {
      const r = confidentLearning(probs, labels, 10);
      return {
        images: labels.length,
        noiseRate: r.noiseRate,
        suspects: r.suspects.length,
        top: r.suspects.slice(0, 40),
      };
    };
    return {
      seed,
      foldTestErrors: oos.foldTestErrors,
      train: split(oos.probs, sub.labels),
      test: split(oos.extraProbs!, s.test.labels),
    };
  });
}

/** Budgeted relabeling: restore K labels (CL's most suspicious or random), retrain. */
async function relabel(
  s: Setup,
  o: StudyOptions,
  p: LabelStudyProfile,
  cl: ConfidentLearningRun,
  dir: string,
): Promise<RelabelRun[]> {
  // the noisy labels of the confident-learning run, on the first n images of its subset
  const n = cl.relabelImages ?? cl.images, sub = subset(s.train, n);
  const noisy = corruptLabels(subset(s.train, cl.images).labels, cl.frac, cl.seed, "uniform")
    .labels.slice(0, n);
  const recipe = recipeWith(o, "ce", p.relabel.epochs, p.relabel.schedule ?? o.schedule);
  const wrong = (labels: Uint8Array) =>
    labels.reduce((a, l, i) => a + (l !== sub.labels[i] ? 1 : 0), 0);
  const plans: { method: RelabelRun["method"]; budget: number; pick: () => ArrayLike<number> }[] = [
    { method: "none", budget: 0, pick: () => [] },
  ];
  for (const K of p.relabel.budgets.filter((k) => k <= n)) {
    plans.push({ method: "cl", budget: K, pick: () => cl.ranking.slice(0, K) });
    plans.push({
      method: "random",
      budget: K,
      pick: () => new Rng(deriveSeed(cl.seed, "relabel", K)).permutation(n).subarray(0, K),
    });
  }
  const runs: RelabelRun[] = [];
  for (const plan of plans) {
    const config = {
      recipe,
      seed: cl.seed,
      frac: cl.frac,
      images: n,
      noiseImages: cl.images,
      ...plan,
      pick: undefined,
    };
    runs.push(
      await stored(
        dir,
        `frac${cl.frac}-${plan.method}${plan.budget}-seed${cl.seed}`,
        config,
        async () => {
          const labels = Uint8Array.from(noisy);
          for (const i of Array.from(plan.pick())) labels[i] = sub.labels[i]; // a perfect annotator
          const { setup, release } = withData(s, withLabels(sub, labels));
          try {
            const r = await trainRun(setup, {
              recipe,
              seed: cl.seed,
              evalPointsPerEpoch: 0,
              label: `relabel ${cl.frac * 100}% ${plan.method} ${
                formatCount(plan.budget)
              } seed ${cl.seed}`,
            });
            return {
              seed: cl.seed,
              frac: cl.frac,
              method: plan.method,
              budget: plan.budget,
              wrongBefore: wrong(noisy),
              wrongAfter: wrong(labels),
              testError: r.testError,
              trainSeconds: r.trainSeconds,
            };
          } finally {
            release();
          }
        },
      ),
    );
  }
  return runs;
}

/** Image noise x label noise, with and without the robust loss. */
async function grid(
  s: Setup,
  o: StudyOptions,
  p: LabelStudyProfile,
  seeds: number[],
  dir: string,
): Promise<GridRun[]> {
  const g = p.grid, n = studyImages(g.images, s.train.count), sub = subset(s.train, n);
  const runs: GridRun[] = [];
  // treatments: each loss, and for noisy images cross-entropy with fresh noise every epoch (the
  // image-noise compensation: noise augmentation instead of one fixed noisy copy)
  const treatments: { loss: LossKind; perEpoch: boolean }[] = [
    ...g.losses.map((loss) => ({ loss, perEpoch: false })),
    ...(g.noisePerEpoch ? [{ loss: "ce" as LossKind, perEpoch: true }] : []),
  ];
  for (const { loss, perEpoch } of treatments) {
    for (const sigma of g.sigmas.filter((x) => !perEpoch || x > 0)) {
      for (const frac of g.fracs) {
        for (const seed of seeds) {
          const recipe = recipeWith(o, loss, g.epochs);
          const config = {
            recipe,
            seed,
            sigma,
            frac,
            images: n,
            ...(perEpoch ? { perEpoch } : {}),
          };
          const key = `${loss}${perEpoch ? "-fresh" : ""}-sigma${sigma}-frac${frac}-seed${seed}`;
          runs.push(
            await stored(dir, key, config, async () => {
              const noisy = corruptLabels(sub.labels, frac, seed, "uniform");
              const { setup, release } = withData(s, withLabels(sub, noisy.labels));
              try {
                const r = await trainRun(setup, {
                  recipe,
                  seed,
                  label: `grid ${lossName(loss)}${perEpoch ? " fresh noise" : ""} sigma ${sigma} ${
                    frac * 100
                  }% seed ${seed}`,
                  evalPointsPerEpoch: 0,
                  noise: sigma > 0 ? runNoise(sigma, seed) : undefined,
                  noisePerEpoch: perEpoch,
                });
                return {
                  seed,
                  sigma,
                  frac,
                  loss,
                  ...(perEpoch ? { noisePerEpoch: true } : {}),
                  testError: r.testError,
                  trainSeconds: r.trainSeconds,
                };
              } finally {
                release();
              }
            }),
          );
        }
      }
    }
  }
  return runs;
}

/**
 * Runs every study of the profile (continuing stored runs) and returns their records; `main`
 * are Part 3's conditions (their cross-entropy runs with the same seeds are reused).
 */
export async function runLabelStudies(
  s: Setup,
  o: StudyOptions,
  p: LabelStudyProfile,
  main: readonly Part3Condition[],
): Promise<Omit<LabelStudies, "files">> {
  const seeds = runSeeds(o.seed, p.seeds), own = studySeeds(p);
  const memoSeeds = runSeeds(o.seed, own.memorization);
  const clSeeds = runSeeds(o.seed, own.confidentLearning);
  const dir = (name: string) => join(o.out, "studies", name);
  const noisy = o.fracs.filter((f) => f > 0);
  const fromMain = (frac: number) => {
    const c = main.find((x) => x.frac === frac);
    const runs = seeds.map((seed) => c?.runs.find((r) => r.seed === seed));
    return o.loss === "ce" && o.labelMode === "uniform" && runs.every((r) => r)
      ? runs.map((r) => ({ seed: r!.seed, testError: r!.testError, trainSeconds: r!.trainSeconds }))
      : undefined;
  };
  console.error(`\nlabel-noise studies (${p.name} profile, ${seeds.length} seeds)`);
  const memo = await memorization(s, o, p, memoSeeds, dir("memorization"));

  const robust: LabelStudies["robust"] = [];
  for (const loss of ["ce" as const, ...p.robust.losses]) {
    for (const frac of o.fracs) {
      const runs = (loss === "ce" ? fromMain(frac) : undefined) ??
        await wholeSetRuns(s, o, seeds, dir("robust"), `${loss}-frac${frac}`, {
          frac,
          mode: "uniform",
          loss,
          label: `${lossName(loss)} ${frac * 100}%`,
        });
      robust.push({ loss, frac, runs });
    }
  }
  const pairs: LabelStudies["pairs"] = [];
  if (p.pairs) {
    for (const frac of noisy) {
      pairs.push({
        frac,
        runs: await wholeSetRuns(s, o, seeds, dir("pairs"), `pairs-frac${frac}`, {
          frac,
          mode: "pairs",
          loss: "ce",
          label: `pairs ${frac * 100}%`,
        }),
      });
    }
  }
  const rankingLength = Math.max(0, ...p.relabel.budgets);
  const cl: ConfidentLearningRun[] = [];
  for (const frac of noisy) {
    for (const seed of clSeeds) {
      cl.push(
        await confidentLearningRun(s, o, p, frac, seed, dir("confident_learning"), rankingLength),
      );
    }
  }
  const audit = await auditMnist(s, o, p, seeds[0], dir("audit"));
  const relabelRuns: RelabelRun[] = [];
  for (const run of cl.filter((c) => p.relabel.fracs.includes(c.frac))) {
    relabelRuns.push(...await relabel(s, o, p, run, dir("relabel")));
  }
  const gridRuns = await grid(s, o, p, seeds, dir("grid"));
  return {
    profile: p,
    seeds,
    subsets: {
      memorization: studyImages(p.memorization.images, s.train.count),
      confidentLearning: studyImages(p.confidentLearning.images, s.train.count),
      grid: studyImages(p.grid.images, s.train.count),
      relabel: studyImages(
        p.relabel.images,
        studyImages(p.confidentLearning.images, s.train.count),
      ),
    },
    memorization: memo,
    robust,
    pairs,
    confidentLearning: cl,
    relabel: relabelRuns,
    audit,
    grid: gridRuns,
    ...(p.grid.noisePerEpoch
      ? {
        imageNoiseCompensation: "cross-entropy with the image noise drawn afresh every epoch " +
          "(noise augmentation) instead of one fixed noisy copy of each image",
      }
      : {}),
  };
}
