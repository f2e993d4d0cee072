// Per-step parameters, one 256-byte slot per step in a uniform buffer bound with a dynamic
// offset, so a whole epoch's steps can be recorded into command buffers up front.
struct StepParams {
  step: u32, // index of this step within its log window (slot of the loss log)
  batch_start: u32, // first position of this batch in the permutation
  lr: f32, // learning rate
  bias1: f32, // Adam: 1 - beta1^t
  bias2: f32, // Adam: 1 - beta2^t
  valid: u32, // evaluation: rows of this chunk that are real samples
  epoch: u32, // training: 0-based epoch (augmentation draws per (seed, epoch, image))
  global_step: u32, // training: optimizer steps before this one (dropout masks per step)
}
