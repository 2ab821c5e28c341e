#include "core/hyperloglog.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace bw {
namespace {

// 2^-r for every rank a register can hold (at most 64 - 4 + 1): estimate() reads 65,536
// registers at the default precision, and the live sensor asks once a second per attack.
constexpr std::array<double, 66> kInversePowers = [] {
  std::array<double, 66> t{};
  double v = 1.0;
  for (double& x : t) {
    x = v;
    v /= 2;
  }
  return t;
}();

}  // namespace

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, 4, 18)), registers_(std::size_t{1} << precision_, 0) {}

void HyperLogLog::merge(const HyperLogLog& other) noexcept {
  if (other.precision_ != precision_) return;
  for (std::size_t i = 0; i < registers_.size(); ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

double HyperLogLog::estimate() const noexcept {
  const double m = static_cast<double>(registers_.size());
  double sum = 0;
  std::size_t zeros = 0;
  for (std::uint8_t r : registers_) {
    sum += kInversePowers[r];
    zeros += (r == 0);
  }
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double raw = alpha * m * m / sum;
  // Linear counting is far more accurate while many registers are still empty.
  if (zeros != 0) {
    double linear = m * std::log(m / static_cast<double>(zeros));
    if (linear <= 2.5 * m) return linear;
  }
  return raw;
}

}  // namespace bw
