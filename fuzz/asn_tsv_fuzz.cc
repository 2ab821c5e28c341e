// libFuzzer target for the ip2asn TSV parser (TsvAsnDatabase): arbitrary text parsed whole and
// fed in two chunks split at an input-chosen point must give the same table; lookups of
// addresses taken from the input never return AS 0 and agree between the two tables.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "report/asn_tsv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto whole = bw::TsvAsnDatabase::parse(text, "fuzz.tsv");

  bw::TsvAsnDatabase::Builder builder("fuzz.tsv");
  const std::size_t split = size == 0 ? 0 : data[0] * size / 256;
  builder.feed(text.substr(0, split));
  builder.feed(text.substr(split));
  auto chunked = builder.finish();

  if (whole.ok() != chunked.ok()) std::abort();
  if (!whole.ok()) {
    if (whole.error().message.rfind("fuzz.tsv", 0) != 0) std::abort();
    return 0;
  }
  const bw::AsnLoadStats& a = (*whole)->stats();
  const bw::AsnLoadStats& b = (*chunked)->stats();
  if (a.bad_lines != b.bad_lines || a.ranges_v4 != b.ranges_v4 || a.ranges_v6 != b.ranges_v6 ||
      a.lines != b.lines || a.first_bad_line != b.first_bad_line) {
    std::abort();
  }

  // Probe addresses made of input bytes (and their neighbours at both families' edges).
  for (std::size_t off = 0; off + 16 <= size && off < 256; off += 7) {
    const bw::IpAddress probes[] = {bw::IpAddress::fromV6Bytes(data + off),
                                    bw::IpAddress::fromV4Bytes(data + off)};
    for (const bw::IpAddress& ip : probes) {
      auto x = (*whole)->lookup(ip);
      auto y = (*chunked)->lookup(ip);
      if (x.has_value() != y.has_value()) std::abort();
      if (x && (x->asn == 0 || x->asn != y->asn || x->name != y->name)) std::abort();
    }
  }
  return 0;
}
