// Compile-time facts about sanitizer builds, and ASan poisoning hooks for larder's own allocator.
#pragma once

#include "base/private.h"

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LARDER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define LARDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(LARDER_ASAN)
#define LARDER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(LARDER_TSAN)
#define LARDER_TSAN 1
#endif

#ifdef LARDER_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace larder {

// Marks memory handed out by the slab allocator as (un)usable so ASan catches use after free.
inline void PoisonMemory([[maybe_unused]] const void* p, [[maybe_unused]] size_t n) {
#ifdef LARDER_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#endif
}
inline void UnpoisonMemory([[maybe_unused]] const void* p, [[maybe_unused]] size_t n) {
#ifdef LARDER_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
}

}  // namespace larder
