/**
 * The figures of a sweep over noise levels (Parts 2 and 3): error against the level, per-class
 * error at each level, learning curves at each level.
 *
 * @module
 */
import {
  type SweepCondition,
  sweepCurvesChart,
  sweepErrorChart,
  sweepPerClassChart,
} from "../charts.ts";
import type { ReportFigure } from "./types.ts";
import { classNounOf } from "../../data/catalog.ts";

export function sweepFigures(
  part: 2 | 3,
  sweep: SweepCondition[],
  x: { file: string; title: string; xLabel: string },
  classNames?: readonly string[],
): ReportFigure[] {
  const what = part === 2 ? "noise level" : "label-noise level";
  return [
    {
      id: `part${part}-error`,
      caption: "Test error on the clean test set; error bars ±1 sd over seeds (none with one run).",
      png: `part${part}/${x.file}`,
      spec: sweepErrorChart({ title: x.title, xLabel: x.xLabel, conditions: sweep }),
      width: 800,
      height: 480,
    },
    {
      id: `part${part}-per-class`,
      caption: `Test error of each ${classNounOf(classNames)} at each ${what}.`,
      png: `part${part}/per_class_error.png`,
      spec: sweepPerClassChart({
        title: `Part ${part}: test error per class at each ${what}`,
        conditions: sweep,
        classNames,
      }),
      width: 900,
      height: 480,
    },
    {
      id: `part${part}-curves`,
      caption: `Training loss (solid, left axis) and test error (dashed, right axis) during ` +
        `training at each ${what}.`,
      png: `part${part}/learning_curves.png`,
      spec: sweepCurvesChart({
        title: `Part ${part}: learning curves at each ${what}`,
        conditions: sweep,
      }),
      width: 900,
      height: 520,
    },
  ];
}
