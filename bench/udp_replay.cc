// udp_replay: sends the UDP payloads found in a capture (export datagrams of NetFlow, IPFIX
// or sFlow) to one address at a fixed rate, with sendmmsg, for collector benchmarks.
//
// Usage: udp_replay CAPTURE HOST:PORT [--pps N] [--loops N] [--max-seconds S] [--port P]
//   --pps 0 (default) sends as fast as the socket takes them; --port keeps only datagrams to
//   that destination port. Prints "sent N datagrams (B bytes) in S s = R/s" on stderr.
// Bounded: stops after --loops passes or --max-seconds, whichever comes first.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "capture/capture_file.h"
#include "decode/packet.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: udp_replay CAPTURE HOST:PORT [--pps N] [--loops N] [--max-seconds S] "
               "[--port P]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string path = argv[1], to = argv[2];
  double pps = 0, max_seconds = 120;
  long loops = 1;
  int only_port = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--pps")
      pps = std::atof(argv[i + 1]);
    else if (k == "--loops")
      loops = std::atol(argv[i + 1]);
    else if (k == "--max-seconds")
      max_seconds = std::atof(argv[i + 1]);
    else if (k == "--port")
      only_port = std::atoi(argv[i + 1]);
    else
      return usage();
  }
  auto colon = to.rfind(':');
  if (colon == std::string::npos) return usage();
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(std::atoi(to.c_str() + colon + 1)));
  if (inet_pton(AF_INET, to.substr(0, colon).c_str(), &dst.sin_addr) != 1) return usage();

  auto opened = bw::CaptureFile::open(path);
  if (!opened) {
    std::fprintf(stderr, "udp_replay: %s\n", opened.error().message.c_str());
    return 3;
  }
  std::vector<std::vector<std::uint8_t>> payloads;
  std::array<bw::Frame, 256> frames;
  while (std::size_t n = (*opened)->next(frames)) {
    for (std::size_t i = 0; i < n; ++i) {
      bw::PacketSummary p;
      const bw::Frame& f = frames[i];
      if (bw::decodeFrame(f.linktype, bw::ByteSpan(f.data, f.caplen), f.origlen, f.ts_ns, p) !=
              bw::DecodeStatus::Ok ||
          p.ip_proto != bw::ipproto::kUdp || !p.hasPorts() || p.isFragment() ||
          p.payload_len != p.payload_wire_len) {
        continue;
      }
      if (only_port && p.dst_port != only_port) continue;
      payloads.emplace_back(p.payload, p.payload + p.payload_len);
    }
  }
  if (payloads.empty()) {
    std::fprintf(stderr, "udp_replay: no UDP payloads in %s\n", path.c_str());
    return 3;
  }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    std::perror("udp_replay: connect");
    return 3;
  }
  constexpr unsigned kBatch = 32;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(max_seconds);
  std::uint64_t sent = 0, bytes = 0;
  std::size_t next = 0;
  const std::uint64_t total = payloads.size() * static_cast<std::uint64_t>(loops);
  while (sent < total) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (pps > 0) {  // pace per batch: never ahead of the schedule
      auto due = start + std::chrono::duration<double>(static_cast<double>(sent) / pps);
      if (due > now) std::this_thread::sleep_until(due);
    }
    unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, total - sent));
    for (unsigned i = 0; i < n; ++i) {
      const auto& p = payloads[(next + i) % payloads.size()];
      iov[i].iov_base = const_cast<std::uint8_t*>(p.data());
      iov[i].iov_len = p.size();
      msgs[i].msg_hdr = msghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int done = sendmmsg(fd, msgs.data(), n, 0);
    if (done <= 0) continue;  // ECONNREFUSED before the collector is up, ENOBUFS: retry
    for (int i = 0; i < done; ++i) bytes += iov[static_cast<unsigned>(i)].iov_len;
    sent += static_cast<std::uint64_t>(done);
    next = (next + static_cast<std::size_t>(done)) % payloads.size();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "sent %llu datagrams (%llu bytes) in %.3f s = %.0f/s\n",
               static_cast<unsigned long long>(sent), static_cast<unsigned long long>(bytes), secs,
               static_cast<double>(sent) / secs);
  close(fd);
  return 0;
}
