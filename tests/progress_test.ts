import assert from "node:assert/strict";
import {
  formatCount,
  formatDuration,
  formatRate,
  ProgressBar,
  type ProgressBarOptions,
  renderBar,
} from "../src/cli/progress.ts";

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(17), "0:17");
  assert.equal(formatDuration(17.4), "0:17");
  assert.equal(formatDuration(59.6), "1:00");
  assert.equal(formatDuration(605), "10:05");
  assert.equal(formatDuration(3600), "1:00:00");
  assert.equal(formatDuration(3 * 3600 + 62), "3:01:02");
  for (const unknown of [NaN, Infinity, -1]) assert.equal(formatDuration(unknown), "--:--");
});

Deno.test("formatRate and formatCount", () => {
  assert.equal(formatRate(3412.4, "img"), "3,412 img/s");
  assert.equal(formatRate(1234567, "img"), "1,234,567 img/s");
  assert.equal(formatRate(100, "img"), "100 img/s");
  assert.equal(formatRate(42.46, "img"), "42.5 img/s");
  assert.equal(formatRate(0.75, "batch"), "0.75 batch/s");
  assert.equal(formatRate(0, "img"), "0.00 img/s");
  assert.equal(formatRate(NaN, "img"), "-- img/s");
  assert.equal(formatRate(Infinity, "img"), "-- img/s");
  assert.equal(formatCount(60000), "60,000");
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(-1234), "-1,234");
});

Deno.test("renderBar fills cells by fraction, clamped, full only at 1", () => {
  assert.equal(renderBar(0, 10), "..........");
  assert.equal(renderBar(0.5, 10), "#####.....");
  assert.equal(renderBar(0.999, 10), "#########.");
  assert.equal(renderBar(1, 10), "##########");
  assert.equal(renderBar(1.7, 4), "####");
  assert.equal(renderBar(-0.2, 4), "....");
  assert.equal(renderBar(NaN, 4), "....");
  assert.equal(renderBar(0.5, 0), "");
});

/** A stream that records what was written, and a clock the test moves by hand. */
function harness(terminal: boolean, extra: Partial<ProgressBarOptions> = {}) {
  const decoder = new TextDecoder();
  let text = "";
  let writes = 0;
  const clock = { t: 1000 };
  const stream = {
    writeSync(bytes: Uint8Array) {
      writes++;
      // Accept at most 7 bytes per call so the bar must handle partial writes.
      const n = Math.min(7, bytes.length);
      text += decoder.decode(bytes.subarray(0, n), { stream: true });
      return n;
    },
    isTerminal: () => terminal,
  };
  const bar = new ProgressBar({
    total: 60_000,
    label: "epoch 1",
    unit: "img",
    stream,
    now: () => clock.t,
    ...extra,
  });
  return {
    bar,
    clock,
    text: () => text,
    lines: () => text.split("\n").filter((l) => l !== ""),
    writes: () => writes,
  };
}

Deno.test("the line shows label, bar, done/total, rate, ETA, elapsed and extra text", () => {
  const h = harness(false);
  // 1,000 img per second for 10 s.
  for (let s = 1; s <= 10; s++) {
    h.clock.t += 1000;
    h.bar.update(s * 1000, "loss 0.213");
  }
  assert.equal(
    h.bar.line(),
    "epoch 1 [###.................]  16%  10,000/60,000 img  1,000 img/s  ETA 0:50  " +
      "elapsed 0:10  loss 0.213",
  );
  h.clock.t += 1000;
  h.bar.update(11_000); // keeps the previous extra text
  assert.match(h.bar.line(), /loss 0\.213$/);
});

