/**
 * The label-noise studies of Part 3 beyond the basic sweep, as data: their profiles (standard
 * and full), the cost of a profile in image-steps (for the plan line and its ETA), and the
 * records they store in `results/part3/metrics.json` under `studies`. Browser-safe.
 *
 * @module
 */
import type { LossKind } from "../ops/robust_xent.ts";

/** Sizes of the label-noise studies. `images: 0` means the whole training set. */
export interface LabelStudyProfile {
  /** Which profile. */
  name: "standard" | "full";
  /** Seeds of every study (the first of the part's run seeds) unless the study names its own. */
  seeds: number;
  /**
   * Memorization over epochs: a training subset with a held-out part carrying noisy labels,
   * trained with `schedule` (constant: memorization is not hidden by a learning rate decayed
   * to 0), its clean test error measured on the first `testImages` test images every epoch.
   */
  memorization: {
    images: number;
    heldOut: number;
    epochs: number;
    losses: LossKind[];
    schedule: "constant" | "cosine";
    testImages: number;
    seeds?: number;
  };
  /** Robust losses at the part's schedule (1 epoch by default) on the whole training set. */
  robust: { losses: LossKind[] };
  /** Systematic (pairs) label noise at the part's fractions, whole training set. */
  pairs: boolean;
  /** Confident-learning estimate with k-fold models on a training subset (and its seeds). */
  confidentLearning: { images: number; folds: number; epochs: number; seeds?: number };
  /**
   * Budgeted relabeling of each confident-learning run (same seeds and noisy labels): the
   * first `images` of its subset (0: all of it), retrained for `epochs` with `schedule`
   * (default the part's).
   */
  relabel: {
    images: number;
    fracs: number[];
    budgets: number[];
    epochs: number;
    schedule?: "constant" | "cosine";
  };
  /**
   * Image noise x label noise grid, each cell with and without the robust loss and, with
   * `noisePerEpoch`, the noisy-image cells also with cross-entropy and fresh noise every epoch.
   */
  grid: {
    images: number;
    epochs: number;
    sigmas: number[];
    fracs: number[];
    losses: LossKind[];
    noisePerEpoch: boolean;
  };
}

// Both profiles' grid: image noise sigmas x label-noise fractions x losses.
const GRID_AXES = {
  sigmas: [0, 32, 128],
  fracs: [0, 0.15, 0.5],
  losses: ["ce", "gce"] as LossKind[],
};

/**
 * About 7.3 million image-steps (forward passes at a quarter step; about 12 minutes at 10,000
 * images/s) of label-noise studies, next to Part 3's sweep (3 noisy fractions x 60,000 images
 * per seed). The previous profile counted the same way was about 3.2 million.
 */
export const STANDARD_LABEL_STUDIES: LabelStudyProfile = {
  name: "standard",
  seeds: 2,
  // 1,600 images for 20 epochs at a constant rate: at 50% noise the changed labels go from
  // about 2% fitted (epoch 8) to 70% (epoch 20) and the clean test error from 13% to 36%;
  // 3 seeds so that early stopping vs the last epoch is a usable paired interval
  memorization: {
    images: 2000,
    heldOut: 400,
    epochs: 20,
    losses: ["ce", "gce"],
    schedule: "constant",
    testImages: 2000,
    seeds: 3,
  },
  robust: { losses: ["gce"] },
  pairs: true,
  // whole training set, 1 epoch: at 50% noise the 10,000-image subset (3 epochs) overestimated
  // the rate by 1.2 points (fold models' test error 5.5%), the whole set by 0.6 (3.3%)
  confidentLearning: { images: 0, folds: 4, epochs: 1, seeds: 3 },
  // retrained where wrong labels cost accuracy: 15 epochs at a constant rate on 4,000 images
  // memorize them (see memorization); at 2 epochs on 10,000 images uniform noise barely hurt
  // and suspects-first vs random differed by 0.2 points or less, not established at 3 seeds
  relabel: {
    images: 4000,
    fracs: [0.15, 0.5],
    budgets: [400, 1000, 2000],
    epochs: 15,
    schedule: "constant",
  },
  grid: {
    images: 4000,
    epochs: 2,
    ...GRID_AXES,
    noisePerEpoch: true,
  },
};

/** Everything at 5 seeds on the whole training set (memorization: a subset, where it shows). */
export const FULL_LABEL_STUDIES: LabelStudyProfile = {
  name: "full",
  seeds: 5,
  memorization: {
    images: 2000,
    heldOut: 400,
    epochs: 30,
    losses: ["ce", "gce", "sce"],
    schedule: "constant",
    testImages: 10000,
  },
  robust: { losses: ["gce", "sce"] },
  pairs: true,
  confidentLearning: { images: 0, folds: 4, epochs: 2 },
  relabel: { images: 0, fracs: [0.15, 0.5], budgets: [1000, 2500, 5000, 10000], epochs: 1 },
  grid: {
    images: 0,
    epochs: 1,
    ...GRID_AXES,
    noisePerEpoch: true,
  },
};

