/**
 * Loads a PNG or JPEG digit picture from disk as an MNIST input (Deno only: file access and the
 * native @napi-rs/canvas decoder).
 *
 * Permissions: --allow-read for the image (plus /usr/bin/ldd, which the canvas loader reads to
 * pick its glibc or musl binary), --allow-ffi for the native addon, --allow-sys=homedir and
 * --allow-env=NAPI_RS_NATIVE_LIBRARY_PATH,NAPI_RS_FORCE_WASI,DISABLE_SYSTEM_FONTS_LOAD.
 *
 * @module
 */
import type { Image } from "npm:@napi-rs/canvas@0.1.82";
import { canvasLib } from "../render/canvas_lib.ts";
import { checkImageData, inspectImageHeader } from "./image_header.ts";
import { DigitImageError, isDarkOnLight, rgbaToGray, toMnistInput } from "./preprocess.ts";

/**
 * Reads a PNG or JPEG picture of one digit and prepares it like MNIST (see `toMnistInput`).
 * Returns the 28x28 input, the picture's size (upright, after any EXIF rotation), and whether
 * it was inverted (dark on light).
 */
export async function loadImageAsMnist(
  path: string,
): Promise<{ input: Uint8Array; width: number; height: number; inverted: boolean }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new DigitImageError(`image file not found: ${path}`);
    }
    const why = error instanceof Error ? error.message : String(error);
    throw new DigitImageError(`cannot read image file ${path}: ${why}`);
  }
  // Checked before decoding: the native decoder crashes the process on some broken files.
  const header = inspectImageHeader(bytes, path);
  // ... and a cut-off file would be decoded to a partial picture without a word
  await checkImageData(bytes, header, path);

  let image: Image;
  try {
    image = await (await canvasLib()).loadImage(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new DigitImageError(
      `${path}: could not decode the ${header.format.toUpperCase()} image (${why})`,
    );
  }
  // The decoder applies the EXIF orientation of phone photos, which may swap the sides.
  const upright = image.width === header.width && image.height === header.height;
  const turned = image.width === header.height && image.height === header.width;
  if (!upright && !turned) {
    throw new DigitImageError(
      `${path}: decoded ${image.width}x${image.height}, but the file says ${header.width}x${header.height}`,
    );
  }
  const { width, height } = image;

  const canvas = (await canvasLib()).createCanvas(width, height);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const rgba = context.getImageData(0, 0, width, height).data;
  const gray = rgbaToGray(rgba, width, height);
  const inverted = isDarkOnLight(gray, width, height);
  try {
    return {
      input: toMnistInput(gray, width, height, { invert: inverted }),
      width,
      height,
      inverted,
    };
  } catch (error) {
    if (error instanceof DigitImageError) throw new DigitImageError(`${path}: ${error.message}`);
    throw error;
  }
}
