// Hand-built analyses for the report tests: an inbound memcached attack with a ransom note,
// an outbound NTP attack from our hosts, a generic "udp:500" attack and a scanner.
#pragma once

#include <string>

#include "report/analysis.h"

namespace bw::testing {

// 2018-02-28 17:21:00.000 UTC
inline constexpr std::int64_t kCaptureStart = 1519838460'000000000LL;

inline IpAddress addr(const char* text) { return IpAddress::parse(text).value(); }

inline AttackRecord memcachedInbound() {
  AttackRecord a;
  a.id = 1;
  a.victim = addr("198.18.0.10");
  a.direction = Direction::Inbound;
  a.vector = Vector::Memcached;
  a.source_port = 11211;
  a.protocol = 17;
  a.evidence = evidence::kPayloadMatch | evidence::kMemcachedFrame | evidence::kMemcachedText;
  a.active = false;
  a.start_ns = kCaptureStart + 2'013'456'789;
  a.end_ns = kCaptureStart + 7'002'000'000;
  a.detected_ns = kCaptureStart + 2'300'000'000;
  a.packets = 498'331;
  a.bytes = 702'300'000;
  a.fragments = 1'234;
  a.peak_pps = 100'000;
  a.peak_bps = 1.21e9;
  a.reflectors = 300;
  a.top_reflectors = {{addr("203.0.113.7"), 9'812, 13'800'000},
                      {addr("2001:db8::77"), 5'000, 7'000'000},
                      {addr("192.0.2.200"), 100, 140'000}};
  a.ransom_notes = {
      {"Pay 50 XMR to "
       "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv268"
       "4Rge or we attack",
       {"4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv26"
        "84Rge"}}};
  a.threshold_pps = 250;
  a.threshold_bps = 5e6;
  return a;
}

inline AttackRecord ntpOutbound() {
  AttackRecord a;
  a.id = 2;
  a.victim = addr("203.0.113.99");
  a.direction = Direction::Outbound;
  a.vector = Vector::Ntp;
  a.source_port = 123;
  a.evidence = evidence::kNtpMonlist;
  a.active = false;
  a.start_ns = kCaptureStart + 3'000'000'000;
  a.end_ns = kCaptureStart + 5'500'000'000;
  a.detected_ns = kCaptureStart + 3'100'000'000;
  a.packets = 20'000;
  a.bytes = 9'680'000;
  a.peak_pps = 8'000;
  a.peak_bps = 31e6;
  a.reflectors = 2;
  a.top_reflectors = {{addr("198.18.0.77"), 15'000, 7'260'000},
                      {addr("198.18.0.78"), 5'000, 2'420'000}};
  a.abused_hosts = {addr("198.18.0.77"), addr("198.18.0.78")};
  a.threshold_pps = 250;
  a.threshold_bps = 5e6;
  return a;
}

inline AttackRecord genericUdp500() {
  AttackRecord a;
  a.id = 3;
  a.victim = addr("2001:db8:feed::1");
  a.vector = Vector::GenericUdp;
  a.source_port = 500;
  a.active = true;
  a.start_ns = kCaptureStart + 6'000'000'000;
  a.end_ns = kCaptureStart + 9'000'000'000;
  a.detected_ns = kCaptureStart + 6'500'000'000;
  a.packets = 4'000;
  a.bytes = 2'000'000;
  a.peak_pps = 1'500;
  a.peak_bps = 6e6;
  a.reflectors = 70'000;
  a.reflectors_estimated = true;
  a.threshold_pps = 250;
  a.threshold_bps = 5e6;
  return a;
}

inline ScannerRecord memcachedScanner() {
  ScannerRecord s;
  s.source = addr("192.0.2.66");
  s.protocol = 17;
  s.port = 11211;
  s.vector = Vector::Memcached;
  s.targets = 256;
  s.packets = 300;
  s.responders = 3;
  s.start_ns = kCaptureStart - 1'900'000'000;  // 17:20:58.1
  s.end_ns = kCaptureStart - 50'000'000;       // 17:20:59.95
  return s;
}

inline Analysis sampleAnalysis() {
  Analysis an;
  an.capture.source = "capture.pcap";
  an.capture.format = "pcap";
  an.capture.packets = 2'345'678;
  an.capture.bytes = 1'940'000'000;
  an.capture.first_ns = kCaptureStart - 2'000'000'000;
  an.capture.last_ns = kCaptureStart + 9'870'000'000;
  an.capture.malformed = {{"truncated_ip_header", 3}};
  an.capture.decode = {{"not_ip", 12}};
  an.attacks = {memcachedInbound(), ntpOutbound(), genericUdp500()};
  an.scanners = {memcachedScanner()};
  EngineStats es;
  es.packets = an.capture.packets;
  es.late_packets = 5;
  an.engine = es;
  return an;
}

// An ip2asn TSV covering some of the sample reflectors.
inline const char* sampleAsnTsv() {
  return "203.0.113.0\t203.0.113.255\t64500\tZZ\tEXAMPLE-NET\n"
         "2001:db8::\t2001:db8::ffff\t64510\tZZ\tV6-NET\n"
         "198.18.0.0\t198.19.255.255\t64496\tZZ\tOUR-NET\n";
}

}  // namespace bw::testing
