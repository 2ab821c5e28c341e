// Benign streams: traffic a good detector must not flag. Busy TCP services, solicited UDP
// (every DNS/NTP/misc answer follows a query our host sent to that peer and port, after a
// fixed round trip), low-rate traffic from amplification ports, and QUIC-like UDP 443.
#include <algorithm>
#include <array>
#include <string>

#include "synth/address_pool.h"
#include "synth/streams.h"

namespace bw::synth {
namespace {

constexpr std::int64_t kMs = 1'000'000;

IpAddress offsetAddress(const IpAddress& a, std::uint64_t k) {
  auto bytes = a.bytes();
  for (int i = 15; i >= 12 && k != 0; --i) {
    const std::uint64_t sum = bytes[i] + (k & 0xff);
    bytes[i] = static_cast<std::uint8_t>(sum);
    k = (k >> 8) + (sum >> 8);
  }
  return IpAddress::fromV6Bytes(bytes.data());
}

Vector vectorForPort(std::uint16_t port) {
  for (int v = static_cast<int>(Vector::Memcached); v < static_cast<int>(Vector::GenericUdp); ++v) {
    if (vectorServicePort(static_cast<Vector>(v)) == port) return static_cast<Vector>(v);
  }
  return Vector::GenericUdp;
}

// What every benign stream shares: its spec, randomness, pacing, our host and outside peers.
class BenignStream : public Stream {
 public:
  BenignStream(const Scenario& s, std::size_t index, std::int64_t end_ns, BenignTruth& truth)
      : spec_(s.benign[index]), truth_(truth), rng_(deriveSeed(s.seed, benignTag(index))) {
    host_ = *spec_.host;
    peers_ = host_.isV4() ? AddressPool::publicV4(rng_.next(), s.networks)
                          : AddressPool::publicV6(rng_.next());
    port_key_ = rng_.next();
    const std::int64_t begin = secondsToNs(spec_.start);
    end_ = end_ns;
    if (spec_.duration > 0) end_ = std::min(end_, begin + secondsToNs(spec_.duration));
    begin_ = begin;
    truth_.spec = spec_;
    truth_.hosts.push_back(host_);
  }

 protected:
  // Starts pacing `events_per_packet`-packet events so the stream totals spec_.pps.
  void startPacing(double packets_per_event) {
    pacer_ = Pacer(spec_.pps / packets_per_event, Timing::Poisson, begin_, end_, rng_);
    next_ = pacer_.next();
  }
  IpAddress peer(std::uint32_t i) const noexcept { return peers_.at(i); }
  // A stable client port per peer index (one long-lived connection or socket each).
  std::uint16_t peerPort(std::uint32_t i) const noexcept {
    return static_cast<std::uint16_t>(32768 + mix64(i ^ port_key_) % 28232);
  }
  IpFields ipFields(std::uint8_t ttl) noexcept {
    IpFields ip;
    ip.id = static_cast<std::uint32_t>(rng_.next() >> 32);
    ip.ttl = ttl;
    return ip;
  }

