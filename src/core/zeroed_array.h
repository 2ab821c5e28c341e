// ZeroedArray<T>: a fixed number of T in storage that comes zeroed from calloc, cache-line
// aligned. The kernel commits a page when it is first written, so a table sized for the worst
// case costs only the pages traffic touches: a short capture does not pay for faulting in
// megabytes of empty slots at start-up.
//
// T must be trivially copyable and destructible (an implicit-lifetime type), and its
// value-initialised state must be all zero bytes: that is what every element starts as.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace bw {

template <typename T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  explicit ZeroedArray(std::size_t n)
      : raw_(std::calloc(n * sizeof(T) + 64, 1)),
        data_(reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(raw_.get()) + 63) &
                                   ~std::uintptr_t{63})),
        size_(n) {
    if (!raw_) throw std::bad_alloc();
  }

  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() const noexcept { return data_; }
  T* end() const noexcept { return data_ + size_; }
  void swap(ZeroedArray& other) noexcept {
    raw_.swap(other.raw_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

 private:
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<void, Free> raw_;
  T* data_;
  std::size_t size_;
};

}  // namespace bw
