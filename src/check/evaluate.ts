/**
 * Evaluation kernels against the reference: argmax predictions and the confusion matrix
 * accumulated over several batches, the last one partial (rows past `valid` are not counted).
 *
 * @module
 */
import type { GpuContext } from "../gpu/context.ts";
import { type Dispatch, runDispatches } from "../gpu/program.ts";
import { StepParamsBuffer } from "../gpu/step_params.ts";
import { Tensor, upload } from "../gpu/tensor.ts";
import { accumulateConfusion, confusionRef, predictClasses } from "../ops/evaluate.ts";
import type { Rng } from "../util/rng.ts";
import {
  bindFamily,
  type CaseRun,
  Checks,
  type FamilySpec,
  randomArray,
  readBuffer,
} from "./family.ts";

/** Batches of (rows, rows that are real samples), accumulated into one confusion matrix. */
export interface EvaluateCase {
  batches: [rows: number, valid: number][];
  quick?: boolean;
}

/** The evaluate family: what its checks establish and its cases. */
const EVALUATE: FamilySpec<EvaluateCase> = {
  name: "evaluate",
  title:
    "predictions and the confusion matrix accumulated over batches (the last one partial) match " +
    "the reference",
  cases: [
    { batches: [[200, 200], [37, 30], [1, 1]], quick: true },
    { batches: [[1000, 1000], [37, 30], [1, 1]] },
  ],
  describe: (c) => c.batches.map(([b, v]) => `${v}/${b}`).join(" + "),
};

const CLASSES = 10;

/** Runs the evaluation kernels over a case's batches and compares the counts exactly. */
export async function checkEvaluate(
  ctx: GpuContext,
  { batches }: EvaluateCase,
  r: Rng,
): Promise<CaseRun<{ last: Dispatch[] }>> {
  const N = CLASSES;
  const counts = ctx.device.createBuffer({
    size: N * N * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const want = new Array<number>(N * N).fill(0);
  let last: Dispatch[] = [];
  for (const [B, valid] of batches) {
    const z = randomArray(r, B * N), labels = Array.from({ length: B }, () => r.int(N));
    const tz = Tensor.create(ctx, B, N, "logits"), tl = Tensor.create(ctx, 1, B, "labels");
    const tp = Tensor.create(ctx, 1, B, "preds");
    upload(ctx, tz, z);
    upload(ctx, tl, labels);
    const params = new StepParamsBuffer(ctx, 1);
    params.write(0, [{ step: 0, batchStart: 0, valid }]);
    last = [
      await predictClasses(ctx, { logits: tz, preds: tp, counts }),
      await accumulateConfusion(ctx, { preds: tp, labels: tl, classes: N, counts, params }),
    ];
    await runDispatches(ctx, last);
    const m = confusionRef(z, labels, valid, N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) want[i * N + j] += m[i][j];
  }
  const got = new Uint32Array(await readBuffer(ctx, counts, N * N * 4));
  const ck = new Checks("evaluate", batches.map(([b, v]) => `${v}/${b}`).join(" + "));
  ck.close("confusion matrix over batches (rows counted/in batch)", got, want, 0, [N, N]);
  return ck.done({ last });
}

/** The evaluation family of the suite. */
export const EVALUATE_FAMILY = bindFamily(EVALUATE, checkEvaluate);