/** Seeds of the memorization study and of confident learning (with relabeling). */
export function studySeeds(
  p: LabelStudyProfile,
): { memorization: number; confidentLearning: number } {
  return {
    memorization: p.memorization.seeds ?? p.seeds,
    confidentLearning: p.confidentLearning.seeds ?? p.seeds,
  };
}

/** Training images of a study subset: `images`, or all `n` when 0 (or more than n). */
export function studyImages(images: number, n: number): number {
  return images > 0 ? Math.min(images, n) : n;
}

/** A forward pass (evaluation, prediction) costs about a quarter of a training image-step. */
export const FORWARD_COST = 0.25;

/**
 * Training image-steps (images x epochs) of each study, for the plan line, with the studies'
 * own forward passes (per-epoch curves, fold predictions) as {@link FORWARD_COST} steps each:
 * `trainImages` and `testImages` are the part's data, `fracs` its fractions, `epochs` its
 * schedule; `ceFromSweep` when the part's sweep has the cross-entropy runs of the studies' seeds.
 */
export function labelStudyCost(
  p: LabelStudyProfile,
  trainImages: number,
  fracs: readonly number[],
  epochs: number,
  ceFromSweep = true,
  testImages = 10000,
): Record<string, number> {
  const S = p.seeds, noisy = fracs.filter((f) => f > 0), seeds = studySeeds(p);
  const m = studyImages(p.memorization.images, trainImages);
  const cl = studyImages(p.confidentLearning.images, trainImages);
  const g = studyImages(p.grid.images, trainImages);
  const rl = studyImages(p.relabel.images, cl);
  const relabelFracs = p.relabel.fracs.filter((f) => noisy.includes(f));
  const memoRuns = seeds.memorization * fracs.length * p.memorization.losses.length;
  // every epoch: the training images and the held-out split predicted, the test subset evaluated
  const memoForward = m + Math.min(p.memorization.testImages, testImages);
  const clRuns = seeds.confidentLearning * noisy.length + 1; // + the audit of MNIST's labels
  const c = p.confidentLearning;
  const gridCells = p.grid.sigmas.length * p.grid.fracs.length;
  const gridRuns = gridCells * p.grid.losses.length +
    (p.grid.noisePerEpoch ? p.grid.sigmas.filter((s) => s > 0).length * p.grid.fracs.length : 0);
  return {
    /** Memorization runs. */
    memorization: memoRuns * p.memorization.epochs *
      ((m - p.memorization.heldOut) + FORWARD_COST * memoForward),
    // cross-entropy comes from the part's sweep when it has the studies' seeds
    robust: S * fracs.length * (p.robust.losses.length + (ceFromSweep ? 0 : 1)) * epochs *
      trainImages,
    pairs: p.pairs ? S * noisy.length * epochs * trainImages : 0,
    // each fold model trains on the other folds, predicts its own and scores the test set
    confidentLearning: clRuns * c.folds *
      (c.epochs * (cl - Math.round(cl / c.folds)) +
        FORWARD_COST * (Math.round(cl / c.folds) + testImages)),
    relabel: seeds.confidentLearning * relabelFracs.length * (1 + 2 * p.relabel.budgets.length) *
      (p.relabel.epochs * rl + FORWARD_COST * testImages),
    grid: S * gridRuns * (p.grid.epochs * g + FORWARD_COST * testImages),
  };
}

/** One epoch of a memorization run. */
export interface MemorizationEpoch {
  /** Epochs completed (1-based). */
  epoch: number;
  /** Clean test error after the epoch. */
  testError: number;
  /** Error against the noisy labels of the held-out split (no clean labels needed). */
  heldOutNoisyError: number;
  /** Fraction of the training images whose label was changed that the model predicts as given. */
  fitCorrupted: number;
  /** The same on the untouched training images. */
  fitClean: number;
}

/** A memorization run: per-epoch curves and the early-stopping outcome. */
export interface MemorizationRun {
  /** The training loss. */
  loss: LossKind;
  /** Fraction of training images whose label was randomized. */
  frac: number;
  /** Run seed. */
  seed: number;
  /** Training images of the run. */
  images: number;
  /** Labels that differ from the original. */
  changed: number;
  /** One entry per epoch. */
  epochs: MemorizationEpoch[];
  /** The epoch with the lowest held-out noisy error (first on a tie). */
  bestEpoch: number;
  /** Clean test error at that epoch: early stopping. */
  earlyStopError: number;
  /** Clean test error after the last epoch. */
  finalError: number;
  /** Training wall time in seconds. */
  trainSeconds: number;
}