Deno.test("off a terminal: a plain line at most every 5 s, and one at the end", () => {
  const h = harness(false);
  // 2 minutes of updates, ten per second.
  for (let i = 1; i <= 1200; i++) {
    h.clock.t += 100;
    h.bar.update(i * 50, `loss ${(1 / i).toFixed(3)}`);
  }
  let lines = h.lines();
  assert.equal(lines.length, 24, lines.join("\n")); // 120 s / 5 s
  assert.ok(!h.text().includes("\r"), "no carriage returns in logs");
  assert.match(
    lines[0],
    /^epoch 1 \[.*\] +4% {2}2,500\/60,000 img {2}500 img\/s {2}ETA 1:55 {2}elapsed 0:05/,
  );
  h.bar.finish("train acc 97.1%");
  lines = h.lines();
  assert.equal(lines.length, 25);
  assert.equal(
    lines[24],
    "epoch 1 [####################] 100%  60,000/60,000 img  500 img/s  done in 2:00  " +
      "train acc 97.1%",
  );
  // Nothing after finish.
  h.bar.update(1);
  h.bar.finish();
  assert.equal(h.lines().length, 25);
});

Deno.test("off a terminal, short work prints only its final line", () => {
  const h = harness(false);
  for (let i = 1; i <= 40; i++) {
    h.clock.t += 100;
    h.bar.update(i * 1500);
  }
  assert.equal(h.text(), "");
  h.bar.finish();
  assert.deepEqual(h.lines(), [
    "epoch 1 [####################] 100%  60,000/60,000 img  15,000 img/s  done in 0:04",
  ]);
});

Deno.test("on a terminal: redraws one line with \\r at most ten times per second", () => {
  const h = harness(true, { columns: 200 });
  // 2 s of updates every 10 ms.
  for (let i = 1; i <= 200; i++) {
    h.clock.t += 10;
    h.bar.update(i * 100);
  }
  const redraws = h.text().split("\r").length - 1;
  assert.ok(redraws >= 19 && redraws <= 21, `${redraws} redraws in 2 s`);
  assert.ok(!h.text().includes("\n"), "a terminal progress line never scrolls");
  h.bar.finish();
  assert.ok(h.text().endsWith("\n"));
  const finalLine = h.text().split("\r").at(-1)!;
  assert.match(
    finalLine,
    /^epoch 1 \[#+\.*\] +33% {2}20,000\/60,000 img {2}10,000 img\/s {2}done in 0:02/,
  );
});

Deno.test("on a terminal: lines are cut to the width and pad over longer ones", () => {
  const h = harness(true, { columns: 60 });
  h.clock.t += 1000;
  h.bar.update(1000, "x".repeat(100));
  const drawn = h.text().split("\r").at(-1)!;
  assert.equal(drawn.length, 59);
  const h2 = harness(true, { columns: 300 });
  h2.clock.t += 1000;
  h2.bar.update(1000, "a long extra text that makes the line long");
  h2.clock.t += 1000;
  h2.bar.update(2000, "short");
  const [first, second] = h2.text().split("\r").slice(1);
  assert.equal(second.length, first.length, "the shorter line is padded to erase the old one");
  assert.match(second, /short +$/);
});

Deno.test("log() prints a message on its own line and redraws the bar under it", () => {
  const h = harness(true, { columns: 200 });
  h.clock.t += 1000;
  h.bar.update(1000);
  h.bar.log("epoch 1: val acc 97.9%");
  const text = h.text();
  assert.match(text, /\r +\repoch 1: val acc 97\.9%\n\repoch 1 \[/);
  const plain = harness(false);
  plain.bar.log("hello");
  assert.equal(plain.text(), "hello\n");
});

Deno.test("rate and ETA follow the recent window, not the slow start", () => {
  const h = harness(false, { rateWindowMs: 10_000 });
  // A 30 s warm-up with no progress, then 2,000 img/s for 20 s.
  h.clock.t += 30_000;
  h.bar.update(0);
  for (let s = 1; s <= 20; s++) {
    h.clock.t += 1000;
    h.bar.update(s * 2000);
  }
  const line = h.bar.line();
  assert.match(line, /2,000 img\/s {2}ETA 0:10 {2}elapsed 0:50/);
});

Deno.test("a zero total shows a full bar; a bad total is rejected", () => {
  const h = harness(false, { total: 0 });
  assert.match(h.bar.line(), /\[#{20}\] 100% {2}0\/0 img/);
  assert.throws(() => harness(false, { total: NaN }), RangeError);
  assert.throws(() => harness(false, { total: -1 }), RangeError);
});
