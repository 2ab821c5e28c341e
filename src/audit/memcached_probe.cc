#include "audit/memcached_probe.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "audit/socket_address.h"

namespace bw::audit {
namespace {

constexpr std::string_view kUdpRequest = "stats\r\n";
constexpr std::string_view kTcpRequest = "stats\r\nstats settings\r\nversion\r\n";
constexpr std::size_t kMaxValueChars = 64;

// Statistics kept in details (stat name -> detail name). Everything else is dropped, so a
// reply cannot grow the finding.
constexpr std::pair<std::string_view, std::string_view> kKept[] = {
    {"pid", "pid"},
    {"uptime", "uptime"},
    {"curr_connections", "curr_connections"},
    {"total_connections", "total_connections"},
    {"max_connections", "max_connections"},
    {"maxconns", "max_connections"},
    {"curr_items", "curr_items"},
    {"total_items", "total_items"},
    {"bytes", "bytes"},
    {"limit_maxbytes", "limit_maxbytes"},
    {"item_size_max", "item_size_max"},
    {"threads", "threads"},
    {"tcpport", "tcpport"},
    {"udpport", "udpport"},
};

std::string_view asText(ByteSpan b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

bool isText(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\r' || c == '\n' || c == '\t';
  });
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Calls f(line) for each line ending in '\n' (without "\r\n"); returns bytes consumed.
template <typename F>
std::size_t forEachLine(std::string_view text, F&& f) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line);
    pos = nl + 1;
  }
  return pos;
}

nlohmann::json statValue(std::string_view v) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc{} && ptr == v.data() + v.size()) return n;
  return std::string(v.substr(0, kMaxValueChars));
}

void noteError(std::string_view line, ReplyInfo& info) {
  info.positive = true;
  info.details["error"] = std::string(line.substr(0, kMaxValueChars));
  if (startsWith(line, "CLIENT_ERROR") && (line.find("unauthenticated") != std::string_view::npos ||
                                           line.find("authentication") != std::string_view::npos)) {
    info.auth_required = true;
  }
}

