/**
 * Declarative model descriptions: a `Sequential`-style list of layers that the planner
 * (`plan.ts`) fuses into GPU blocks.
 *
 * @module
 */

/** 2D convolution, stride 1, zero padding. */
export interface Conv2dLayer {
  /** Layer type tag. */
  kind: "conv2d";
  /** Output channels (filters). */
  outChannels: number;
  /** Side of the square kernel, in pixels. */
  kernel: number;
  /** Zero padding on every side, in pixels (0 <= padding < kernel). */
  padding: number;
}

/** Rectified linear unit. */
export interface ReluLayer {
  /** Layer type tag. */
  kind: "relu";
}

/** 2x2 max-pool with stride 2. */
export interface MaxPool2dLayer {
  /** Layer type tag. */
  kind: "maxpool2d";
}

/** Flattens a feature map into a vector (PyTorch's channel-major order in checkpoints). */
export interface FlattenLayer {
  /** Layer type tag. */
  kind: "flatten";
}

/** Fully connected layer. */
export interface DenseLayer {
  /** Layer type tag. */
  kind: "dense";
  /** Output features. */
  units: number;
}

/** Inverted dropout while training (kept values scaled by 1 / (1 - p)); identity otherwise. */
export interface DropoutLayer {
  /** Layer type tag. */
  kind: "dropout";
  /** Probability of zeroing each value, in [0, 0.95]. */
  p: number;
}

/** One layer of a {@link ModelSpec}. */
export type LayerSpec =
  | Conv2dLayer
  | ReluLayer
  | MaxPool2dLayer
  | FlattenLayer
  | DenseLayer
  | DropoutLayer;

/** A model: input geometry and layers; the last layer's outputs are the class logits. */
export interface ModelSpec {
  /** Model name, used in error messages and reports (e.g. "lenet5"). */
  name: string;
  /** Input image geometry in pixels; only `channels: 1` is supported. */
  input: { height: number; width: number; channels: number };
  /** The layers in order, like the modules of a PyTorch `nn.Sequential`. */
  layers: LayerSpec[];
}

/** `Conv2d(in, outChannels, kernel, padding=padding)`. */
export function conv2d(
  outChannels: number,
  kernel: number,
  opts: { padding?: number } = {},
): Conv2dLayer {
  return { kind: "conv2d", outChannels, kernel, padding: opts.padding ?? 0 };
}

/** `ReLU()`. */
export function relu(): ReluLayer {
  return { kind: "relu" };
}

/** `MaxPool2d(2)`. */
export function maxPool2d(): MaxPool2dLayer {
  return { kind: "maxpool2d" };
}

/** `Flatten()`. */
export function flatten(): FlattenLayer {
  return { kind: "flatten" };
}

/** `Linear(in, units)`. */
export function dense(units: number): DenseLayer {
  return { kind: "dense", units };
}

/** `Dropout(p)`: no parameters, so checkpoint names are unchanged. */
export function dropout(p = 0.5): DropoutLayer {
  return { kind: "dropout", p };
}

/** A `Sequential` model over 28x28 single-channel images (or another input geometry). */
export function sequential(
  name: string,
  layers: LayerSpec[],
  input = { height: 28, width: 28, channels: 1 },
): ModelSpec {
  return { name, input, layers };
}

/**
 * Modern LeNet-5: conv 6@5x5 pad 2, ReLU, max-pool 2, conv 16@5x5, ReLU, max-pool 2,
 * dense 400-120-84-10 with ReLU.
 */
export function lenet5(classes = 10): ModelSpec {
  return sequential("lenet5", [
    conv2d(6, 5, { padding: 2 }),
    relu(),
    maxPool2d(),
    conv2d(16, 5),
    relu(),
    maxPool2d(),
    flatten(),
    dense(120),
    relu(),
    dense(84),
    relu(),
    dense(classes),
  ]);
}

/** A plain multi-layer perceptron with ReLU between layers. */
export function mlp(inputs: number, hidden: number[], classes = 10): ModelSpec {
  const layers: LayerSpec[] = [flatten()];
  for (const h of hidden) layers.push(dense(h), relu());
  layers.push(dense(classes));
  return sequential(`mlp-${[inputs, ...hidden, classes].join("-")}`, layers, {
    height: 1,
    width: inputs,
    channels: 1,
  });
}

/** Multinomial logistic regression: one dense layer from the pixels to the class logits. */
export function logreg(inputs = 784, classes = 10): ModelSpec {
  return sequential("logreg", [flatten(), dense(classes)], {
    height: 1,
    width: inputs,
    channels: 1,
  });
}

/**
 * A wider modern CNN: conv 32@3x3 pad 1, ReLU, max-pool 2, conv 64@3x3 pad 1, ReLU, max-pool 2,
 * dense 3136-256 with ReLU, dropout (default 0.5), dense 256-10. About 4.6 M multiply-adds per
 * image (LeNet-5: 0.4 M), so an epoch stays within minutes on a CPU adapter; a second conv per
 * stage would more than double that.
 */
export function cnn(classes = 10, opts: { dropout?: number } = {}): ModelSpec {
  return sequential("cnn", [
    conv2d(32, 3, { padding: 1 }),
    relu(),
    maxPool2d(),
    conv2d(64, 3, { padding: 1 }),
    relu(),
    maxPool2d(),
    flatten(),
    dense(256),
    relu(),
    dropout(opts.dropout ?? 0.5),
    dense(classes),
  ]);
}

/** The PyTorch module equivalent to a spec (for documentation and checkpoint users). */
export function torchModuleSource(spec: ModelSpec): string {
  let c = spec.input.channels, h = spec.input.height, w = spec.input.width, features = 0;
  const lines: string[] = [];
  for (const l of spec.layers) {
    switch (l.kind) {
      case "conv2d":
        lines.push(
          `nn.Conv2d(${c}, ${l.outChannels}, kernel_size=${l.kernel}, padding=${l.padding})`,
        );
        h = h + 2 * l.padding - l.kernel + 1;
        w = w + 2 * l.padding - l.kernel + 1;
        c = l.outChannels;
        break;
      case "relu":
        lines.push("nn.ReLU()");
        break;
      case "maxpool2d":
        lines.push("nn.MaxPool2d(2)");
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        break;
      case "flatten":
        lines.push("nn.Flatten()");
        features = c * h * w;
        break;
      case "dense":
        lines.push(`nn.Linear(${features || c * h * w}, ${l.units})`);
        features = l.units;
        break;
      case "dropout":
        lines.push(`nn.Dropout(${l.p})`);
        break;
    }
  }
  return `nn.Sequential(\n  ${lines.join(",\n  ")},\n)`;
}
