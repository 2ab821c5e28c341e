// Decoder and classifier over the real captures in the shared directory (skipped when absent).
// Expectations come from the frames themselves through a deliberately naive reference parser
// written here, and, when tshark is installed, from tshark display-filter counts.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "capture/frame.h"
#include "capture_walker.h"
#include "decode/memcached.h"
#include "decode/packet.h"
#include "decode/vector.h"

namespace bw {
namespace {

const std::string kCaptures = std::string(BW_SHARED_DIR) + "/captures/";

// What the straight-line reference parse of an Ethernet frame finds.
struct Reference {
  bool ip = false;
  bool v6 = false;
  std::uint8_t proto = 0;
  bool fragment = false;
  bool first = true;  // offset 0 (or not fragmented)
  bool ports = false;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint32_t ip_bytes = 0;
  std::size_t l4 = 0;  // offset of the UDP/TCP header
};

std::uint16_t be16(const std::vector<std::uint8_t>& f, std::size_t at) {
  return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]);
}

// Ethernet, 802.1Q tags, PPPoE; IPv4 with options; IPv6 with at most a hop-by-hop and a
// fragment header.
Reference referenceParse(const std::vector<std::uint8_t>& f) {
  Reference r;
  if (f.size() < 14) return r;
  std::uint16_t type = be16(f, 12);
  std::size_t off = 14;
  while (type == 0x8100 && f.size() >= off + 4) {
    type = be16(f, off + 2);
    off += 4;
  }
  if (type == 0x8864 && f.size() >= off + 8) {
    const std::uint16_t ppp = be16(f, off + 6);
    off += 8;
    type = ppp == 0x0021 ? 0x0800 : ppp == 0x0057 ? 0x86DD : 0;
  }
  if (type == 0x0800 && f.size() >= off + 20) {
    r.ip = true;
    const std::size_t ihl = (f[off] & 15) * 4;
    r.ip_bytes = be16(f, off + 2);
    r.proto = f[off + 9];
    const std::uint16_t frag = be16(f, off + 6);
    const std::uint16_t offset = frag & 0x1FFF;
    const bool more = frag & 0x2000;
    r.fragment = more || offset != 0;
    r.first = offset == 0;
    r.l4 = off + ihl;
  } else if (type == 0x86DD && f.size() >= off + 40) {
    r.ip = true;
    r.v6 = true;
    r.ip_bytes = be16(f, off + 4) + 40u;
    r.proto = f[off + 6];
    r.l4 = off + 40;
    if (r.proto == 0 && f.size() >= r.l4 + 2) {  // hop-by-hop (MLD carries one)
      r.proto = f[r.l4];
      r.l4 += (f[r.l4 + 1] + 1u) * 8;
    }
    if (r.proto == 44 && f.size() >= r.l4 + 8) {
      r.proto = f[r.l4];
      const std::uint16_t fo = be16(f, r.l4 + 2);
      r.fragment = (fo & 0xFFF9) != 0;
      r.first = (fo & 0xFFF8) == 0;
      r.l4 += 8;
    }
  }
  if (r.ip && r.first && (r.proto == 6 || r.proto == 17) && f.size() >= r.l4 + 4) {
    r.ports = true;
    r.sport = be16(f, r.l4);
    r.dport = be16(f, r.l4 + 2);
  }
  return r;
}

struct Decoded {
  std::vector<test::WalkedFrame> frames;
  std::vector<PacketSummary> summaries;  // payload pointers into `frames`
  std::vector<DecodeStatus> statuses;
};

// Loads and decodes a capture; false when it is not there.
bool load(const std::string& rel, Decoded* d) {
  if (!test::walkCapture(kCaptures + rel, &d->frames)) return false;
  for (const auto& f : d->frames) {
    PacketSummary s;
    d->statuses.push_back(
        decodeFrame(f.linktype, ByteSpan(f.data.data(), f.data.size()), f.origlen, 0, s));
    d->summaries.push_back(s);
  }
  return true;
}

