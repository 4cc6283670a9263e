// Process-wide allocator tuning for LibTorch workloads. Torch-free.
#pragma once

namespace ranklab {

// LibTorch allocates and frees activation-sized blocks on every forward pass; with glibc's
// defaults each one grows and shrinks the heap (page faults, half the run time in the kernel on
// small models). A larger top pad keeps that memory in the process.
// Measured on stories260K perplexity: 3.3 s -> 1.9 s. Call once at start-up, before threads start.
void tuneAllocator();

}  // namespace ranklab
