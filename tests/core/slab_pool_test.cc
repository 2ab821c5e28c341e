// SlabPool: objects are distinct, aligned and inside 2 MiB-aligned slabs; released objects are
// reused before any new slab is taken; emptied slabs go back to the system but one; several
// threads may allocate and release at once.
#include "core/slab_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace bw {
namespace {

constexpr std::size_t kObject = 20480;  // the flow feed's block of 256 chunks

TEST(SlabPool, ObjectsAreDistinctAlignedAndInsideTheirSlab) {
  SlabPool pool(kObject);
  ASSERT_EQ(pool.objectsPerSlab(), (SlabPool::kSlabBytes - SlabPool::kHeaderBytes) / kObject);
  const std::size_t n = 3 * pool.objectsPerSlab() + 5;
  std::vector<void*> objects;
  for (std::size_t i = 0; i < n; ++i) {
    void* p = pool.allocate();
    ASSERT_NE(p, nullptr);
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    EXPECT_EQ(a % 64, 0u);
    // The object lies after its slab's header and ends inside the same slab.
    const std::uintptr_t slab = a & ~(SlabPool::kSlabBytes - 1);
    EXPECT_GE(a, slab + SlabPool::kHeaderBytes);
    EXPECT_LE(a + kObject, slab + SlabPool::kSlabBytes);
    std::memset(p, static_cast<int>(i & 0xff), kObject);
    objects.push_back(p);
  }
  EXPECT_EQ(pool.slabs(), 4u);
  EXPECT_EQ(std::set<void*>(objects.begin(), objects.end()).size(), n);
  // Nothing overlaps: every object still holds its own pattern.
  for (std::size_t i = 0; i < n; ++i) {
    const auto* b = static_cast<const std::uint8_t*>(objects[i]);
    EXPECT_EQ(b[0], i & 0xff);
    EXPECT_EQ(b[kObject - 1], i & 0xff);
  }
  for (void* p : objects) pool.release(p);
  EXPECT_EQ(pool.slabs(), 1u);  // one empty slab kept for the next burst
}

TEST(SlabPool, ReleasedObjectsAreReusedBeforeANewSlab) {
  SlabPool pool(kObject);
  std::vector<void*> first;
  for (std::size_t i = 0; i < pool.objectsPerSlab(); ++i) first.push_back(pool.allocate());
  ASSERT_EQ(pool.slabs(), 1u);
  for (std::size_t i = 0; i < first.size(); i += 2) pool.release(first[i]);
  std::set<void*> released;
  for (std::size_t i = 0; i < first.size(); i += 2) released.insert(first[i]);
  for (std::size_t i = 0; i < released.size(); ++i) {
    void* p = pool.allocate();
    EXPECT_EQ(released.count(p), 1u) << "object " << i << " did not reuse a released one";
  }
  EXPECT_EQ(pool.slabs(), 1u);
  // The slab is full again: the next object needs a new one.
  void* extra = pool.allocate();
  EXPECT_EQ(pool.slabs(), 2u);
  pool.release(extra);
  for (std::size_t i = 1; i < first.size(); i += 2) pool.release(first[i]);
  for (void* p : released) pool.release(p);
  EXPECT_EQ(pool.slabs(), 1u);
}

TEST(SlabPool, ThreadsAllocateAndReleaseAtOnce) {
  SlabPool pool(kObject);
  auto work = [&pool](int seed) {
    std::vector<void*> held;
    for (int round = 0; round < 2000; ++round) {
      if (held.size() < 150 && (round * 7 + seed) % 3 != 0) {
        void* p = pool.allocate();
        ASSERT_NE(p, nullptr);
        std::memset(p, seed, 64);
        held.push_back(p);
      } else if (!held.empty()) {
        EXPECT_EQ(*static_cast<const std::uint8_t*>(held.back()), seed);
        pool.release(held.back());
        held.pop_back();
      }
    }
    for (void* p : held) pool.release(p);
  };
  std::thread a(work, 1), b(work, 2);
  a.join();
  b.join();
  EXPECT_EQ(pool.slabs(), 1u);
}

}  // namespace
}  // namespace bw