  BenignSpec spec_;
  BenignTruth& truth_;
  Rng rng_;
  IpAddress host_;
  AddressPool peers_;
  std::uint64_t port_key_ = 0;
  std::int64_t begin_ = 0;
  std::int64_t end_ = 0;
  Pacer pacer_;
};

// HTTPS: our server and many clients; mostly full-size data segments towards clients.
class WebStream final : public BenignStream {
 public:
  WebStream(const Scenario& s, std::size_t index, std::int64_t end_ns, BenignTruth& truth)
      : BenignStream(s, index, end_ns, truth),
        client_seq_(spec_.peers),
        server_seq_(spec_.peers),
        data_(1448) {
    for (auto& v : client_seq_) v = static_cast<std::uint32_t>(rng_.next());
    for (auto& v : server_seq_) v = static_cast<std::uint32_t>(rng_.next());
    for (auto& b : data_) b = static_cast<std::uint8_t>(rng_.next() >> 56);
    data_[0] = 0x17;  // TLS application data record
    data_[1] = 0x03;
    data_[2] = 0x03;
    startPacing(1);
  }
  void emit(Emitter& out) noexcept override {
    const auto i = rng_.below(spec_.peers);
    const IpAddress client = peer(i);
    TcpFields tcp;
    if (rng_.chance(0.62)) {
      const std::uint32_t len = rng_.chance(0.7) ? 1448 : rng_.range(120, 1448);
      storeBe16(data_.data() + 3, static_cast<std::uint16_t>(len - 5));
      tcp.seq = server_seq_[i];
      tcp.ack = client_seq_[i];
      tcp.flags = tcpflag::kAck | tcpflag::kPsh;
      server_seq_[i] += len;
      out.tcp(next_, Endpoints{host_, client, 443, peerPort(i)}, ipFields(64), tcp,
              ByteSpan(data_.data(), len), truth_.traffic);
    } else {
      const std::uint32_t len = rng_.chance(0.15) ? rng_.range(300, 700) : 0;
      if (len != 0) storeBe16(data_.data() + 3, static_cast<std::uint16_t>(len - 5));
      tcp.seq = client_seq_[i];
      tcp.ack = server_seq_[i];
      tcp.flags = len != 0 ? tcpflag::kAck | tcpflag::kPsh : tcpflag::kAck;
      client_seq_[i] += len;
      out.tcp(next_, Endpoints{client, host_, peerPort(i), 443}, ipFields(52), tcp,
              ByteSpan(data_.data(), len), truth_.traffic);
    }
    pacer_.advance(rng_);
    next_ = pacer_.next();
  }

 private:
  std::vector<std::uint32_t> client_seq_;
  std::vector<std::uint32_t> server_seq_;
  Payload data_;
};

// Solicited request/answer traffic over UDP: our host asks a peer, the peer answers after a
// fixed round trip (constant per stream, so pending answers stay in time order; all datagrams
// of a multi-datagram answer share its timestamp). Used for the DNS resolver, NTP client sync and
// misc low-rate services.
class SolicitedStream final : public BenignStream {
 public:
  SolicitedStream(const Scenario& s, std::size_t index, std::int64_t end_ns, BenignTruth& truth)
      : BenignStream(s, index, end_ns, truth), pending_(1) {
    switch (spec_.kind) {
      case BenignKind::Dns:
        setupDns();
        break;
      case BenignKind::Ntp:
        setupNtp();
        break;
      default:
        setupMisc();
        break;
    }
    const double expected_pending =
        spec_.pps * (static_cast<double>(rtt_) / 1e9) * static_cast<double>(answer_datagrams_);
    pending_ = DelayQueue<Pending>(static_cast<std::size_t>(expected_pending * 4) + 64);
    startPacing(1.0 + static_cast<double>(answer_datagrams_));
  }

  void emit(Emitter& out) noexcept override {
    if (!pending_.empty() && pending_.nextDue() <= pacer_.next()) {
      const Pending p = pending_.front();
      pending_.pop();
      Payload& answer = answers_[p.pair][p.datagram];
      patchId(answer, id_offset_, p.id);
      out.udp(p.due, Endpoints{peer(p.peer), host_, service_port_, p.port}, ipFields(p.ttl), answer,
              1500, truth_.traffic);
    } else {
      const std::int64_t t = pacer_.next();
      const std::uint32_t i = rng_.below(spec_.peers);
      const auto pair = static_cast<std::uint16_t>(rng_.below(queries_.size()));
      const std::uint16_t id = static_cast<std::uint16_t>(rng_.next() >> 48);
      const std::uint16_t port = fixed_client_port_ != 0 ? fixed_client_port_ : ephemeralPort(rng_);
      patchId(queries_[pair], id_offset_, id);
      out.udp(t, Endpoints{host_, peer(i), port, service_port_}, ipFields(64), queries_[pair], 1500,
              truth_.traffic);
      const auto ttl = static_cast<std::uint8_t>(64 - 4 - mix64(i ^ port_key_) % 16);
      for (std::uint16_t d = 0; d < answers_[pair].size(); ++d) {
        (void)pending_.push(Pending{t + rtt_, i, port, id, pair, d, ttl});
      }
      pacer_.advance(rng_);
    }
    next_ = std::min(pacer_.next(), pending_.nextDue());
  }

