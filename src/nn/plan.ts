/**
 * Planner: fuses a layer list into GPU blocks and infers every tensor's shape.
 *
 * Fusions: conv2d [+ relu] [+ maxpool2d] (also conv2d + maxpool2d + relu, which is the same
 * function) and dense [+ relu]. Flatten is free: a feature map is already one row per image.
 *
 * Gradient convention between blocks: a block whose output is relu(z) without pooling
 * (`outputIsRelu`) receives the gradient of z, because its consumer masks its input gradient
 * by (input > 0) inside its own kernel; every other block receives the gradient of its output.
 *
 * @module
 */
import { EngineError } from "../util/errors.ts";
import { pad4 } from "../gpu/tensor.ts";
import type { LayerSpec, ModelSpec } from "./spec.ts";

/** A channels-last feature map; `stored` channels per position (1 for raw images, else pad4). */
export interface MapShape {
  /** Shape type tag. */
  kind: "map";
  /** Rows of the map, in pixels. */
  height: number;
  /** Columns of the map, in pixels. */
  width: number;
  /** Real channels per position. */
  channels: number;
  /** Stored channels per position: 1 for raw images, else pad4(channels) (padding is 0). */
  stored: number;
}

/** A feature vector of `features` stored values, optionally a flattened map (for checkpoints). */
export interface VecShape {
  /** Shape type tag. */
  kind: "vec";
  /** Stored values per image (tensor row), including a flattened map's channel padding. */
  features: number;
  /** The map this vector was flattened from (stored order (h, w, c), PyTorch order (c, h, w)). */
  fromMap?: MapShape;
}

/** Shape of one image's activation: a feature map or a feature vector. */
export type ActShape = MapShape | VecShape;

/** Floats per image (tensor row) of an activation. */
export function rowFloats(s: ActShape): number {
  return s.kind === "map" ? s.height * s.width * s.stored : s.features;
}

/** A conv2d layer with the ReLU and 2x2 max-pool that follow it fused in (one kernel). */
export interface ConvBlock {
  /** Block type tag. */
  kind: "conv";
  /** `conv1`, `conv2`, ...: the PyTorch parameter prefix (`conv1.weight`, `conv1.bias`). */
  name: string;
  /** Input feature map. */
  input: MapShape;
  /** Output feature map (after the pool when `pool`). */
  output: MapShape;
  /** Output channels. */
  outChannels: number;
  /** Side of the square kernel, in pixels. */
  kernel: number;
  /** Zero padding on every side, in pixels. */
  padding: number;
  /** A ReLU is fused in. */
  relu: boolean;
  /** A 2x2 max-pool (stride 2) is fused in. */
  pool: boolean;
  /**
   * True when the output is relu(z) without pooling: the block then receives the gradient of z,
   * which its consumer masks by (input > 0) (the gradient convention of this module).
   */
  outputIsRelu: boolean;
}

/** A dense layer with the ReLU that follows it fused in. */
export interface DenseBlock {
  /** Block type tag. */
  kind: "dense";
  /** `fc1`, `fc2`, ...: the PyTorch parameter prefix (`fc1.weight`, `fc1.bias`). */
  name: string;
  /** Input vector (possibly a flattened map). */
  input: VecShape;
  /** Output vector of `units` features. */
  output: VecShape;
  /** Output features. */
  units: number;
  /** A ReLU is fused in. */
  relu: boolean;
  /** Equal to `relu`: the block receives the gradient of z, masked by its consumer. */
  outputIsRelu: boolean;
}

/** A standalone 2x2 max-pool (stride 2) that could not be fused into a convolution. */
export interface PoolBlock {
  /** Block type tag. */
  kind: "pool";
  /** `pool1`, `pool2`, ... (no parameters). */
  name: string;
  /** Input feature map. */
  input: MapShape;
  /** Output map: half the height and width, rounded down. */
  output: MapShape;
  /** Always false. */
  outputIsRelu: false;
}

/** A standalone ReLU that could not be fused into the block before it. */
export interface ReluBlock {
  /** Block type tag. */
  kind: "relu";
  /** `relu1`, `relu2`, ... (no parameters). */
  name: string;
  /** Input activation. */
  input: ActShape;
  /** Output activation, the same shape as the input. */
  output: ActShape;
  /** Always true. */
  outputIsRelu: true;
}

/** One GPU block of a {@link Plan}: one or more fused layers. */
export type Block = ConvBlock | DenseBlock | PoolBlock | ReluBlock;

/** The fused blocks of a model and its input/output shapes. */
export interface Plan {
  /** Input images: a single-channel map with `stored` 1. */
  input: MapShape;
  /** Blocks in forward order; the last is the dense block that produces the logits. */
  blocks: Block[];
  /** Number of classes (units of the last dense block). */
  classes: number;
}

/** An invalid model description; the message says which layer and why. */
export class ModelSpecError extends EngineError {
  /** Always `"ModelSpecError"`. */
  override name = "ModelSpecError";
}

/**
 * Fuses and checks a model spec.
 *
 * @throws ModelSpecError when the input geometry, a layer's parameters or the layer order are
 *   not supported (e.g. dense on a map without flatten, or a last layer that is not dense)
 */
