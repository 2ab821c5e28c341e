// The memcached probes' requests and reply parsing, against a reply captured from a real
// memcached 1.6.18 ("stats" over UDP, reassembled) cut into frames the way memcached cuts
// them: at 1,392 bytes of text, mid-line. Expected values come from reading the fixture's
// STAT lines directly, not from the parser.
#include "audit/memcached_probe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "audit/memcached_client.h"

namespace bw::audit {
namespace {

// memcached 1.6.18, -m 64, "stats" (2,221 bytes; 2 datagrams over UDP).
const std::string kStats =
    "STAT pid 13896\r\n"
    "STAT uptime 2789\r\n"
    "STAT time 1795559381\r\n"
    "STAT version 1.6.18\r\n"
    "STAT libevent 2.1.12-stable\r\n"
    "STAT pointer_size 64\r\n"
    "STAT rusage_user 0.235204\r\n"
    "STAT rusage_system 0.060054\r\n"
    "STAT max_connections 1024\r\n"
    "STAT curr_connections 4\r\n"
    "STAT total_connections 9\r\n"
    "STAT rejected_connections 0\r\n"
    "STAT connection_structures 6\r\n"
    "STAT response_obj_oom 0\r\n"
    "STAT response_obj_count 1\r\n"
    "STAT response_obj_bytes 65536\r\n"
    "STAT read_buf_count 8\r\n"
    "STAT read_buf_bytes 131072\r\n"
    "STAT read_buf_bytes_free 65536\r\n"
    "STAT read_buf_oom 0\r\n"
    "STAT reserved_fds 20\r\n"
    "STAT cmd_get 0\r\n"
    "STAT cmd_set 0\r\n"
    "STAT cmd_flush 0\r\n"
    "STAT cmd_touch 0\r\n"
    "STAT cmd_meta 0\r\n"
    "STAT get_hits 0\r\n"
    "STAT get_misses 0\r\n"
    "STAT get_expired 0\r\n"
    "STAT get_flushed 0\r\n"
    "STAT delete_misses 0\r\n"
    "STAT delete_hits 0\r\n"
    "STAT incr_misses 0\r\n"
    "STAT incr_hits 0\r\n"
    "STAT decr_misses 0\r\n"
    "STAT decr_hits 0\r\n"
    "STAT cas_misses 0\r\n"
    "STAT cas_hits 0\r\n"
    "STAT cas_badval 0\r\n"
    "STAT touch_hits 0\r\n"
    "STAT touch_misses 0\r\n"
    "STAT store_too_large 0\r\n"
    "STAT store_no_memory 0\r\n"
    "STAT auth_cmds 0\r\n"
    "STAT auth_errors 0\r\n"
    "STAT bytes_read 251\r\n"
    "STAT bytes_written 29598\r\n"
    "STAT limit_maxbytes 67108864\r\n"
    "STAT accepting_conns 1\r\n"
    "STAT listen_disabled_num 0\r\n"
    "STAT time_in_listen_disabled_us 0\r\n"
    "STAT threads 4\r\n"
    "STAT conn_yields 0\r\n"
    "STAT hash_power_level 16\r\n"
    "STAT hash_bytes 524288\r\n"
    "STAT hash_is_expanding 0\r\n"
    "STAT slab_reassign_rescues 0\r\n"
    "STAT slab_reassign_chunk_rescues 0\r\n"
    "STAT slab_reassign_evictions_nomem 0\r\n"
    "STAT slab_reassign_inline_reclaim 0\r\n"
    "STAT slab_reassign_busy_items 0\r\n"
    "STAT slab_reassign_busy_deletes 0\r\n"
    "STAT slab_reassign_running 0\r\n"
    "STAT slabs_moved 0\r\n"
    "STAT lru_crawler_running 0\r\n"
    "STAT lru_crawler_starts 10\r\n"
    "STAT lru_maintainer_juggles 2837\r\n"
    "STAT malloc_fails 0\r\n"
    "STAT log_worker_dropped 0\r\n"
    "STAT log_worker_written 0\r\n"
    "STAT log_watcher_skipped 0\r\n"
    "STAT log_watcher_sent 0\r\n"
    "STAT log_watchers 0\r\n"
    "STAT unexpected_napi_ids 0\r\n"
    "STAT round_robin_fallback 0\r\n"
    "STAT bytes 0\r\n"
    "STAT curr_items 0\r\n"
    "STAT total_items 0\r\n"
    "STAT slab_global_page_pool 0\r\n"
    "STAT expired_unfetched 0\r\n"
    "STAT evicted_unfetched 0\r\n"
    "STAT evicted_active 0\r\n"
    "STAT evictions 0\r\n"
    "STAT reclaimed 0\r\n"
    "STAT crawler_reclaimed 0\r\n"
    "STAT crawler_items_checked 0\r\n"
    "STAT lrutail_reflocked 0\r\n"
    "STAT moves_to_cold 0\r\n"
    "STAT moves_to_warm 0\r\n"
    "STAT moves_within_lru 0\r\n"
    "STAT direct_reclaims 0\r\n"
    "STAT lru_bumps_dropped 0\r\n"
    "END\r\n";

const std::string kSettingsTail =
    "STAT maxconns 1024\r\n"
    "STAT tcpport 11211\r\n"
    "STAT udpport 11211\r\n"
    "STAT item_size_max 2097152\r\n"
    "END\r\n"
    "VERSION 1.6.18\r\n";

ByteSpan span(const std::string& s) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string frame(std::uint16_t id, std::uint16_t seq, std::uint16_t total,
                  const std::string& payload, std::uint16_t reserved = 0) {
  std::string d(8, '\0');
  d[0] = static_cast<char>(id >> 8), d[1] = static_cast<char>(id);
  d[2] = static_cast<char>(seq >> 8), d[3] = static_cast<char>(seq);
  d[4] = static_cast<char>(total >> 8), d[5] = static_cast<char>(total);
  d[6] = static_cast<char>(reserved >> 8), d[7] = static_cast<char>(reserved);
  return d + payload;
}

// Cuts `text` into frames of at most `chunk` bytes, as memcached does (1,400 - 8).
std::vector<std::string> frames(std::uint16_t id, const std::string& text,
                                std::size_t chunk = 1392) {
  std::vector<std::string> out;
  const auto total = static_cast<std::uint16_t>((text.size() + chunk - 1) / chunk);
  for (std::uint16_t i = 0; i < total; ++i)
    out.push_back(frame(id, i, total, text.substr(i * chunk, chunk)));
  return out;
}

void expectDetailsMatch(const ReplyInfo& info, const std::string& text) {
  auto ref = bw::testing::statMap(text);
  for (const char* k : {"pid", "uptime", "curr_connections", "total_connections", "curr_items",
                        "total_items", "bytes", "limit_maxbytes", "threads"}) {
    ASSERT_TRUE(info.details.contains(k)) << k;
    EXPECT_EQ(info.details[k].get<std::uint64_t>(), std::stoull(ref[k])) << k;
  }
  EXPECT_EQ(info.details["max_connections"].get<std::uint64_t>(),
            std::stoull(ref["max_connections"]));
  EXPECT_EQ(info.version, ref["version"]);
}

TEST(MemcachedProbe, Requests) {
  auto udp = makeMemcachedUdpProbe();
  auto tcp = makeMemcachedTcpProbe();
  EXPECT_EQ(udp->service(), "memcached");
  EXPECT_EQ(udp->transport(), Transport::Udp);
  EXPECT_EQ(tcp->transport(), Transport::Tcp);
  EXPECT_EQ(udp->port(), 11211);
  // Request id = token, sequence 0, one datagram, reserved 0 (nmap memcached-info's header).
  const std::vector<std::uint8_t> want = {0xbe, 0xef, 0,   0,   0,   1,    0,   0,
                                          's',  't',  'a', 't', 's', '\r', '\n'};
  EXPECT_EQ(udp->request(0xbeef), want);
  auto t = tcp->request(1);
  EXPECT_EQ(std::string(t.begin(), t.end()), "stats\r\nstats settings\r\nversion\r\n");
  EXPECT_NE(udp->advice().find("-U 0"), std::string::npos);
  EXPECT_NE(udp->advice().find("1.5.6"), std::string::npos);
  EXPECT_NE(udp->advice().find("-l"), std::string::npos);
  EXPECT_NE(tcp->advice().find("11211"), std::string::npos);
}

TEST(MemcachedProbe, UdpReplyReassembledInAnyOrder) {
  auto p = makeMemcachedUdpProbe();
  auto f = frames(0x1234, kStats);
  ASSERT_EQ(f.size(), 2u);  // as the real server sent it
  for (bool reversed : {false, true}) {
    SCOPED_TRACE(reversed ? "reversed" : "in order");
    if (reversed) std::reverse(f.begin(), f.end());
    ReplyInfo info;
    p->parse(span(f[0]), 0x1234, info);
    EXPECT_TRUE(info.positive);
    EXPECT_FALSE(info.complete);
    p->parse(span(f[0]), 0x1234, info);  // a duplicate changes nothing
    EXPECT_FALSE(info.complete);
    p->parse(span(f[1]), 0x1234, info);
    EXPECT_TRUE(info.complete);
    EXPECT_EQ(info.auth_required, std::optional<bool>(false));
    EXPECT_FALSE(info.details.contains("_udp"));
    expectDetailsMatch(info, kStats);
  }
}

TEST(MemcachedProbe, LinesCutAtEveryPositionAreNeverMisread) {
  auto p = makeMemcachedUdpProbe();
  const std::string text = kStats.substr(0, 600);  // whole lines up to some point
  const std::string whole = text.substr(0, text.rfind('\n') + 1) + "END\r\n";
  // The first frame must at least open with "STAT " to be recognised (memcached's are 1,392
  // bytes); from there on, any cut.
  for (std::size_t cut = 5; cut < whole.size(); ++cut) {
    ReplyInfo info;
    p->parse(span(frame(9, 1, 2, whole.substr(cut))), 9, info);
    p->parse(span(frame(9, 0, 2, whole.substr(0, cut))), 9, info);
    ASSERT_TRUE(info.complete) << cut;
    auto ref = bw::testing::statMap(whole);
    for (const char* k : {"pid", "uptime", "curr_connections", "max_connections"}) {
      ASSERT_EQ(info.details[k].get<std::uint64_t>(), std::stoull(ref[k])) << k << " cut " << cut;
    }
  }
}

TEST(MemcachedProbe, LostMiddleDatagramKeepsOnlyWholeLines) {
  auto p = makeMemcachedUdpProbe();
  auto f = frames(77, kStats, 500);  // five frames
  ASSERT_EQ(f.size(), 5u);
  ReplyInfo info;
  for (std::size_t i : {0u, 1u, 3u, 4u}) p->parse(span(f[i]), 77, info);
  EXPECT_TRUE(info.positive);
  EXPECT_FALSE(info.complete);
  EXPECT_TRUE(info.details.contains("_udp"));  // still waiting; the report strips it
  // Whatever was folded is exactly what the server said.
  auto ref = bw::testing::statMap(kStats);
  for (const auto& [k, v] : info.details.items()) {
    if (k.front() == '_' || !v.is_number()) continue;
    std::string stat = k == "max_connections" ? "max_connections" : k;
    EXPECT_EQ(v.get<std::uint64_t>(), std::stoull(ref[stat])) << k;
  }
}

TEST(MemcachedProbe, UdpRepliesThatAreNotAnswersAreRejected) {
  auto p = makeMemcachedUdpProbe();
  const std::string stats = "STAT pid 1\r\nSTAT version 1.6.18\r\nEND\r\n";
  std::vector<std::pair<const char*, std::string>> cases = {
      {"wrong id", frame(0x1235, 0, 1, stats)},
      {"reserved set", frame(0x1234, 0, 1, stats, 0xffff)},
      {"sequence past total", frame(0x1234, 2, 2, stats)},
      {"zero total", frame(0x1234, 0, 0, stats)},
      {"header only", frame(0x1234, 0, 1, "")},
      {"short", std::string("\x12\x34\x00", 3)},
      {"empty", std::string()},
      {"echo of the request", frame(0x1234, 0, 1, "stats\r\n")},
      {"other text protocol", frame(0x1234, 0, 1, "ERROR\r\n")},
      {"binary", frame(0x1234, 0, 1, std::string("STAT \x00\x01\x02\xff", 9))},
  };
  for (const auto& [name, bytes] : cases) {
    ReplyInfo info;
    p->parse(span(bytes), 0x1234, info);
    EXPECT_FALSE(info.positive) << name;
    EXPECT_TRUE(info.version.empty()) << name;
  }
  // A server error is still memcached answering.
  ReplyInfo err;
  p->parse(span(frame(0x1234, 0, 1, "SERVER_ERROR out of memory\r\n")), 0x1234, err);
  EXPECT_TRUE(err.positive);
  EXPECT_TRUE(err.complete);
  EXPECT_EQ(err.details["error"], "SERVER_ERROR out of memory");
}

TEST(MemcachedProbe, UdpStateStaysBounded) {
  auto p = makeMemcachedUdpProbe();
  ReplyInfo info;
  const std::string line = "STAT filler " + std::string(1370, 'x') + "\r\n";
  for (std::uint16_t seq = 0; seq < 300; ++seq) {
    p->parse(span(frame(5, seq, 300, seq == 0 ? "STAT pid 3\r\n" + line : line)), 5, info);
  }
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);  // every sequence number arrived, stored or only counted
  EXPECT_TRUE(info.details["reply_truncated"].get<bool>());
  EXPECT_LT(info.details.dump().size(), 4096u);
  EXPECT_EQ(info.details["pid"], 3u);
  // A datagram larger than any memcached frame is counted, not kept.
  ReplyInfo big;
  p->parse(span(frame(6, 0, 2, "STAT pid 4\r\n" + std::string(60000, 'y'))), 6, big);
  EXPECT_TRUE(big.positive);
  EXPECT_LT(big.details.dump().size(), 1024u);
}

TEST(MemcachedProbe, TcpReplyCompleteAtVersion) {
  auto p = makeMemcachedTcpProbe();
  const std::string reply = kStats + "END\r\n" + kSettingsTail;
  // Everything so far, a byte at a time: never complete before the VERSION line.
  for (std::size_t n = 1; n < reply.size(); n += 97) {
    ReplyInfo info;
    p->parse(span(reply.substr(0, n)), 1, info);
    EXPECT_FALSE(info.complete) << n;
  }
  ReplyInfo info;
  p->parse(span(reply), 1, info);
  EXPECT_TRUE(info.positive);
  EXPECT_TRUE(info.complete);
  EXPECT_EQ(info.auth_required, std::optional<bool>(false));
  EXPECT_EQ(info.details["item_size_max"], 2097152u);
  EXPECT_EQ(info.details["tcpport"], 11211u);
  expectDetailsMatch(info, kStats);
}

TEST(MemcachedProbe, TcpAuthenticationAndStrangers) {
  auto p = makeMemcachedTcpProbe();
  ReplyInfo auth;
  p->parse(span(std::string("CLIENT_ERROR unauthenticated\r\n")), 1, auth);
  EXPECT_TRUE(auth.positive);
  EXPECT_TRUE(auth.complete);
  EXPECT_EQ(auth.auth_required, std::optional<bool>(true));
  for (const std::string& stranger :
       {std::string("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        std::string("ERROR\r\nERROR\r\nERROR\r\n"), std::string("stats\r\nstats settings\r\n"),
        std::string("SSH-2.0-OpenSSH_9.2\r\n"), std::string("\x16\x03\x01\x00\x05hello\n", 11)}) {
    ReplyInfo info;
    p->parse(span(stranger), 1, info);
    EXPECT_FALSE(info.positive) << stranger;
  }
}

TEST(MemcachedProbe, RandomBytesNeverCrashOrPass) {
  auto udp = makeMemcachedUdpProbe();
  auto tcp = makeMemcachedTcpProbe();
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string b(rng() % 64, '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    ReplyInfo u, t;
    udp->parse(span(b), 0x4242, u);
    tcp->parse(span(b), 0x4242, t);
    EXPECT_FALSE(u.positive && u.version.size() > 64);
  }
}

}  // namespace
}  // namespace bw::audit
