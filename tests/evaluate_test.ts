/** Evaluation kernels: the check suite's cases (src/check/evaluate.ts). */
import { EVALUATE_FAMILY } from "../src/check/evaluate.ts";
import { kernelFamilyTest } from "./helpers.ts";

kernelFamilyTest(EVALUATE_FAMILY);
