// Attack streams: reflected responses from many reflectors to one victim, and for outbound
// attacks the spoofed requests (source = the victim) arriving at our abused hosts.
//
// Reflector k of N answers response number r when r % N == k, so every reflector is used once
// before any repeats and the distinct count is exactly min(responses, N). All datagrams of one
// response share the reflector, victim port and transaction id, as a real multi-datagram
// answer (memcached chunks, monlist pages, TFTP blocks) does.
#include <algorithm>

#include "synth/address_pool.h"
#include "synth/streams.h"

namespace bw::synth {
namespace {

bool windowsService(Vector v) {
  return v == Vector::Cldap || v == Vector::Mssql || v == Vector::Netbios ||
         v == Vector::WsDiscovery;
}

class AttackStream final : public Stream {
 public:
  AttackStream(const Scenario& s, std::size_t index, std::int64_t end_ns, AttackTruth& truth)
      : spec_(s.attacks[index]), truth_(truth), rng_(deriveSeed(s.seed, attackTag(index))) {
    victim_ = *spec_.victim;
    if (spec_.reflector_net) {
      pool_ = AddressPool::inPrefix(*spec_.reflector_net, rng_.next());
    } else if (spec_.ipv6) {
      pool_ = AddressPool::publicV6(rng_.next());
    } else {
      pool_ = AddressPool::publicV4(rng_.next(), s.networks);
    }
    ResponseOptions options;
    options.size = spec_.size;
    options.port = spec_.port;
    if (spec_.ransom) {
      RansomDemand demand = makeRansomDemand(rng_);
      options.ransom_text = demand.text;
      truth_.ransom.push_back(std::move(demand));
    }
    response_ = makeResponse(spec_.vector, options, rng_);
    if (spec_.direction == Direction::Outbound) {
      request_ = makeRequest(spec_.vector, spec_.port, rng_);
    }
    hop_key_ = rng_.next();
    ttl_base_ = windowsService(spec_.vector) ? 128 : 64;

    const std::int64_t begin = secondsToNs(spec_.start);
    std::int64_t end = end_ns;
    if (spec_.duration > 0) end = std::min(end, begin + secondsToNs(spec_.duration));
    pacer_ = Pacer(spec_.pps, spec_.timing, begin, end, rng_);
    next_ = pacer_.next();

    truth_.spec = spec_;
    truth_.label = vectorLabel(spec_.vector, spec_.port);
    truth_.source_port =
        response_.source_port != 0 ? response_.source_port : vectorServicePort(spec_.vector);
  }

  void emit(Emitter& out) noexcept override {
    const std::int64_t t = next_;
    if (datagram_ == 0) startResponse(out, t);
    Payload& d = response_.datagrams[datagram_];
    patchId(d, response_.id_offset, id_);
    const Endpoints e{reflector_, victim_, source_port_, victim_port_};
    IpFields ip;
    ip.id = static_cast<std::uint32_t>(rng_.next() >> 32);
    ip.ttl = ttl_;
    out.udp(t, e, ip, d, spec_.mtu, truth_.traffic);
    ++truth_.datagrams;
    if (++datagram_ == response_.datagrams.size()) datagram_ = 0;
    pacer_.advance(rng_);
    next_ = pacer_.next();
  }

  void finish() override {
    truth_.responses = responses_;
    truth_.reflectors = std::min<std::uint64_t>(responses_, spec_.reflectors);
    if (spec_.direction == Direction::Outbound) {
      for (std::uint64_t i = 0; i < truth_.reflectors; ++i) {
        truth_.abused_hosts.push_back(pool_.at(i));
      }
      std::sort(truth_.abused_hosts.begin(), truth_.abused_hosts.end());
    }
  }

 private:
  void startResponse(Emitter& out, std::int64_t t) noexcept {
    const std::uint64_t k = responses_++ % spec_.reflectors;
    reflector_ = pool_.at(k);
    ttl_ = static_cast<std::uint8_t>(ttl_base_ - 3 - mix64(k ^ hop_key_) % 20);
    victim_port_ = spec_.victim_port != 0 ? spec_.victim_port
                                          : static_cast<std::uint16_t>(rng_.range(1024, 65535));
    source_port_ = response_.source_port != 0 ? response_.source_port : ephemeralPort(rng_);
    id_ = static_cast<std::uint16_t>(rng_.next() >>
                                     49);  // < 0x8000: tools read 0x80/0x81 as binary memcached
    if (spec_.direction == Direction::Outbound) {
      // The spoofed request that made our host answer: "from" the victim, to the service port.
      patchId(request_.bytes, request_.id_offset, id_);
      const Endpoints e{victim_, reflector_, victim_port_, request_.dst_port};
      IpFields ip;
      ip.id = static_cast<std::uint32_t>(rng_.next() >> 32);
      ip.ttl = static_cast<std::uint8_t>(50 + mix64(hop_key_) % 10);
      out.udp(t, e, ip, request_.bytes, 0, truth_.requests);
    }
  }

  AttackSpec spec_;
  AttackTruth& truth_;
  Rng rng_;
  IpAddress victim_;
  AddressPool pool_;
  ResponseTemplate response_;
  RequestTemplate request_;
  Pacer pacer_;
  std::uint64_t hop_key_ = 0;
  int ttl_base_ = 64;

  std::uint64_t responses_ = 0;
  std::size_t datagram_ = 0;  // index into response_.datagrams of the next datagram
  IpAddress reflector_;
  std::uint8_t ttl_ = 64;
  std::uint16_t victim_port_ = 0;
  std::uint16_t source_port_ = 0;
  std::uint16_t id_ = 0;
};

}  // namespace

std::unique_ptr<Stream> makeAttackStream(const Scenario& s, std::size_t index, std::int64_t end_ns,
                                         AttackTruth& truth) {
  return std::make_unique<AttackStream>(s, index, end_ns, truth);
}

}  // namespace bw::synth
