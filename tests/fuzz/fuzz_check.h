#pragma once
// Shared by the libFuzzer targets: an invariant that fails loudly (a crash libFuzzer keeps as
// an artifact), also in builds with NDEBUG.

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)