 private:
  struct Pending {
    std::int64_t due = 0;
    std::uint32_t peer = 0;
    std::uint16_t port = 0;
    std::uint16_t id = 0;
    std::uint16_t pair = 0;
    std::uint16_t datagram = 0;
    std::uint8_t ttl = 64;
  };

  void setupDns() {
    static constexpr std::array<const char*, 8> kHosts = {"www",    "api",   "cdn", "mail",
                                                          "static", "login", "img", "news"};
    static constexpr std::array<const char*, 3> kDomains = {"example.com", "example.net",
                                                            "example.org"};
    service_port_ = 53;
    id_offset_ = 0;
    rtt_ = 25 * kMs;
    for (int i = 0; i < 24; ++i) {
      const std::string name = std::string(kHosts[i % kHosts.size()]) + "." +
                               kDomains[(i / kHosts.size()) % kDomains.size()];
      const std::uint16_t qtype = i % 4 == 3 ? 28 : 1;  // AAAA or A
      const std::uint32_t size = i == 7 ? 1200 : rng_.range(60, 520);
      queries_.push_back(makeDnsQuery(name, qtype));
      answers_.push_back({makeDnsAnswer(name, qtype, size, rng_)});
    }
  }
  void setupNtp() {
    service_port_ = 123;
    fixed_client_port_ = 123;  // ntpd talks 123 <-> 123
    rtt_ = 30 * kMs;
    for (int i = 0; i < 4; ++i) {
      queries_.push_back(makeNtpClient(rng_));
      answers_.push_back({makeNtpServer(rng_)});
    }
  }
  void setupMisc() {
    service_port_ = spec_.port;
    rtt_ = 5 * kMs;
    const Vector v = vectorForPort(service_port_);
    for (int i = 0; i < 4; ++i) {
      RequestTemplate req = makeRequest(v, service_port_, rng_);
      ResponseOptions o;
      o.port = service_port_;
      ResponseTemplate resp = makeResponse(v, o, rng_);
      id_offset_ = resp.id_offset == req.id_offset ? resp.id_offset : -1;
      queries_.push_back(std::move(req.bytes));
      answers_.push_back(std::move(resp.datagrams));
    }
    answer_datagrams_ = answers_.front().size();
  }

  std::uint16_t service_port_ = 0;
  std::uint16_t fixed_client_port_ = 0;
  int id_offset_ = -1;
  std::int64_t rtt_ = 20 * kMs;
  std::size_t answer_datagrams_ = 1;
  std::vector<Payload> queries_;
  std::vector<std::vector<Payload>> answers_;  // per query: the answer's datagrams
  DelayQueue<Pending> pending_;
};

// Memcached over TCP inside our network: a busy server and a few application clients.
class MemcachedTcpStream final : public BenignStream {
 public:
  MemcachedTcpStream(const Scenario& s, std::size_t index, std::int64_t end_ns, BenignTruth& truth)
      : BenignStream(s, index, end_ns, truth) {
    for (std::uint32_t i = 0; i < spec_.peers; ++i) {
      clients_.push_back(offsetAddress(host_, i + 1));
      truth_.hosts.push_back(clients_.back());
      client_seq_.push_back(static_cast<std::uint32_t>(rng_.next()));
      server_seq_.push_back(static_cast<std::uint32_t>(rng_.next()));
    }
    for (int k = 0; k < 16; ++k) {
      const std::string key = "user:" + std::to_string(rng_.range(10000, 99999));
      std::string get = "get " + key + "\r\n";
      gets_.emplace_back(get.begin(), get.end());
      const std::uint32_t n = rng_.range(60, 1300);
      std::string value = "VALUE " + key + " 0 " + std::to_string(n) + "\r\n";
      for (std::uint32_t j = 0; j < n; ++j) value += static_cast<char>('a' + rng_.below(26));
      value += "\r\nEND\r\n";
      values_.emplace_back(value.begin(), value.end());
    }
    startPacing(1);
  }
  void emit(Emitter& out) noexcept override {
    const std::uint32_t i = rng_.below(spec_.peers);
    const std::uint32_t k = rng_.below(gets_.size());
    const std::uint16_t client_port = peerPort(i);
    TcpFields tcp;
    tcp.flags = tcpflag::kAck | tcpflag::kPsh;
    if (rng_.chance(0.5)) {
      tcp.seq = client_seq_[i];
      tcp.ack = server_seq_[i];
      client_seq_[i] += static_cast<std::uint32_t>(gets_[k].size());
      out.tcp(next_, Endpoints{clients_[i], host_, client_port, 11211}, ipFields(64), tcp, gets_[k],
              truth_.traffic);
    } else {
      tcp.seq = server_seq_[i];
      tcp.ack = client_seq_[i];
      server_seq_[i] += static_cast<std::uint32_t>(values_[k].size());
      out.tcp(next_, Endpoints{host_, clients_[i], 11211, client_port}, ipFields(64), tcp,
              values_[k], truth_.traffic);
    }
    pacer_.advance(rng_);
    next_ = pacer_.next();
  }

