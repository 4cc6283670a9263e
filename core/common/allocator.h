// Process-wide allocator tuning for LibTorch workloads. Torch-free.
#pragma once

#include <cstdint>

namespace ranklab {

// LibTorch allocates and frees activation-sized blocks on every forward pass; with glibc's
// defaults each one grows and shrinks the heap (page faults, half the run time in the kernel on
// small models). A larger top pad (256 MB) keeps that memory in the process.
// Measured on stories260K perplexity: 3.3 s -> 1.9 s. Call once at start-up, before threads start.
void tuneAllocator();

// The model loader calls this with the bytes of the weights it loaded. The 256 MB pad is memory a
// large model's job pays for in its peak (a whitening job on GPT-2 small kept 256 MB of freed
// calibration buffers): the pad shrinks linearly to 16 MB at 512 MB of weights and stays there for
// larger models, whose activations are large blocks glibc maps and unmaps on its own. No effect unless
// tuneAllocator() was called.
void fitAllocatorToModel(int64_t weightBytes);

// Hands the memory freed inside the heap back to the kernel (malloc_trim): called between a job's
// stages, so that one stage's freed activations do not add to the next stage's peak.
void releaseFreedMemory();

// While an instance lives, blocks of up to 32 MB come from malloc's arenas and freed memory stays in
// them (glibc's mmap and trim thresholds raised to 32 MB and 256 MB), rather than going back to the
// kernel block by block and being faulted in again on the next step. A training step split over
// threads (lowrank::taskLossBackward) frees and allocates the same activations every step, and a
// worker thread's arena does not keep tuneAllocator's top pad; with two threads running, handing
// memory back also interrupts the other core (its TLB). Measured on gpt-mini's step on two threads:
// 141k page faults in 11 steps instead of 68k, 281 ms per step instead of 212 (one thread: 330 ms).
// Instances nest; when the last one ends, both thresholds go back to 128 KB (the freed memory stays in
// the arenas until releaseFreedMemory). No effect without glibc.
class KeepFreedBlocks {
 public:
  KeepFreedBlocks();
  ~KeepFreedBlocks();
  KeepFreedBlocks(const KeepFreedBlocks&) = delete;
  KeepFreedBlocks& operator=(const KeepFreedBlocks&) = delete;
};

}  // namespace ranklab
