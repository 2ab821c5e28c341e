// The machine-readable report: an Analysis rendered as JSON following the contract in
// docs/json-schema.md (field names, types and units are an interface; extras may be added,
// contract fields are never renamed or dropped). Times are seconds since 1970 as numbers with
// a fraction (microsecond precision or better); rates are per second; bytes are IP bytes.
// Text that came from packets (ransom notes) may hold any bytes: invalid UTF-8 is replaced
// with U+FFFD when serialising, never an error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/analysis.h"
#include "report/asn_db.h"

namespace bw {

// Bumped when a contract field changes meaning; additions keep the number.
inline constexpr int kJsonSchemaVersion = 1;

// `asn` may be null: every "asn" is then null.
nlohmann::json toJson(const Analysis& analysis, const AsnDatabase* asn);
nlohmann::json attackToJson(const AttackRecord& attack, const AsnDatabase* asn);
nlohmann::json scannerToJson(const ScannerRecord& scanner);

// Pretty-printed with two-space indentation and a trailing newline.
std::string toJsonText(const Analysis& analysis, const AsnDatabase* asn);
// Any JSON value to text the same way (safe for arbitrary bytes in strings).
std::string dumpJson(const nlohmann::json& value, int indent = 2);

}  // namespace bw