/** A run of one condition of a simple study: its seed and clean test error. */
export interface StudyRun {
  /** Run seed. */
  seed: number;
  /** Clean test error (0..1). */
  testError: number;
  /** Training wall time in seconds. */
  trainSeconds: number;
}

/** A confident-learning run on one noisy training subset. */
export interface ConfidentLearningRun {
  /** Fraction of training images whose label was randomized. */
  frac: number;
  /** Run seed. */
  seed: number;
  /** Training images of the run. */
  images: number;
  /** Labels that differ from the original / images. */
  trueRate: number;
  /** 1 - trace(Q). */
  estimatedRate: number;
  /** Q[given][true] normalized per given label. */
  noiseMatrix: number[][];
  /** The confident joint C[given][true] (counts). */
  confidentJoint: number[][];
  /** Images flagged as probably mislabeled. */
  suspects: number;
  /** Of the suspects, the fraction whose label was really changed. */
  precision: number;
  /** Of the changed labels, the fraction among the suspects. */
  recall: number;
  /** Each fold model's clean test error. */
  foldTestErrors: number[];
  /**
   * Images of the relabeling subset (the first `relabelImages`) in order of suspicion (the
   * suspects first, then by self-confidence), the first `length`.
   */
  ranking: number[];
  /** Images of the relabeling subset the ranking covers. */
  relabelImages?: number;
  /** Training wall time in seconds. */
  trainSeconds: number;
}

/** A relabeling run: K labels restored to the original, chosen by CL or at random. */
export interface RelabelRun extends StudyRun {
  /** Fraction of training images whose label was randomized. */
  frac: number;
  /** none, the most suspicious first (cl), or random. */
  method: "none" | "cl" | "random";
  /** Labels restored (K). */
  budget: number;
  /** Wrong labels before relabeling. */
  wrongBefore: number;
  /** Wrong labels after relabeling. */
  wrongAfter: number;
}

/** A cell of the image-noise x label-noise grid. */
export interface GridRun extends StudyRun {
  /** Gaussian image-noise sigma (0..255 scale). */
  sigma: number;
  /** Fraction of training images whose label was randomized. */
  frac: number;
  /** The training loss. */
  loss: LossKind;
  /** Fresh image noise every epoch (noise augmentation) instead of one fixed draw per image. */
  noisePerEpoch?: boolean;
}

/** One split of the audit of MNIST's own labels. */
export interface AuditSplit {
  /** Images audited. */
  images: number;
  /** Estimated label-noise rate 1 - trace(Q). */
  noiseRate: number;
  /** Number of suspects. */
  suspects: number;
  /** The most suspicious labels, most suspicious first. */
  top: { index: number; givenLabel: number; suggestedLabel: number; confidence: number }[];
  /** The PNG grid of the top suspects in the part's folder. */
  file?: string;
}

/** Confident learning on MNIST's own labels: training subset (k-fold) and test set. */
export interface MnistAudit {
  /** Run seed of the fold models. */
  seed: number;
  /** Clean test error of each fold model. */
  foldTestErrors: number[];
  /** The first N training images, audited by k-fold models. */
  train: AuditSplit;
  /** The test set, audited by the same fold models (probabilities averaged). */
  test: AuditSplit;
}

/** `studies` in results/part3/metrics.json. */
export interface LabelStudies {
  /** The sizes the studies ran with. */
  profile: LabelStudyProfile;
  /** Run seeds of the studies (the memorization and confident-learning runs may have more). */
  seeds: number[];
  /** Images the subset studies use (the first N of the training set). */
  subsets: { memorization: number; confidentLearning: number; grid: number; relabel?: number };
  /** Memorization runs. */
  memorization: MemorizationRun[];
  /** Per loss and fraction, the 1-epoch (part schedule) runs; "ce" from the part's sweep. */
  robust: { loss: LossKind; frac: number; runs: StudyRun[] }[];
  /** Pairs noise per fraction (uniform from the part's sweep). */
  pairs: { frac: number; runs: StudyRun[] }[];
  /** Confident-learning runs. */
  confidentLearning: ConfidentLearningRun[];
  /** Relabeling runs. */
  relabel: RelabelRun[];
  /** Confident learning on MNIST's own labels (no noise added). */
  audit?: MnistAudit;
  /** Image-noise x label-noise runs. */
  grid: GridRun[];
  /** What compensates image noise in the grid (absent: only the robust loss was tried). */
  imageNoiseCompensation?: string;
  /** Chart files (PNG) in the part's folder. */
  files: Record<string, string>;
}