// tshark's frame count for a display filter (no reassembly), or -1 without tshark.
long tsharkCount(const std::string& rel, const std::string& filter) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) return -1;
  const std::string cmd = "tshark -n -r '" + kCaptures + rel +
                          "' -o ip.defragment:FALSE -o ipv6.defragment:FALSE -Y '" + filter +
                          "' 2>/dev/null | wc -l";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  long n = -1;
  if (std::fscanf(p, "%ld", &n) != 1) n = -1;
  pclose(p);
  return n;
}

#define LOAD_OR_SKIP(rel, d) \
  if (!load(rel, &d)) GTEST_SKIP() << kCaptures << rel << " not present"

TEST(RealCaptures, EveryFrameOfEveryCaptureAgreesWithReference) {
  if (!std::filesystem::is_directory(kCaptures)) GTEST_SKIP() << kCaptures << " not present";
  std::size_t files = 0, frames = 0, compared = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kCaptures)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng" && ext != ".cap") continue;
    const std::string rel = std::filesystem::relative(e.path(), kCaptures).string();
    Decoded d;
    ASSERT_TRUE(load(rel, &d)) << rel;
    ++files;
    for (std::size_t i = 0; i < d.frames.size(); ++i) {
      ++frames;
      const auto& f = d.frames[i];
      const PacketSummary& s = d.summaries[i];
      const DecodeStatus st = d.statuses[i];
      EXPECT_FALSE(isMalformed(st)) << rel << " frame " << i + 1 << ": " << decodeStatusName(st);
      if (f.linktype != linktype::kEthernet) continue;
      const Reference r = referenceParse(f.data);
      EXPECT_EQ(st == DecodeStatus::Ok, r.ip) << rel << " frame " << i + 1;
      if (st != DecodeStatus::Ok || !r.ip) continue;
      ++compared;
      const std::string where = rel + " frame " + std::to_string(i + 1);
      ASSERT_LE(s.payload + s.payload_len, f.data.data() + f.data.size()) << where;
      EXPECT_EQ(s.ip_proto, r.proto) << where;
      EXPECT_EQ(s.ip_bytes, r.ip_bytes) << where;
      EXPECT_EQ(s.isFragment(), r.fragment) << where;
      EXPECT_EQ(s.isNonFirstFragment(), !r.first) << where;
      EXPECT_EQ(bool(s.flags & pktflag::kIpv6), r.v6) << where;
      EXPECT_EQ(s.hasPorts(), r.ports) << where;
      if (r.ports) {
        EXPECT_EQ(s.src_port, r.sport) << where;
        EXPECT_EQ(s.dst_port, r.dport) << where;
      }
      // Classification follows the ports the reference saw.
      const VectorMatch m = classifyResponse(s);
      if (m.vector != Vector::None && m.vector != Vector::Tftp) {
        EXPECT_EQ(r.proto, ipproto::kUdp) << where;
        EXPECT_EQ(vectorServicePort(m.vector), r.sport) << where;
      }
      if (!r.first) {
        EXPECT_EQ(m.vector, Vector::None) << where;
      }
    }
  }
  EXPECT_GT(files, 10u);
  EXPECT_GT(compared, frames / 2);
}

TEST(RealCaptures, SnmpReflectionFromPort161) {
  const std::string rel = "stopddos/amp.UDP.snmp.src161.pcapng";  // classic pcap inside
  Decoded d;
  LOAD_OR_SKIP(rel, d);
  long from161 = 0, snmp = 0, get_response = 0, icmp = 0;
  for (std::size_t i = 0; i < d.frames.size(); ++i) {
    ASSERT_EQ(d.statuses[i], DecodeStatus::Ok) << i;
    const Reference r = referenceParse(d.frames[i].data);
    if (r.proto == ipproto::kUdp && r.sport == 161) ++from161;
    const VectorMatch m = classifyResponse(d.summaries[i]);
    if (m.vector == Vector::Snmp) ++snmp;
    if (m.vector == Vector::Snmp && (m.evidence & evidence::kPayloadMatch)) ++get_response;
    if (d.summaries[i].ip_proto == ipproto::kIcmp) {
      ++icmp;
      EXPECT_EQ(m.vector, Vector::None);  // ICMP errors quoting SNMP are not the vector
    }
  }
  EXPECT_GT(from161, 4000);
  EXPECT_EQ(snmp, from161);
  EXPECT_GT(icmp, 0);
  EXPECT_GE(get_response * 100, snmp * 95) << "reflected traffic is mostly GetResponse";
  const long tshark_responses =
      tsharkCount(rel, "udp.srcport==161 && !icmp && snmp.get_response_element");
  if (tshark_responses >= 0) {
    EXPECT_EQ(get_response, tshark_responses);
  }
  const long tshark_from161 = tsharkCount(rel, "udp.srcport==161 && !icmp");
  if (tshark_from161 >= 0) {
    EXPECT_EQ(snmp, tshark_from161);
  }
}