 private:
  std::vector<IpAddress> clients_;
  std::vector<std::uint32_t> client_seq_;
  std::vector<std::uint32_t> server_seq_;
  std::vector<Payload> gets_;
  std::vector<Payload> values_;
};

// QUIC-like: our client with a few servers on UDP 443; an Initial per server first, then
// short-header packets, big towards us and small towards the servers.
class QuicStream final : public BenignStream {
 public:
  QuicStream(const Scenario& s, std::size_t index, std::int64_t end_ns, BenignTruth& truth)
      : BenignStream(s, index, end_ns, truth), started_(spec_.peers, 0), data_(1400) {
    for (auto& b : data_) b = static_cast<std::uint8_t>(rng_.next() >> 56);
    startPacing(1);
  }
  void emit(Emitter& out) noexcept override {
    const std::uint32_t i = rng_.below(spec_.peers);
    const IpAddress server = peer(i);
    const std::uint16_t port = peerPort(i);
    if (!started_[i]) {
      started_[i] = 1;
      data_[0] = 0xc3;                 // long header, Initial
      storeBe32(data_.data() + 1, 1);  // QUIC version 1
      data_[5] = 8;                    // destination connection id length
      out.udp(next_, Endpoints{host_, server, port, 443}, ipFields(64),
              ByteSpan(data_.data(), 1200), 1500, truth_.traffic);
    } else if (rng_.chance(0.7)) {
      data_[0] = static_cast<std::uint8_t>(0x40 | (rng_.next() >> 58));  // short header
      out.udp(next_, Endpoints{server, host_, 443, port}, ipFields(55),
              ByteSpan(data_.data(), rng_.range(1200, 1350)), 1500, truth_.traffic);
    } else {
      data_[0] = static_cast<std::uint8_t>(0x40 | (rng_.next() >> 58));
      out.udp(next_, Endpoints{host_, server, port, 443}, ipFields(64),
              ByteSpan(data_.data(), rng_.range(40, 80)), 1500, truth_.traffic);
    }
    pacer_.advance(rng_);
    next_ = pacer_.next();
  }

 private:
  std::vector<std::uint8_t> started_;
  Payload data_;
};

}  // namespace

std::unique_ptr<Stream> makeBenignStream(const Scenario& s, std::size_t index, std::int64_t end_ns,
                                         BenignTruth& truth) {
  switch (s.benign[index].kind) {
    case BenignKind::Web:
      return std::make_unique<WebStream>(s, index, end_ns, truth);
    case BenignKind::MemcachedTcp:
      return std::make_unique<MemcachedTcpStream>(s, index, end_ns, truth);
    case BenignKind::Quic:
      return std::make_unique<QuicStream>(s, index, end_ns, truth);
    default:
      return std::make_unique<SolicitedStream>(s, index, end_ns, truth);
  }
}

}  // namespace bw::synth
