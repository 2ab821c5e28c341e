// libFuzzer target for the TOML configuration loader: arbitrary bytes must give either a
// configuration within the documented bounds or one error sentence naming the file.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = bw::loadConfigText(text, "fuzz.toml");
  if (!loaded.ok()) {
    const std::string& m = loaded.error().message;
    if (m.rfind("fuzz.toml", 0) != 0) std::abort();
    return 0;
  }
  const bw::DetectionConfig& d = loaded->detection;
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  auto ratio = [](double v) { return std::isfinite(v) && v > 0 && v <= 1; };
  if (!positive(d.thresholds.pps) || !positive(d.thresholds.bps)) std::abort();
  if (!ratio(d.end_ratio) || !ratio(d.solicited_ratio)) std::abort();
  if (!(d.scanner_max_answered >= 0 && d.scanner_max_answered <= 1)) std::abort();
  if (d.bucket_ns <= 0 || d.window_buckets < 1 || d.window_buckets > 16) std::abort();
  if (d.end_quiet_ns <= 0 || d.scanner_window_ns <= 0) std::abort();
  if (d.max_destinations < 1024 || d.max_tracked < 1 || d.generic_min_sources < 1) std::abort();
  for (const bw::PrefixThresholds& o : d.overrides) {
    if (!positive(o.thresholds.pps) || !positive(o.thresholds.bps)) std::abort();
  }
  if (loaded->asn_db && loaded->asn_db->empty()) std::abort();
  return 0;
}