TEST(RealCaptures, FragmentedDnsRrsigResponses) {
  const std::string rel = "stopddos/amp.dns.RRSIG.fragmented.pcap";
  Decoded d;
  LOAD_OR_SKIP(rel, d);
  long ref_dns = 0, ref_frag = 0, ref_nonfirst = 0;
  long dns = 0, dns_first_fragments = 0, frag = 0, nonfirst = 0;
  for (std::size_t i = 0; i < d.frames.size(); ++i) {
    ASSERT_EQ(d.statuses[i], DecodeStatus::Ok) << i;
    const Reference r = referenceParse(d.frames[i].data);
    ref_dns += r.proto == ipproto::kUdp && r.ports && r.sport == 53;
    ref_frag += r.fragment;
    ref_nonfirst += r.fragment && !r.first;
    const PacketSummary& s = d.summaries[i];
    frag += s.isFragment();
    if (s.isNonFirstFragment()) {
      ++nonfirst;
      EXPECT_FALSE(s.hasPorts());
    }
    const VectorMatch m = classifyResponse(s);
    if (m.vector == Vector::Dns) {
      ++dns;
      EXPECT_EQ(m.service_port, 53);
      EXPECT_TRUE(m.evidence & evidence::kPayloadMatch) << "frame " << i + 1;
      dns_first_fragments += s.isFragment();
    }
  }
  EXPECT_GT(ref_dns, 100);
  EXPECT_EQ(dns, ref_dns);
  EXPECT_EQ(frag, ref_frag);
  EXPECT_EQ(nonfirst, ref_nonfirst);
  EXPECT_GT(dns_first_fragments, 100) << "RRSIG answers exceed the MTU";
  EXPECT_GT(nonfirst, dns_first_fragments);  // several trailing fragments per answer
  const long t_dns = tsharkCount(rel, "udp.srcport==53");
  if (t_dns >= 0) {
    EXPECT_EQ(dns, t_dns);
  }
  const long t_frag = tsharkCount(rel, "ip.flags.mf==1 || ip.frag_offset>0");
  if (t_frag >= 0) {
    EXPECT_EQ(frag, t_frag);
  }
}

TEST(RealCaptures, DnsOverPppoeInPcapng) {
  const std::string rel = "ndpi/dns.pcap";  // pcapng, PPPoE session frames
  Decoded d;
  LOAD_OR_SKIP(rel, d);
  ASSERT_FALSE(d.frames.empty());
  long responses = 0, requests = 0, ref_responses = 0;
  for (std::size_t i = 0; i < d.frames.size(); ++i) {
    ASSERT_EQ(d.statuses[i], DecodeStatus::Ok) << i;
    const Reference r = referenceParse(d.frames[i].data);
    ref_responses += r.sport == 53;
    responses += classifyResponse(d.summaries[i]).vector == Vector::Dns;
    requests += classifyRequest(d.summaries[i]) == Vector::Dns;
  }
  EXPECT_GT(responses, 0);
  EXPECT_EQ(responses, ref_responses);
  EXPECT_GT(requests, 0);
  const long t = tsharkCount(rel, "udp.srcport==53");
  if (t >= 0) {
    EXPECT_EQ(responses, t);
  }
}

