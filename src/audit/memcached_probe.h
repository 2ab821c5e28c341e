// Memcached probes: the 2018 amplifier (UDP) and the open cache behind it (TCP).
//
// UDP: "stats\r\n" behind the 8-byte frame header (request id = token, sequence 0, total 1,
// reserved 0), as nmap's memcached-info sends it. memcached answers in datagrams of at most
// 1,400 bytes, each with its own frame header (same request id, sequence 0..total-1), cut at
// byte boundaries rather than line boundaries, so a STAT line can straddle two datagrams.
// parse() keeps the text of each datagram (bounded: kMaxUdpParts of at most
// kMaxUdpPartBytes each) in ReplyInfo::details["_udp"] until every sequence number has
// arrived, then folds the reassembled text and removes "_udp". A reply that never completes
// keeps it; keys starting with '_' are probe state, never reported (audit_report strips them).
//
// TCP: "stats\r\nstats settings\r\nversion\r\n"; "stats settings" adds item_size_max and the
// ports the server listens on. Complete at the VERSION line, or at "CLIENT_ERROR
// unauthenticated" (ASCII authentication, -Y), after which memcached closes the connection.
//
// A reply is positive only if it has the shape of a memcached answer to our request: the
// right request id and a valid frame header over UDP, "STAT "/"VERSION "/"CLIENT_ERROR"/
// "SERVER_ERROR" text. An echo of the request, an "ERROR" from some other text protocol or
// binary bytes are not. Details kept: pid, uptime, curr_connections, total_connections,
// max_connections, curr_items, total_items, bytes, limit_maxbytes, item_size_max, threads,
// tcpport, udpport; nothing else from the reply is stored.
//
// The deep measurement (measureMemcachedWorstCase) is a separate, opt-in conversation with a
// host already found exposed over UDP: it lists stored keys ("stats items", then "stats
// cachedump" of the classes holding the largest items over UDP; cachedump only sees the cold
// LRU, so when it lists nothing, "lru_crawler metadump" of those classes over TCP if the host
// accepts TCP), fetches the largest one with one "get" over UDP and counts what comes back.
// It sends a handful of requests, each only after the previous answer, and is bounded in
// bytes, datagrams and time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "audit/probe.h"
#include "core/ip_address.h"

namespace bw::audit {

inline constexpr std::uint16_t kMemcachedPort = 11211;
inline constexpr std::size_t kMemcachedFrameHeader = 8;
inline constexpr std::size_t kMaxUdpParts = 64;
inline constexpr std::size_t kMaxUdpPartBytes = 1500;

std::unique_ptr<Probe> makeMemcachedUdpProbe();
std::unique_ptr<Probe> makeMemcachedTcpProbe();

// Folds memcached "STAT name value" lines (any mix of \r\n and \n endings) into `info`:
// version into info.version, the kept statistics into info.details. Lines cut at either end
// of `text` must have been removed by the caller. Returns the number of STAT lines seen.
std::size_t foldMemcachedStats(std::string_view text, ReplyInfo& info);

struct DeepProbeOptions {
  std::chrono::milliseconds step_timeout{1000};  // wait for one answer (quiet time for `get`)
  std::chrono::milliseconds get_budget{10000};   // whole `get` measurement
  std::size_t max_classes = 3;                   // slab classes listed, largest first
  std::size_t keys_per_class = 100;              // "stats cachedump CLASS N"
  std::size_t max_datagrams = 65535;             // counted for `get` (memcached's own limit)
  std::size_t metadump_bytes = 4 << 20;          // read of the TCP key listing, at most
  int socket_buffer = 16 << 20;
};

// Measures the worst case a reflection attacker gets from `target` (memcached over UDP on
// `port`): the largest item it could list, fetched once. Returns the "deep" detail object:
// {"key", "item_bytes", "request_bytes", "response_bytes", "response_datagrams",
// "amplification", "amplification_ip", "complete"} or {"skipped": "reason"} when it could not
// be measured (no keys listable, no answer, cachedump disabled...).
nlohmann::json measureMemcachedWorstCase(const IpAddress& target, std::uint16_t port,
                                         const DeepProbeOptions& options);

}  // namespace bw::audit
