/// <reference lib="dom" />
/**
 * What both pages do with the GPU: acquire it (optionally forcing how tensors are read, from the
 * URL's `reads=` parameter), report WebGPU errors that escape the library loudly (console error
 * plus a banner), and explain plainly when the browser has no WebGPU.
 *
 * @module
 */
import { acquireGpu, type GpuContext, GpuUnavailableError } from "../mod.ts";

/** Why WebGPU cannot be used here, or null when `navigator.gpu` exists. */
export function webGpuMissingReason(): string | null {
  if (!globalThis.isSecureContext) {
    return "WebGPU needs a secure context: open this page from http://127.0.0.1 or " +
      "http://localhost (deno task web), or over https — not from a file or a plain-http address.";
  }
  if (!(navigator as Navigator & { gpu?: GPU }).gpu) {
    return "This browser has no WebGPU (navigator.gpu is missing). Use Chrome or Edge 113 or " +
      "newer (WebGPU is on by default on Windows, macOS and ChromeOS); on Linux start Chromium " +
      "with --enable-unsafe-webgpu and check chrome://gpu; in Firefox set dom.webgpu.enabled " +
      "in about:config; Safari 26 and newer have it on by default.";
  }
  return null;
}

/** Shows a message in the element with id `no-webgpu` (and returns it). */
export function showNoWebGpu(message: string): string {
  const box = document.getElementById("no-webgpu");
  if (box) {
    box.hidden = false;
    box.querySelector(".message")!.textContent = message;
  }
  return message;
}

/** Acquires the GPU; reports uncaptured WebGPU errors and device loss as console errors. */
export async function pageGpu(onError: (message: string) => void): Promise<GpuContext> {
  const reads = new URLSearchParams(location.search).get("reads");
  const ctx = await acquireGpu({
    textureReads: reads === "storage" || reads === "sampled" ? reads : "auto",
  });
  ctx.device.addEventListener("uncapturederror", (ev) => {
    const msg = `WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`;
    console.error(msg);
    onError(msg);
  });
  ctx.device.lost.then((info) => {
    if (info.reason === "destroyed") return;
    const msg = `WebGPU device lost: ${info.message || info.reason}`;
    console.error(msg);
    onError(msg);
  });
  return ctx;
}

/** A message for an error thrown while acquiring the GPU or running kernels. */
export function describeError(e: unknown): string {
  if (e instanceof GpuUnavailableError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
