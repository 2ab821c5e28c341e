#include "report/asn_mmdb.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace bw {

namespace {

// The marker that precedes an MMDB's metadata map, near the end of the file.
constexpr std::string_view kMetadataMarker{"\xAB\xCD\xEFMaxMind.com", 14};
constexpr long kMetadataMaxSize = 128 * 1024;

std::optional<std::uint32_t> unsignedValue(const MMDB_entry_data_s& d) {
  switch (d.type) {
    case MMDB_DATA_TYPE_UINT16:
      return d.uint16;
    case MMDB_DATA_TYPE_UINT32:
      return d.uint32;
    case MMDB_DATA_TYPE_INT32:
      if (d.int32 >= 0) return static_cast<std::uint32_t>(d.int32);
      return std::nullopt;
    case MMDB_DATA_TYPE_UINT64:
      if (d.uint64 <= 0xffffffffULL) return static_cast<std::uint32_t>(d.uint64);
      return std::nullopt;
    case MMDB_DATA_TYPE_UTF8_STRING: {
      // IPinfo: "AS13335".
      std::string_view s(d.utf8_string, d.data_size);
      if (s.size() > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
        s.remove_prefix(2);
      }
      if (s.empty() || s.size() > 10) return std::nullopt;
      std::uint64_t v = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (v > 0xffffffffULL) return std::nullopt;
      return static_cast<std::uint32_t>(v);
    }
    default:
      return std::nullopt;
  }
}

bool getField(MMDB_entry_s* entry, const char* field, MMDB_entry_data_s* out) {
  const char* path[] = {field, nullptr};
  return MMDB_aget_value(entry, out, path) == MMDB_SUCCESS && out->has_data;
}

}  // namespace

bool looksLikeMmdb(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::vector<char> tail;
  bool found = false;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long size = std::ftell(f);
    const long want = size < kMetadataMaxSize ? size : kMetadataMaxSize;
    if (want > 0 && std::fseek(f, size - want, SEEK_SET) == 0) {
      tail.resize(static_cast<std::size_t>(want));
      const std::size_t got = std::fread(tail.data(), 1, tail.size(), f);
      found = std::string_view(tail.data(), got).rfind(kMetadataMarker) != std::string_view::npos;
    }
  }
  std::fclose(f);
  return found;
}

MmdbAsnDatabase::~MmdbAsnDatabase() {
  if (open_) MMDB_close(&mmdb_);
}

Result<std::unique_ptr<MmdbAsnDatabase>> MmdbAsnDatabase::open(const std::string& path) {
  std::unique_ptr<MmdbAsnDatabase> db(new MmdbAsnDatabase());
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
  if (status != MMDB_SUCCESS) {
    if (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) {
      return Error{"cannot read " + path + ": " + MMDB_strerror(status) + " (" +
                   std::strerror(errno) + ")"};
    }
    return Error{path + " is a damaged MMDB file: " + MMDB_strerror(status)};
  }
  db->open_ = true;
  db->stats_.format = "mmdb";
  if (db->mmdb_.metadata.database_type != nullptr) {
    db->stats_.database_type = db->mmdb_.metadata.database_type;
  }
  db->stats_.build_epoch = db->mmdb_.metadata.build_epoch;
  return db;
}

std::optional<AsnInfo> MmdbAsnDatabase::lookup(const IpAddress& ip) const {
  sockaddr_storage storage{};
  if (ip.isV4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, ip.bytes().data() + 12, 4);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, ip.bytes().data(), 16);
  }
  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s result =
      MMDB_lookup_sockaddr(&mmdb_, reinterpret_cast<const sockaddr*>(&storage), &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS || !result.found_entry) return std::nullopt;

  MMDB_entry_data_s data{};
  std::optional<std::uint32_t> asn;
  if (getField(&result.entry, "autonomous_system_number", &data) ||
      getField(&result.entry, "asn", &data)) {
    asn = unsignedValue(data);
  }
  if (!asn || *asn == 0) return std::nullopt;

  AsnInfo info{*asn, {}};
  for (const char* field : {"autonomous_system_organization", "as_name", "name"}) {
    if (getField(&result.entry, field, &data) && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
      info.name.assign(data.utf8_string, data.data_size);
      break;
    }
  }
  return info;
}

}  // namespace bw
