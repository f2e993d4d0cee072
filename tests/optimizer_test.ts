/** Optimizer updates: the check suite's cases (src/check/optimizer.ts). */
import { OPTIMIZER_FAMILY } from "../src/check/optimizer.ts";
import { kernelFamilyTest } from "./helpers.ts";

kernelFamilyTest(OPTIMIZER_FAMILY);
