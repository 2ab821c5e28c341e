// Slab allocation. See slab_pool.h for the contract.
#include "core/slab_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define BW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BW_ASAN 1
#endif
#endif

#if defined(BW_ASAN)
#include <sanitizer/asan_interface.h>
#define BW_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define BW_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define BW_POISON(p, n) ((void)(p), (void)(n))
#define BW_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace bw {

// At the start of each slab; objects follow from kHeaderBytes on.
struct SlabPool::Slab {
  void* free = nullptr;    // released objects, linked through their first bytes
  std::size_t carved = 0;  // objects handed out from the untouched rest at least once
  std::size_t live = 0;    // objects allocated and not released
  bool listed = false;     // in open_
};

SlabPool::SlabPool(std::size_t object_bytes)
    : object_bytes_((object_bytes + 63) / 64 * 64),
      per_slab_((kSlabBytes - kHeaderBytes) / object_bytes_) {}

SlabPool::~SlabPool() {
  for (Slab* s : open_) unmap(s);
}

void SlabPool::unmap(Slab* s) noexcept {
  BW_UNPOISON(s, kSlabBytes);  // the addresses may be mapped again for something else
  ::munmap(s, kSlabBytes);
}

std::size_t SlabPool::slabs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slabs_;
}

bool SlabPool::full(const Slab& s) const noexcept {
  return s.free == nullptr && s.carved == per_slab_;
}

SlabPool::Slab* SlabPool::newSlab() noexcept {
  static_assert(sizeof(Slab) <= kHeaderBytes);
  // Twice the size, then trimmed to a 2 MiB-aligned slab: a huge page needs the alignment.
  void* raw = ::mmap(nullptr, 2 * kSlabBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kSlabBytes - 1) & ~(kSlabBytes - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t tail = aligned + kSlabBytes;
  if (tail < start + 2 * kSlabBytes)
    ::munmap(reinterpret_cast<void*>(tail), start + 2 * kSlabBytes - tail);
  void* slab = reinterpret_cast<void*>(aligned);
  (void)::madvise(slab, kSlabBytes, MADV_HUGEPAGE);  // advice: without it, 4 KiB pages
  ++slabs_;
  BW_POISON(static_cast<char*>(slab) + kHeaderBytes, kSlabBytes - kHeaderBytes);
  return new (slab) Slab();
}

void* SlabPool::allocate() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_.empty()) {
    Slab* s = newSlab();
    if (s == nullptr) return nullptr;
    s->listed = true;
    open_.push_back(s);
    ++empty_slabs_;
  }
  Slab* s = open_.back();
  if (s->live == 0) --empty_slabs_;
  char* p;
  if (s->free != nullptr) {
    p = static_cast<char*>(s->free);
    BW_UNPOISON(p, object_bytes_);
    s->free = *reinterpret_cast<void**>(p);
  } else {
    p = reinterpret_cast<char*>(s) + kHeaderBytes + s->carved * object_bytes_;
    BW_UNPOISON(p, object_bytes_);
    ++s->carved;
  }
  ++s->live;
  if (full(*s)) {
    s->listed = false;
    open_.pop_back();
  }
  return p;
}

void SlabPool::release(void* p) noexcept {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto* s = reinterpret_cast<Slab*>(reinterpret_cast<std::uintptr_t>(p) & ~(kSlabBytes - 1));
  *static_cast<void**>(p) = s->free;
  s->free = p;
  BW_POISON(p, object_bytes_);
  if (!s->listed) {
    s->listed = true;
    open_.push_back(s);
  }
  if (--s->live != 0) return;
  if (empty_slabs_ == 0) {  // kept for the next burst
    ++empty_slabs_;
    return;
  }
  open_.erase(std::find(open_.begin(), open_.end(), s));
  --slabs_;
  unmap(s);
}

}  // namespace bw
