// SlabPool: objects of one size carved out of 2 MiB slabs, each of which the kernel may back
// with one transparent huge page (madvise(MADV_HUGEPAGE)).
//
// For memory that is allocated in a burst and touched at once, like the flow feed's blocks of
// held records: a million records in 4 KiB pages is some 20,000 page faults, each costing
// microseconds on a virtual machine, where in 2 MiB pages it is forty. Objects are handed out
// from the front of a slab as needed and kept on per-slab free lists once released; a slab
// whose objects are all released is returned to the system, except for one kept for the next
// burst. Memory is therefore bounded by the most objects live at once, rounded up to slabs.
//
// Thread-safe (one mutex: meant for objects of kilobytes, allocated a few thousand times a
// second at most). Under AddressSanitizer, released objects are poisoned.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace bw {

class SlabPool {
 public:
  static constexpr std::size_t kSlabBytes = 2u << 20;
  static constexpr std::size_t kHeaderBytes = 64;

  // REQUIRES: sizeof(void*) <= object_bytes <= kSlabBytes - kHeaderBytes.
  explicit SlabPool(std::size_t object_bytes);
  // Returns every slab to the system. REQUIRES: every object has been released.
  ~SlabPool();
  SlabPool(const SlabPool&) = delete;
  SlabPool& operator=(const SlabPool&) = delete;

  // 64-byte aligned, uninitialised; nullptr when the system has no memory left.
  void* allocate() noexcept;
  // REQUIRES: p came from this pool's allocate() and was not released since.
  void release(void* p) noexcept;

  std::size_t objectsPerSlab() const noexcept { return per_slab_; }
  std::size_t slabs() const;  // slabs held from the system now

 private:
  struct Slab;
  Slab* newSlab() noexcept;
  static void unmap(Slab* s) noexcept;
  bool full(const Slab& s) const noexcept;

  const std::size_t object_bytes_;
  const std::size_t per_slab_;
  mutable std::mutex mu_;
  std::vector<Slab*> open_;  // slabs with an object to hand out; the last is used first
  std::size_t slabs_ = 0;
  std::size_t empty_slabs_ = 0;  // slabs with no live object (at most one is kept)
};

}  // namespace bw