TEST(RealCaptures, NtpMonlistResponse) {
  Decoded d;
  LOAD_OR_SKIP("ndpi/NTPv2.pcap", d);
  ASSERT_EQ(d.frames.size(), 1u);
  const PacketSummary& s = d.summaries[0];
  ASSERT_EQ(d.statuses[0], DecodeStatus::Ok);
  ASSERT_GE(s.payload_len, 4);
  const VectorMatch m = classifyResponse(s);
  EXPECT_EQ(m.vector, Vector::Ntp);
  // Mode 7 response, MON_GETLIST_1, read straight from the bytes.
  const bool monlist = (s.payload[0] & 0x87) == 0x87 && s.payload[3] == 42;
  EXPECT_TRUE(monlist);
  EXPECT_EQ(bool(m.evidence & evidence::kNtpMonlist), monlist);

  // The matching request (mode 7, R bit clear) is a request, not a response.
  Decoded q;
  LOAD_OR_SKIP("esnet/ntp-monlist.pcap", q);
  ASSERT_EQ(q.statuses[0], DecodeStatus::Ok);
  EXPECT_EQ(classifyRequest(q.summaries[0]), Vector::Ntp);
  EXPECT_FALSE(classifyResponse(q.summaries[0]).evidence & evidence::kNtpMonlist);
}

TEST(RealCaptures, CldapResponses) {
  for (const char* rel :
       {"suricata-verify/ldap-udp__cldap.pcap", "suricata-verify/bug-8619__cldap-leak.pcap"}) {
    Decoded d;
    LOAD_OR_SKIP(rel, d);
    long from389 = 0, matched = 0;
    for (std::size_t i = 0; i < d.frames.size(); ++i) {
      const Reference r = referenceParse(d.frames[i].data);
      const VectorMatch m = classifyResponse(d.summaries[i]);
      if (r.sport == 389) {
        ++from389;
        EXPECT_EQ(m.vector, Vector::Cldap);
        matched += (m.evidence & evidence::kPayloadMatch) != 0;
      }
    }
    EXPECT_GT(from389, 0) << rel;
    EXPECT_EQ(matched, from389) << rel;
  }
}

TEST(RealCaptures, SnmpWalkResponsesAndRequests) {
  const std::string rel = "zeek/snmp_snmpwalk-short.pcap";
  Decoded d;
  LOAD_OR_SKIP(rel, d);
  long responses = 0, requests = 0;
  for (std::size_t i = 0; i < d.frames.size(); ++i) {
    const VectorMatch m = classifyResponse(d.summaries[i]);
    if (m.vector == Vector::Snmp && (m.evidence & evidence::kPayloadMatch)) ++responses;
    if (classifyRequest(d.summaries[i]) == Vector::Snmp) ++requests;
  }
  EXPECT_EQ(responses + requests, static_cast<long>(d.frames.size()));
  const long t = tsharkCount(rel, "snmp.get_response_element");
  if (t >= 0) {
    EXPECT_EQ(responses, t);
  }
}

TEST(RealCaptures, MemcachedResponsesFromServer) {
  Decoded d;
  LOAD_OR_SKIP("flightplan/MemcachedFPGATest_UnitTests_Test1_pcap_ref_client.pcap", d);
  ASSERT_FALSE(d.frames.empty());
  for (std::size_t i = 0; i < d.frames.size(); ++i) {
    const VectorMatch m = classifyResponse(d.summaries[i]);
    EXPECT_EQ(m.vector, Vector::Memcached);
    EXPECT_EQ(m.evidence,
              evidence::kMemcachedFrame | evidence::kMemcachedText | evidence::kPayloadMatch);
    EXPECT_FALSE(findRansomNote(d.summaries[i].payloadSpan()).has_value());
  }
  // The requests going the other way.
  Decoded q;
  LOAD_OR_SKIP("flightplan/MemcachedFPGATest_UnitTests_Test1_pcap_Send.pcap", q);
  for (std::size_t i = 0; i < q.frames.size(); ++i) {
    EXPECT_EQ(classifyRequest(q.summaries[i]), Vector::Memcached);
    EXPECT_EQ(classifyResponse(q.summaries[i]).vector, Vector::None);
  }
}

}  // namespace
}  // namespace bw