// Folds the reassembled runs of a UDP reply. `st` is details["_udp"].
void refoldUdp(const nlohmann::json& st, ReplyInfo& info) {
  const auto total = st.at("total").get<std::uint32_t>();
  std::vector<std::pair<std::uint32_t, const std::string*>> parts;
  for (const auto& [k, v] : st.at("parts").items()) {
    std::uint32_t seq = 0;
    std::from_chars(k.data(), k.data() + k.size(), seq);  // keys are ours: decimal numbers
    parts.emplace_back(seq, v.get_ptr<const std::string*>());
  }
  std::sort(parts.begin(), parts.end());
  std::size_t i = 0;
  while (i < parts.size()) {
    std::size_t j = i;
    std::string run = *parts[i].second;
    while (j + 1 < parts.size() && parts[j + 1].first == parts[j].first + 1) {
      ++j;
      run += *parts[j].second;
    }
    std::string_view text = run;
    if (parts[i].first != 0) {  // starts mid-reply: the first line is cut
      std::size_t nl = text.find('\n');
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
    if (parts[j].first != total - 1) {  // ends mid-reply: the last line is cut
      std::size_t nl = text.rfind('\n');
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(0, nl + 1);
    }
    foldMemcachedStats(text, info);
    forEachLine(text, [&](std::string_view line) {
      if (startsWith(line, "CLIENT_ERROR") || startsWith(line, "SERVER_ERROR")) {
        noteError(line, info);
      }
    });
    i = j + 1;
  }
}

class MemcachedUdpProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "memcached"; }
  Transport transport() const noexcept override { return Transport::Udp; }
  std::uint16_t port() const noexcept override { return kMemcachedPort; }

  std::vector<std::uint8_t> request(std::uint16_t token) const override {
    std::vector<std::uint8_t> r(kMemcachedFrameHeader + kUdpRequest.size(), 0);
    storeBe16(r.data(), token);  // request id; sequence 0, reserved 0 already
    storeBe16(r.data() + 4, 1);  // total datagrams
    std::copy(kUdpRequest.begin(), kUdpRequest.end(), r.begin() + kMemcachedFrameHeader);
    return r;
  }

  void parse(ByteSpan reply, std::uint16_t token, ReplyInfo& info) const override {
    if (reply.size() <= kMemcachedFrameHeader) return;
    const std::uint16_t id = loadBe16(reply.data());
    const std::uint16_t seq = loadBe16(reply.data() + 2);
    const std::uint16_t total = loadBe16(reply.data() + 4);
    const std::uint16_t reserved = loadBe16(reply.data() + 6);
    if (id != token || reserved != 0 || total == 0 || seq >= total) return;
    std::string_view text = asText(reply.subspan(kMemcachedFrameHeader));
    if (!isText(text)) return;
    // The first datagram must open like an answer to "stats"; an echo of our own request
    // ("stats\r\n") or another protocol's "ERROR" does not.
    if (seq == 0 && !startsWith(text, "STAT ") && !startsWith(text, "CLIENT_ERROR") &&
        !startsWith(text, "SERVER_ERROR")) {
      return;
    }
    info.positive = true;
    if (info.complete) return;  // a duplicate after reassembly
    nlohmann::json& st = info.details["_udp"];
    if (!st.contains("total")) {
      st["total"] = total;
      st["parts"] = nlohmann::json::object();
      st["unstored"] = 0;
    } else if (st["total"].get<std::uint32_t>() != total) {
      return;  // a datagram that disagrees about the reply's length: keep the first story
    }
    nlohmann::json& parts = st["parts"];
    const std::string key = std::to_string(seq);
    if (parts.contains(key)) return;
    if (parts.size() >= kMaxUdpParts || text.size() > kMaxUdpPartBytes) {
      st["unstored"] = st["unstored"].get<std::uint32_t>() + 1;
      info.details["reply_truncated"] = true;
    } else {
      parts[key] = std::string(text);
    }
    refoldUdp(st, info);
    if (parts.size() + st["unstored"].get<std::uint32_t>() >= total) {
      info.complete = true;
      info.details.erase("_udp");
    }
    if (info.details.contains("pid") || !info.version.empty()) {
      info.auth_required = false;  // it answered "stats" without asking who we are
    }
  }

  std::string advice() const override {
    return "memcached answers on UDP 11211 and reflects amplified traffic: disable UDP with "
           "-U 0 (the default since 1.5.6; upgrade older versions), bind it to localhost or a "
           "private interface with -l, and firewall 11211/udp and 11211/tcp from the Internet.";
  }
};

class MemcachedTcpProbe final : public Probe {
 public:
  std::string_view service() const noexcept override { return "memcached"; }
  Transport transport() const noexcept override { return Transport::Tcp; }
  std::uint16_t port() const noexcept override { return kMemcachedPort; }

  std::vector<std::uint8_t> request(std::uint16_t) const override {
    return {kTcpRequest.begin(), kTcpRequest.end()};
  }

  // `reply` is everything received so far, so the answer is rebuilt from scratch each time.
  void parse(ByteSpan reply, std::uint16_t, ReplyInfo& info) const override {
    info = ReplyInfo{};
    std::string_view text = asText(reply);
    std::size_t end = text.rfind('\n');
    if (end == std::string_view::npos) return;
    text = text.substr(0, end + 1);
    if (!isText(text)) return;
    bool stats = foldMemcachedStats(text, info) > 0;
    forEachLine(text, [&](std::string_view line) {
      if (startsWith(line, "VERSION ")) {
        info.positive = true;
        info.complete = true;
        if (info.version.empty()) info.version = std::string(line.substr(8, kMaxValueChars));
      } else if (startsWith(line, "CLIENT_ERROR") || startsWith(line, "SERVER_ERROR")) {
        noteError(line, info);
        if (info.auth_required.value_or(false)) info.complete = true;  // the server hangs up
      }
    });
    if (stats) {
      info.positive = true;
      info.auth_required = false;
    }
  }

  std::string advice() const override {
    return "memcached accepts TCP connections on 11211 from here (anyone reaching it can read "
           "and overwrite the cache): bind it to localhost or a private interface with -l, "
           "firewall 11211/tcp, and require authentication (-Y or SASL) where remote clients "
           "need it. Not a reflection vector by itself, but check that UDP is off (-U 0).";
  }
};

}  // namespace

