// Test-only builders for NetFlow v5, NetFlow v9 and IPFIX datagrams, written from the RFCs
// (3954, 7011) rather than from the decoder, so tests state the wire bytes they mean.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip_address.h"

namespace bw::test {

// Big-endian byte writer.
class Bytes {
 public:
  Bytes& u8(std::uint64_t v) {
    data_.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  Bytes& u16(std::uint64_t v) { return be(v, 2); }
  Bytes& u32(std::uint64_t v) { return be(v, 4); }
  Bytes& u64(std::uint64_t v) { return be(v, 8); }
  Bytes& be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) data_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes& ip(const char* text) {
    const IpAddress a = *IpAddress::parse(text);
    if (a.isV4()) return raw(a.bytes().data() + 12, 4);
    return raw(a.bytes().data(), 16);
  }
  Bytes& raw(const std::uint8_t* p, std::size_t n) {
    data_.insert(data_.end(), p, p + n);
    return *this;
  }
  Bytes& raw(const std::vector<std::uint8_t>& v) { return raw(v.data(), v.size()); }
  Bytes& str(const std::string& s) {
    return raw(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  Bytes& zeros(std::size_t n) {
    data_.insert(data_.end(), n, 0);
    return *this;
  }
  const std::vector<std::uint8_t>& data() const { return data_; }
  std::size_t size() const { return data_.size(); }

 private:
  std::vector<std::uint8_t> data_;
};

// A field specifier: element id, length, and an enterprise number (IPFIX only; 0 = none).
struct Field {
  std::uint16_t id;
  std::uint16_t length;
  std::uint32_t enterprise = 0;
};

// IPFIX and v9 element ids the tests use.
namespace ie {
inline constexpr std::uint16_t kOctets = 1, kPackets = 2, kProto = 4, kTcpFlags = 6, kSrcPort = 7,
                               kSrcV4 = 8, kInIf = 10, kDstPort = 11, kDstV4 = 12, kOutIf = 14,
                               kLastUptime = 21, kFirstUptime = 22, kSrcV6 = 27, kDstV6 = 28,
                               kSamplingInterval = 34, kSamplingAlgorithm = 35, kSamplerId = 48,
                               kSamplerMode = 49, kSamplerRandomInterval = 50, kOctetTotal = 85,
                               kPacketTotal = 86, kFragmentOffset = 88, kStartSec = 150,
                               kEndSec = 151, kStartMs = 152, kEndMs = 153, kStartUs = 154,
                               kEndUs = 155, kStartNs = 156, kEndNs = 157, kStartDeltaUs = 158,
                               kEndDeltaUs = 159, kSystemInitMs = 160, kMeteringProcessId = 143,
                               kFragmentFlags = 197, kSelectorId = 302, kSelectorAlgorithm = 304,
                               kPacketInterval = 305, kPacketSpace = 306, kSamplingSize = 309,
                               kSamplingPopulation = 310, kInterfaceName = 82;
inline constexpr std::uint32_t kReversePen = 29305;
}  // namespace ie

// One NetFlow v9 or IPFIX export packet, set by set.
class Message {
 public:
  static Message v9(std::uint32_t uptime_ms, std::uint32_t unix_secs, std::uint32_t sequence,
                    std::uint32_t source_id) {
    Message m(false);
    m.header_.u16(9).u16(0).u32(uptime_ms).u32(unix_secs).u32(sequence).u32(source_id);
    return m;
  }
  static Message ipfix(std::uint32_t export_secs, std::uint32_t sequence, std::uint32_t domain) {
    Message m(true);
    m.header_.u16(10).u16(0).u32(export_secs).u32(sequence).u32(domain);
    return m;
  }

  // One template record in its own template set.
  Message& templ(std::uint16_t id, const std::vector<Field>& fields) {
    Bytes b;
    b.u16(id).u16(fields.size());
    for (const Field& f : fields) spec(b, f);
    ++count_;
    return set(ipfix_ ? 2 : 0, b);
  }
  // One options template record in its own options template set.
  Message& options(std::uint16_t id, const std::vector<Field>& scope,
                   const std::vector<Field>& fields) {
    Bytes b;
    if (ipfix_) {
      b.u16(id).u16(scope.size() + fields.size()).u16(scope.size());
    } else {
      b.u16(id).u16(scope.size() * 4).u16(fields.size() * 4);
    }
    for (const Field& f : scope) spec(b, f);
    for (const Field& f : fields) spec(b, f);
    ++count_;
    return set(ipfix_ ? 3 : 1, b);
  }
  // A data set of `records` already laid out, plus `padding` zero bytes.
  Message& data(std::uint16_t id, const Bytes& records, std::size_t padding = 0,
                std::uint16_t record_count = 1) {
    Bytes b = records;
    b.zeros(padding);
    count_ += record_count;
    return set(id, b);
  }
  Message& set(std::uint16_t id, const Bytes& body) {
    sets_.u16(id).u16(body.size() + 4).raw(body.data());
    return *this;
  }
  Message& rawBytes(const Bytes& b) {
    sets_.raw(b.data());
    return *this;
  }

  std::vector<std::uint8_t> bytes() const {
    std::vector<std::uint8_t> out = header_.data();
    out.insert(out.end(), sets_.data().begin(), sets_.data().end());
    const std::size_t n = ipfix_ ? out.size() : count_;
    out[2] = static_cast<std::uint8_t>(n >> 8);
    out[3] = static_cast<std::uint8_t>(n);
    return out;
  }

 private:
  explicit Message(bool ipfix) : ipfix_(ipfix) {}
  void spec(Bytes& b, const Field& f) const {
    if (f.enterprise != 0) {
      b.u16(f.id | 0x8000).u16(f.length).u32(f.enterprise);
    } else {
      b.u16(f.id).u16(f.length);
    }
  }

  bool ipfix_;
  std::size_t count_ = 0;
  Bytes header_;
  Bytes sets_;
};

// NetFlow v5.
struct V5Record {
  const char* src = "10.0.0.1";
  const char* dst = "10.0.0.2";
  std::uint16_t input = 0, output = 0;
  std::uint32_t packets = 1, octets = 100;
  std::uint32_t first = 0, last = 0;  // SysUptime ms
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t tcp_flags = 0, proto = 17;
};

struct V5Header {
  std::uint32_t uptime_ms = 0;
  std::uint32_t unix_secs = 0, unix_nsecs = 0;
  std::uint32_t sequence = 0;
  std::uint8_t engine_type = 0, engine_id = 0;
  std::uint16_t sampling = 0;  // mode << 14 | interval
};

inline std::vector<std::uint8_t> v5Datagram(const V5Header& h, const std::vector<V5Record>& rs) {
  Bytes b;
  b.u16(5).u16(rs.size()).u32(h.uptime_ms).u32(h.unix_secs).u32(h.unix_nsecs).u32(h.sequence);
  b.u8(h.engine_type).u8(h.engine_id).u16(h.sampling);
  for (const V5Record& r : rs) {
    b.ip(r.src).ip(r.dst).ip("0.0.0.0").u16(r.input).u16(r.output).u32(r.packets).u32(r.octets);
    b.u32(r.first).u32(r.last).u16(r.sport).u16(r.dport).u8(0).u8(r.tcp_flags).u8(r.proto);
    b.u8(0).u16(0).u16(0).u8(0).u8(0).u16(0);
  }
  return b.data();
}

inline IpAddress addr(const char* text) { return *IpAddress::parse(text); }

}  // namespace bw::test
