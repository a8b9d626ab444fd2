// Arena: address-space reservation and slab commit/release.
#include "base/arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/sanitizers.h"

namespace larder {

Result<std::unique_ptr<Arena>> Arena::Create(size_t reserve_bytes) {
  if (reserve_bytes > kMaxReserve) reserve_bytes = kMaxReserve;
  reserve_bytes = (reserve_bytes + kSlabSize - 1) & ~(kSlabSize - 1);
  if (reserve_bytes < 2 * kSlabSize) reserve_bytes = 2 * kSlabSize;
  // Some environments cap address space (valgrind, ulimit -v): halve the reservation until it
  // fits, down to kMinReserve. The cache then holds less before Set reports ResourceExhausted.
  void* base = MAP_FAILED;
  for (;;) {
    base =
        mmap(nullptr, reserve_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base != MAP_FAILED || reserve_bytes / 2 < kMinReserve) break;
    reserve_bytes /= 2;
  }
  if (base == MAP_FAILED) {
    return Status::ResourceExhausted(
        fmt::format("cannot reserve {} bytes of address space for the entry arena: {}",
                    reserve_bytes, std::strerror(errno)));
  }
  const size_t slabs = reserve_bytes >> kSlabShift;
  const size_t meta_bytes = slabs * sizeof(SlabMeta);
  void* meta = mmap(nullptr, meta_bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (meta == MAP_FAILED) {
    munmap(base, reserve_bytes);
    return Status::ResourceExhausted("cannot map slab metadata for the entry arena");
  }
  // Zero pages from mmap are valid default SlabMeta values; no constructor needs to run.
  return std::unique_ptr<Arena>(
      new Arena(static_cast<char*>(base), reserve_bytes, static_cast<SlabMeta*>(meta)));
}

Arena::~Arena() {
  // Only slabs ever committed can carry poison; the rest of the range was never touched.
  UnpoisonMemory(base_, size_t{next_slab_} << kSlabShift);
  munmap(base_, reserved_);
  munmap(meta_, (reserved_ >> kSlabShift) * sizeof(SlabMeta));
}

Result<uint32_t> Arena::AcquireSlab() {
  std::lock_guard lock(mu_);
  uint32_t slab;
  if (!free_slabs_.empty()) {
    slab = free_slabs_.back();
    free_slabs_.pop_back();
  } else {
    // The last slab holds unit 0xFFFFFFFF (the hash table's tombstone); never hand it out.
    const uint32_t limit = static_cast<uint32_t>(reserved_ >> kSlabShift) - 1;
    if (next_slab_ >= limit) {
      return Status::ResourceExhausted(
          fmt::format("entry arena full: all {} bytes of its reservation are in use", reserved_));
    }
    slab = next_slab_;
    char* p = base_ + (size_t{slab} << kSlabShift);
    if (mprotect(p, kSlabSize, PROT_READ | PROT_WRITE) != 0) {
      return Status::ResourceExhausted(
          fmt::format("cannot commit a {} byte slab: {}", kSlabSize, std::strerror(errno)));
    }
    ++next_slab_;
  }
  ++slabs_in_use_;
  meta_[slab] = SlabMeta{};
  PoisonMemory(base_ + (size_t{slab} << kSlabShift), kSlabSize);
  return slab;
}

void Arena::ReleaseSlab(uint32_t slab) {
  char* p = base_ + (size_t{slab} << kSlabShift);
  UnpoisonMemory(p, kSlabSize);
  madvise(p, kSlabSize, MADV_DONTNEED);
  PoisonMemory(p, kSlabSize);
  std::lock_guard lock(mu_);
  --slabs_in_use_;
  free_slabs_.push_back(slab);
}

size_t Arena::committed_bytes() const {
  std::lock_guard lock(mu_);
  return size_t{slabs_in_use_} << kSlabShift;
}

}  // namespace larder