std::unique_ptr<Probe> makeMemcachedUdpProbe() { return std::make_unique<MemcachedUdpProbe>(); }
std::unique_ptr<Probe> makeMemcachedTcpProbe() { return std::make_unique<MemcachedTcpProbe>(); }

std::size_t foldMemcachedStats(std::string_view text, ReplyInfo& info) {
  std::size_t seen = 0;
  forEachLine(text, [&](std::string_view line) {
    if (!startsWith(line, "STAT ")) return;
    ++seen;
    line.remove_prefix(5);
    std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return;
    std::string_view name = line.substr(0, sp);
    std::string_view value = line.substr(sp + 1);
    if (name == "version") {
      info.version = std::string(value.substr(0, kMaxValueChars));
      return;
    }
    for (const auto& [stat, detail] : kKept) {
      if (name == stat) {
        info.details[std::string(detail)] = statValue(value);
        return;
      }
    }
  });
  return seen;
}

// ---------------------------------------------------------------------------------------
// Deep measurement: a short, sequential conversation over one connected UDP socket.

namespace {

using Clock = std::chrono::steady_clock;

class UdpConversation {
 public:
  UdpConversation(const IpAddress& target, std::uint16_t port, int buffer) {
    sockaddr_storage ss;
    const socklen_t len = toSockaddr(target, port, ss);
    fd_ = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    // Room for a whole 1 MB value (754 datagrams) between two reads; FORCE works as root.
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    }
    // Connected: the kernel drops datagrams from any other address or port.
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~UdpConversation() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpConversation(const UdpConversation&) = delete;
  UdpConversation& operator=(const UdpConversation&) = delete;

  bool ok() const { return fd_ >= 0; }

  // Sends one framed command; returns its size at the UDP payload level.
  std::size_t send(std::uint16_t id, std::string_view command) {
    std::string d(kMemcachedFrameHeader, '\0');
    d[0] = static_cast<char>(id >> 8);
    d[1] = static_cast<char>(id);
    d[5] = 1;
    d += command;
    return ::send(fd_, d.data(), d.size(), 0) == static_cast<ssize_t>(d.size()) ? d.size() : 0;
  }

  // Receives one datagram within `wait`; returns its real length (0 on timeout), the first
  // bytes in buf_.
  std::size_t receive(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return 0;
    ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), MSG_TRUNC | MSG_DONTWAIT);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  const std::array<std::uint8_t, 65536>& buffer() const { return buf_; }

  // One request, the reassembled text of its answer (at most `max_bytes`), "" if none.
  std::string exchange(std::uint16_t id, std::string_view command, std::chrono::milliseconds wait,
                       std::size_t max_bytes) {
    if (send(id, command) == 0) return {};
    std::vector<std::string> parts;
    std::size_t have = 0, stored = 0;
    auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      std::size_t n = receive(std::max(left, std::chrono::milliseconds(1)));
      if (n == 0) break;
      n = std::min(n, buf_.size());
      if (n <= kMemcachedFrameHeader || loadBe16(buf_.data()) != id) continue;
      std::uint16_t seq = loadBe16(buf_.data() + 2), total = loadBe16(buf_.data() + 4);
      if (total == 0 || seq >= total || total > 4096) continue;
      if (parts.empty()) parts.resize(total);
      if (parts.size() != total || !parts[seq].empty()) continue;
      std::size_t len = n - kMemcachedFrameHeader;
      if (stored + len > max_bytes) break;
      parts[seq].assign(reinterpret_cast<const char*>(buf_.data()) + kMemcachedFrameHeader, len);
      stored += len;
      if (++have == total) break;
    }
    std::string text;
    for (const auto& p : parts) {
      if (p.empty()) break;  // only the contiguous beginning is trustworthy text
      text += p;
    }
    return text;
  }

 private:
  int fd_ = -1;
  std::array<std::uint8_t, 65536> buf_{};
};