export function planModel(spec: ModelSpec): Plan {
  const { height, width, channels } = spec.input;
  for (const [k, v] of Object.entries({ height, width, channels })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new ModelSpecError(`${spec.name}: input ${k} must be a positive integer`);
    }
  }
  if (channels !== 1) {
    throw new ModelSpecError(
      `${spec.name}: only single-channel inputs are supported (got ${channels} channels)`,
    );
  }
  if ((height * width) % 4 !== 0) {
    throw new ModelSpecError(
      `${spec.name}: input height*width must be a multiple of 4 (got ${height}x${width})`,
    );
  }
  const input: MapShape = { kind: "map", height, width, channels: 1, stored: 1 };
  let shape: ActShape = input;
  const blocks: Block[] = [];
  const layers = spec.layers;
  let convs = 0, fcs = 0, pools = 0, relus = 0;
  const where = (i: number) => `${spec.name}: layer ${i} (${layers[i].kind})`;
  for (let i = 0; i < layers.length; i++) {
    const l: LayerSpec = layers[i];
    const next = (k: number) => layers[i + k]?.kind;
    switch (l.kind) {
      case "conv2d": {
        if (shape.kind !== "map") {
          throw new ModelSpecError(`${where(i)}: needs a feature map, got a vector`);
        }
        for (const [k, v] of Object.entries({ outChannels: l.outChannels, kernel: l.kernel })) {
          if (!Number.isInteger(v) || v < 1) {
            throw new ModelSpecError(`${where(i)}: ${k} must be a positive integer`);
          }
        }
        if (!Number.isInteger(l.padding) || l.padding < 0 || l.padding >= l.kernel) {
          throw new ModelSpecError(`${where(i)}: padding must be in [0, kernel)`);
        }
        const ho = shape.height + 2 * l.padding - l.kernel + 1,
          wo = shape.width + 2 * l.padding - l.kernel + 1;
        if (ho < 1 || wo < 1) {
          throw new ModelSpecError(
            `${where(i)}: kernel ${l.kernel} does not fit ${shape.height}x${shape.width}`,
          );
        }
        let relu = false, pool = false, used = 0;
        if (next(1) === "relu") {
          relu = true;
          used = 1;
          if (next(2) === "maxpool2d") {
            pool = true;
            used = 2;
          }
        } else if (next(1) === "maxpool2d") {
          pool = true;
          used = 1;
          if (next(2) === "relu") {
            relu = true;
            used = 2;
          }
        }
        if (pool && (ho < 2 || wo < 2)) {
          throw new ModelSpecError(`${where(i)}: output ${ho}x${wo} is too small to pool`);
        }
        const out: MapShape = {
          kind: "map",
          height: pool ? Math.floor(ho / 2) : ho,
          width: pool ? Math.floor(wo / 2) : wo,
          channels: l.outChannels,
          stored: pad4(l.outChannels),
        };
        blocks.push({
          kind: "conv",
          name: `conv${++convs}`,
          input: shape,
          output: out,
          outChannels: l.outChannels,
          kernel: l.kernel,
          padding: l.padding,
          relu,
          pool,
          outputIsRelu: relu && !pool,
        });
        shape = out;
        i += used;
        break;
      }
      case "dense": {
        if (shape.kind !== "vec") {
          throw new ModelSpecError(`${where(i)}: needs a vector; add flatten() before it`);
        }
        if (!Number.isInteger(l.units) || l.units < 1) {
          throw new ModelSpecError(`${where(i)}: units must be a positive integer`);
        }
        const relu = next(1) === "relu";
        const out: VecShape = { kind: "vec", features: l.units };
        blocks.push({
          kind: "dense",
          name: `fc${++fcs}`,
          input: shape,
          output: out,
          units: l.units,
          relu,
          outputIsRelu: relu,
        });
        shape = out;
        if (relu) i++;
        break;
      }
      case "maxpool2d": {
        if (shape.kind !== "map") throw new ModelSpecError(`${where(i)}: needs a feature map`);
        if (shape.stored === 1) {
          throw new ModelSpecError(`${where(i)}: pooling raw input images is not supported`);
        }
        if (shape.height < 2 || shape.width < 2) {
          throw new ModelSpecError(`${where(i)}: map too small to pool`);
        }
        const out: MapShape = {
          ...shape,
          height: Math.floor(shape.height / 2),
          width: Math.floor(shape.width / 2),
        };
        blocks.push({
          kind: "pool",
          name: `pool${++pools}`,
          input: shape,
          output: out,
          outputIsRelu: false,
        });
        shape = out;
        break;
      }
      case "relu": {
        if (shape === input) {
          throw new ModelSpecError(`${where(i)}: ReLU on raw input images is not supported`);
        }
        blocks.push({
          kind: "relu",
          name: `relu${++relus}`,
          input: shape,
          output: shape,
          outputIsRelu: true,
        });
        break;
      }
      case "flatten": {
        if (shape.kind === "map") {
          shape = { kind: "vec", features: rowFloats(shape), fromMap: shape };
        }
        break;
      }
      default:
        throw new ModelSpecError(
          `${spec.name}: unknown layer kind '${(l as { kind: string }).kind}'`,
        );
    }
  }
  const last = blocks[blocks.length - 1];
  if (!last || last.kind !== "dense") {
    throw new ModelSpecError(`${spec.name}: the last layer must be dense (the class logits)`);
  }
  if (last.relu) {
    throw new ModelSpecError(`${spec.name}: the logits layer must not be followed by ReLU`);
  }
  return { input, blocks, classes: last.units };
}
