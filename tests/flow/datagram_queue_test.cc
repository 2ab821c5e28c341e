// DatagramQueue: copies what it is given, stays within its byte bound by making the pusher
// wait, lets a close() end every wait, wakes an idle reader on the next push, and keeps only
// a few small batches for reuse.
#include "flow/datagram_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <vector>

namespace bw {
namespace {

using namespace std::chrono_literals;
using Batches = std::deque<std::unique_ptr<DatagramQueue::Batch>>;

// Datagrams of `sizes` bytes, each filled with its index, from 192.0.2.1 at 1000 + index.
struct Received {
  explicit Received(std::vector<std::size_t> sizes) {
    for (std::size_t i = 0; i < sizes.size(); ++i) buffers.emplace_back(sizes[i], i);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      ReceivedDatagram d;
      d.from = *IpAddress::parse("192.0.2.1");
      d.received_ns = 1000 + static_cast<std::int64_t>(i);
      d.data = ByteSpan(buffers[i].data(), buffers[i].size());
      datagrams.push_back(d);
    }
  }
  std::vector<std::vector<std::uint8_t>> buffers;
  std::vector<ReceivedDatagram> datagrams;
};

TEST(DatagramQueue, KeepsACopyOfEveryDatagram) {
  DatagramQueue q(1 << 20);
  Received r({100, 1, 1400});
  q.push(r.datagrams);
  for (auto& b : r.buffers) std::fill(b.begin(), b.end(), 0xEE);  // the collector reuses them
  EXPECT_EQ(q.queuedBytes(), 1501u);

  Batches out;
  q.takeAll(out);
  ASSERT_EQ(out.size(), 1u);
  const DatagramQueue::Batch& b = *out[0];
  ASSERT_EQ(b.datagrams.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const DatagramQueue::Datagram& d = b.datagrams[i];
    EXPECT_EQ(d.from, *IpAddress::parse("192.0.2.1"));
    EXPECT_EQ(d.received_ns, 1000 + static_cast<std::int64_t>(i));
    ByteSpan data = b.data(d);
    ASSERT_EQ(data.size(), r.buffers[i].size());
    for (std::uint8_t byte : data) ASSERT_EQ(byte, i);
  }
  EXPECT_EQ(q.queuedBytes(), 0u);
  Batches none;
  q.takeAll(none);
  EXPECT_TRUE(none.empty());
}

TEST(DatagramQueue, APushBeyondTheBoundWaitsForTheReader) {
  DatagramQueue q(3000);
  Received r({1400});
  q.push(r.datagrams);
  q.push(r.datagrams);  // 2,800 bytes: within the bound
  std::atomic<bool> third_done{false};
  std::thread pusher([&] {
    q.push(r.datagrams);
    third_done = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(third_done.load()) << "a third 1,400-byte push passed a 3,000-byte bound";
  EXPECT_EQ(q.queuedBytes(), 2800u);
  Batches out;
  q.takeAll(out);
  pusher.join();
  EXPECT_TRUE(third_done.load());
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(q.queuedBytes(), 1400u);
}

TEST(DatagramQueue, ABatchLargerThanTheBoundIsQueuedWhenEmpty) {
  DatagramQueue q(1000);
  Received r({1400, 1400});
  q.push(r.datagrams);  // does not wait: nothing else is queued
  EXPECT_EQ(q.queuedBytes(), 2800u);
}

TEST(DatagramQueue, CloseEndsAWaitingPushAndDropsWhatComesAfter) {
  DatagramQueue q(1000);
  Received r({800});
  q.push(r.datagrams);
  std::thread pusher([&] { q.push(r.datagrams); });  // waits: 1,600 > 1,000
  std::this_thread::sleep_for(50ms);
  q.close();
  pusher.join();
  q.push(r.datagrams);
  Batches out;
  q.takeAll(out);
  EXPECT_EQ(out.size(), 1u);  // only the one queued before close()
}

TEST(DatagramQueue, AnIdleReaderIsWokenByThePushOrByClose) {
  DatagramQueue q(1 << 20);
  Received r({10});
  std::thread pusher([&] {
    std::this_thread::sleep_for(50ms);
    q.push(r.datagrams);
  });
  auto t0 = std::chrono::steady_clock::now();
  q.waitIdle(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  pusher.join();
  EXPECT_EQ(q.queuedBytes(), 10u);

  t0 = std::chrono::steady_clock::now();
  q.waitIdle(10s);  // something is queued: no wait
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);

  DatagramQueue closing(1 << 20);
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    closing.close();
  });
  t0 = std::chrono::steady_clock::now();
  closing.waitIdle(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  closer.join();
}

TEST(DatagramQueue, KeepsOnlyAFewSmallBatchesForReuse) {
  DatagramQueue q(std::size_t{1} << 30);
  Received small({100});
  for (std::size_t i = 0; i < DatagramQueue::kKeptBatches + 8; ++i) q.push(small.datagrams);
  Received big(std::vector<std::size_t>(20, 65000));  // 1.3 MB: more than a kept batch
  q.push(big.datagrams);
  Batches out;
  q.takeAll(out);
  ASSERT_EQ(out.size(), DatagramQueue::kKeptBatches + 9);
  for (auto& b : out) q.recycle(std::move(b));
  EXPECT_EQ(q.keptBatches(), DatagramQueue::kKeptBatches);

  // Kept batches are reused: pushing takes them again.
  q.push(small.datagrams);
  EXPECT_EQ(q.keptBatches(), DatagramQueue::kKeptBatches - 1);

  // A batch grown past kKeptBatchBytes is freed, not kept, even with room to keep it.
  DatagramQueue fresh(std::size_t{1} << 30);
  fresh.push(big.datagrams);
  Batches one;
  fresh.takeAll(one);
  ASSERT_EQ(one.size(), 1u);
  fresh.recycle(std::move(one.front()));
  EXPECT_EQ(fresh.keptBatches(), 0u);
}

}  // namespace
}  // namespace bw