// One command over TCP; everything the server sends until "END\r\n", a pause of `wait`, or
// `max_bytes`. Empty when the host does not accept the connection.
std::string tcpConversation(const IpAddress& target, std::uint16_t port, const std::string& command,
                            std::chrono::milliseconds wait, std::size_t max_bytes) {
  sockaddr_storage ss;
  const socklen_t len = toSockaddr(target, port, ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  std::string reply;
  auto waitFor = [&](short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0 && !(p.revents & (POLLERR | POLLNVAL));
  };
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = 0;
  socklen_t elen = sizeof err;
  if ((rc == 0 || (errno == EINPROGRESS && waitFor(POLLOUT))) &&
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0 &&
      ::send(fd, command.data(), command.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(command.size())) {
    std::array<char, 16384> buf;
    while (reply.size() < max_bytes && waitFor(POLLIN)) {
      ssize_t n = ::recv(fd, buf.data(), std::min(buf.size(), max_bytes - reply.size()), 0);
      if (n <= 0) break;
      reply.append(buf.data(), static_cast<std::size_t>(n));
      if (reply.size() >= 5 && reply.compare(reply.size() - 5, 5, "END\r\n") == 0) break;
    }
  }
  ::close(fd);
  return reply;
}

std::string uriDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned v = 0;
    if (s[i] == '%' && i + 2 < s.size() &&
        std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr == s.data() + i + 3) {
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

double round2(double x) { return std::round(x * 100.0) / 100.0; }

bool validKey(std::string_view k) {
  return !k.empty() && k.size() <= 250 && std::all_of(k.begin(), k.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

}  // namespace

nlohmann::json measureMemcachedWorstCase(const IpAddress& target, std::uint16_t port,
                                         const DeepProbeOptions& o) {
  auto skipped = [](std::string why) { return nlohmann::json{{"skipped", std::move(why)}}; };
  UdpConversation conv(target, port, o.socket_buffer);
  if (!conv.ok()) return skipped("could not open a UDP socket to the host");
  std::uint16_t id = static_cast<std::uint16_t>(Clock::now().time_since_epoch().count());

  // 1. Which slab classes hold items ("STAT items:CLASS:number N").
  std::string items = conv.exchange(++id, "stats items\r\n", o.step_timeout, 1 << 20);
  if (items.empty()) return skipped("no answer to 'stats items'");
  std::vector<std::uint32_t> classes;
  forEachLine(items, [&](std::string_view line) {
    if (!startsWith(line, "STAT items:")) return;
    line.remove_prefix(11);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !startsWith(line.substr(colon), ":number ")) return;
    std::uint32_t cls = 0;
    std::uint64_t n = 0;
    std::string_view c = line.substr(0, colon), v = line.substr(colon + 8);
    if (std::from_chars(c.data(), c.data() + c.size(), cls).ec != std::errc{}) return;
    if (std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc{} || n == 0) return;
    classes.push_back(cls);
  });
  if (classes.empty()) return skipped("no items stored: the stats reply is the worst case");
  // Larger class ids hold larger items (chunked values above slab_chunk_max too).
  std::sort(classes.rbegin(), classes.rend());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  if (classes.size() > o.max_classes) classes.resize(o.max_classes);

  // 2. The largest key listed ("ITEM key [BYTES b; EXP s]").
  std::string best_key;
  std::uint64_t best_bytes = 0;
  for (std::uint32_t cls : classes) {
    std::string cmd =
        "stats cachedump " + std::to_string(cls) + " " + std::to_string(o.keys_per_class) + "\r\n";
    std::string dump = conv.exchange(++id, cmd, o.step_timeout, 1 << 20);
    forEachLine(dump, [&](std::string_view line) {
      if (!startsWith(line, "ITEM ")) return;
      line.remove_prefix(5);
      std::size_t sp = line.find(" [");
      if (sp == std::string_view::npos) return;
      std::string_view key = line.substr(0, sp), rest = line.substr(sp + 2);
      std::uint64_t bytes = 0;
      if (std::from_chars(rest.data(), rest.data() + rest.size(), bytes).ec != std::errc{}) return;
      if (validKey(key) && bytes > best_bytes) {
        best_bytes = bytes;
        best_key = std::string(key);
      }
    });
  }
  std::string listed_by = "stats cachedump";
  if (best_key.empty()) {
    // cachedump walks only the COLD LRU; recently written items are HOT or WARM. The LRU
    // crawler lists every item, but only over TCP.
    std::string list;
    for (std::uint32_t cls : classes) list += (list.empty() ? "" : ",") + std::to_string(cls);
    std::string dump = tcpConversation(target, port, "lru_crawler metadump " + list + "\r\n",
                                       o.step_timeout, o.metadump_bytes);
    // "key=K exp=E la=L cas=C fetch=F cls=N size=S" (K URI-encoded; S the whole item)
    forEachLine(dump, [&](std::string_view line) {
      if (!startsWith(line, "key=")) return;
      std::size_t sp = line.find(' ');
      std::string key = uriDecode(line.substr(4, sp == std::string_view::npos ? 0 : sp - 4));
      std::size_t at = line.find(" size=");
      if (at == std::string_view::npos) return;
      std::string_view v = line.substr(at + 6);
      std::uint64_t bytes = 0;
      if (std::from_chars(v.data(), v.data() + v.size(), bytes).ec != std::errc{}) return;
      if (validKey(key) && bytes > best_bytes) {
        best_bytes = bytes;
        best_key = key;
      }
    });
    listed_by = "lru_crawler metadump (tcp)";
  }
  if (best_key.empty()) {
    return skipped(
        "no keys listed: 'stats cachedump' returned none (items not yet in the cold LRU, or "
        "dumping disabled) and 'lru_crawler metadump' over TCP was not available");
  }

  // 3. One "get" of that key over UDP, every datagram counted.
  const std::uint16_t get_id = ++id;
  const std::size_t request = conv.send(get_id, "get " + best_key + "\r\n");
  if (request == 0) return skipped("could not send the get request");
  std::uint64_t bytes = 0, datagrams = 0;
  std::vector<bool> seen;
  std::size_t distinct = 0;
  bool value = false;
  auto start = Clock::now();
  while (datagrams < o.max_datagrams && Clock::now() - start < o.get_budget) {
    std::size_t n = conv.receive(o.step_timeout);
    if (n == 0) break;  // quiet for step_timeout
    const auto& b = conv.buffer();
    if (n <= kMemcachedFrameHeader || loadBe16(b.data()) != get_id) continue;
    std::uint16_t seq = loadBe16(b.data() + 2), total = loadBe16(b.data() + 4);
    if (total == 0 || seq >= total) continue;
    if (seen.empty()) seen.assign(total, false);
    if (seen.size() != total) continue;
    if (seq == 0) {
      // "VALUE <key> <flags> <bytes>\r\n": the value's own size, exact where the listing
      // (metadump) gave the whole item's.
      std::string_view head(reinterpret_cast<const char*>(b.data()) + 8,
                            std::min<std::size_t>(n, b.size()) - 8);
      value = startsWith(head, "VALUE ");
      std::string_view line = head.substr(0, head.find('\r'));
      std::size_t last = line.rfind(' ');
      std::uint64_t size = 0;
      if (value && last != std::string_view::npos &&
          std::from_chars(line.data() + last + 1, line.data() + line.size(), size).ec ==
              std::errc{}) {
        best_bytes = size;
      }
    }
    bytes += n;
    ++datagrams;
    if (!seen[seq]) {
      seen[seq] = true;
      if (++distinct == total) break;
    }
  }
  if (datagrams == 0) return skipped("no answer to the get request");
  if (!value && distinct == seen.size()) return skipped("the listed item was gone by the get");
  const double ip_header = target.isV4() ? 28.0 : 48.0;
  return {
      {"key", best_key},
      {"item_bytes", best_bytes},
      {"listed_by", listed_by},
      {"request_bytes", request},
      {"response_bytes", bytes},
      {"response_datagrams", datagrams},
      {"amplification", round2(static_cast<double>(bytes) / static_cast<double>(request))},
      {"amplification_ip",
       round2((static_cast<double>(bytes) + ip_header * static_cast<double>(datagrams)) /
              (static_cast<double>(request) + ip_header))},
      {"complete", !seen.empty() && distinct == seen.size()},
  };
}

}  // namespace bw::audit
